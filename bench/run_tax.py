"""Benchmark: what a fleet run costs beyond its window, on real sshd hosts.

Prints, for 1, 3 and 10 hosts: run tax (wall time minus the window), window
start spread, bytes pushed on a first and a second run, and agent peak memory;
plus the floor the tax is judged against, measured in the same run: a bare
asyncssh connect + push of the bundle + start of a process on the same hosts.
Needs root, sshd and BCC (run `make install` first). Figures, not pass/fail.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
import time
from pathlib import Path

import asyncssh

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "scripts")]

import sshfleet  # noqa: E402

from fleet.bundle import build_bundle  # noqa: E402
from fleet.catalog import Catalog  # noqa: E402
from fleet.play import execute, plan_run  # noqa: E402
from fleet.playbook import apply_overrides, load_playbook  # noqa: E402

DURATION_S = 2.0


async def _floor_one(host: dict, fleet, data: bytes) -> None:
    """Connect, push the bundle bytes, start a Python process; like a run's setup."""
    async with asyncssh.connect(
        host["address"],
        port=host["port"],
        username="root",
        client_keys=[str(fleet.client_key_path)],
        known_hosts=str(fleet.known_hosts_path),
    ) as conn:
        await conn.run(
            "cat > /tmp/fleet-bench-floor.$$ && rm -f /tmp/fleet-bench-floor.$$",
            input=data,
            encoding=None,
            check=True,
        )
        await conn.run("/usr/bin/python3 -c pass", check=True)


def floor_s(fleet, hosts: list[dict]) -> float:
    """Wall seconds of the bare connect + push + process start on every host at once."""
    data = build_bundle().data

    async def all_hosts():
        await asyncio.gather(*(_floor_one(h, fleet, data) for h in hosts))

    began = time.monotonic()
    asyncio.run(all_hosts())
    return time.monotonic() - began


def run_once(
    inventory: Path, playbook: Path, limit: str, runs: Path
) -> tuple[dict, float]:
    """One fleet run through the library; returns (results, wall seconds)."""
    catalog = Catalog.default()
    pb = apply_overrides(load_playbook(playbook, catalog), duration=DURATION_S)
    plan = plan_run(pb, catalog, str(inventory), limit, runs)
    began = time.monotonic()
    results, _ = execute(plan)
    return results, time.monotonic() - began


def figures(results: dict, wall: float) -> dict:
    """Tax, spread, pushed bytes, peak memory and compile time of one run."""
    hosts = [h for h in results["hosts"].values() if h["outcome"] == "ok"]
    starts = [h["window"]["start_ns"] for h in hosts]
    return {
        "ok": len(hosts),
        "tax_s": wall - DURATION_S,
        "spread_ms": (max(starts) - min(starts)) / 1e6 if starts else float("nan"),
        "pushed": sum(h["bytes_pushed"] for h in results["hosts"].values()),
        "peak_mb": max((h["agent"]["peak_rss_kb"] or 0) for h in hosts) / 1024,
        "compile_s": max((h["agent"]["compile_s"] or 0) for h in hosts),
    }


def clear_cache() -> None:
    """Empty root's fleet cache so the next run pushes everything."""
    shutil.rmtree(Path.home() / ".cache/fleet", ignore_errors=True)


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--playbook", default=str(REPO / "playbooks/disk-latency.yaml"))
    parser.add_argument("--sizes", default="1,3,10")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    work = Path(tempfile.mkdtemp(prefix="fleet-bench-"))
    print(f"fleet run tax benchmark: {args.playbook}, window {DURATION_S:g}s")
    with sshfleet.SSHFleet(work / "fleet") as fleet:
        fleet.start(max(sizes))
        names = [h["name"] for h in fleet.hosts]
        print(
            f"{'hosts':>5} {'floor s':>8} {'tax s':>7} {'tax-floor':>9} "
            f"{'spread ms':>9} {'push 1st':>9} {'push 2nd':>8} {'peak MB':>7} "
            f"{'compile s':>9}"
        )
        for n in sizes:
            limit = ",".join(names[:n])
            floor = floor_s(fleet, fleet.hosts[:n])
            clear_cache()
            first = figures(
                *run_once(
                    fleet.inventory_path, Path(args.playbook), limit, work / "runs"
                )
            )
            second = figures(
                *run_once(
                    fleet.inventory_path, Path(args.playbook), limit, work / "runs"
                )
            )
            print(
                f"{n:>5} {floor:>8.2f} {second['tax_s']:>7.2f} "
                f"{second['tax_s'] - floor:>9.2f} {second['spread_ms']:>9.2f} "
                f"{first['pushed']:>9} {second['pushed']:>8} "
                f"{second['peak_mb']:>7.0f} {second['compile_s']:>9.2f}"
            )
            if second["ok"] != n:
                print(f"      note: only {second['ok']} of {n} hosts ended ok")
    shutil.rmtree(work, ignore_errors=True)
    print(
        "target at 10 hosts: tax <= floor + one host's compile + 1 s; spread < 10 ms;"
        " 0 bytes on a second run; peak < 200 MB"
    )


if __name__ == "__main__":
    main()
