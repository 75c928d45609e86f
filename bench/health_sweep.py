"""Benchmark: the cost of playbooks/health-sweep.yaml on 3 real sshd hosts.

Prints, per host: compile seconds (all jobs of the run), agent peak memory, and
the run tax (wall time minus the window). Needs root, sshd and BCC (`make
install`). Figures, not pass/fail; targets on this machine: compile < 5 s per
host, agent peak < 250 MB.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "scripts")]

import sshfleet  # noqa: E402

from fleet.catalog import Catalog  # noqa: E402
from fleet.play import execute, plan_run  # noqa: E402
from fleet.playbook import apply_overrides, load_playbook  # noqa: E402


def main() -> None:
    """Run health-sweep once on N hosts and print per-host figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=3)
    parser.add_argument("--duration", type=float, default=3.0)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="fleet-bench-"))
    catalog = Catalog.default()
    playbook = apply_overrides(
        load_playbook(REPO / "playbooks/health-sweep.yaml", catalog),
        duration=args.duration,
    )
    print(
        f"health-sweep benchmark: {len(playbook.jobs)} jobs, {args.hosts} hosts, "
        f"window {args.duration:g}s"
    )
    with sshfleet.SSHFleet(work / "fleet") as fleet:
        fleet.start(args.hosts)
        plan = plan_run(
            playbook, catalog, str(fleet.inventory_path), "fleet", work / "runs"
        )
        began = time.monotonic()
        results, code = execute(plan)
        wall = time.monotonic() - began
    print(
        f"{'host':<8} {'outcome':<10} {'compile s':>9} {'slowest job':>22} "
        f"{'peak MB':>8}"
    )
    for name, host in results["hosts"].items():
        jobs = host.get("jobs") or {}
        slow = max(
            jobs.items(), key=lambda kv: kv[1].get("compile_s") or 0, default=(None, {})
        )
        slow_text = (
            f"{slow[0]} {slow[1].get('compile_s') or 0:.2f}s" if slow[0] else "-"
        )
        agent = host.get("agent") or {}
        print(
            f"{name:<8} {host['outcome']:<10} {agent.get('compile_s') or 0:>9.2f} "
            f"{slow_text:>22} {(agent.get('peak_rss_kb') or 0) / 1024:>8.0f}"
        )
    print(f"run tax (wall - window): {wall - args.duration:.2f} s; exit {code}")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
