"""Benchmark: the run history at the size of a year of sweeps.

Records RUNS synthetic runs of HOSTS hosts x 5 jobs (a keyed histogram, a
histogram, events, a 20-row table and 40 folded stacks per host, like a health
sweep) through the same path a real run takes (results document ->
runrecord.from_results -> History.record), then prints the database size, the
time to record one run, and how long the CLI takes for `fleet history`,
`fleet diff` (last against the one before) and `fleet diff --baseline 10`
at that size (whole processes, interpreter start included).

Targets: a run records in under 0.5 s, history and diff answer in under 1 s,
the file grows by under 1 MB per 200-host run. Figures, not pass/fail.

    python bench/history.py [--runs 1000] [--hosts 200] [--db PATH]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO)]

from fleet.history import History  # noqa: E402
from fleet.runrecord import from_results  # noqa: E402

STACK_POOL = [";".join(f"fn_{random.Random(i * 7 + d).randrange(400)}"
                       for d in range(12)) for i in range(300)]


def _histogram(rng: random.Random, peak: int, count: int) -> list[int]:
    """A log2 histogram of ``count`` samples around slot ``peak``."""
    out = [0] * (peak + 4)
    for _ in range(count):
        out[max(0, min(len(out) - 1, round(rng.gauss(peak, 1.0))))] += 1
    while out and not out[-1]:
        out.pop()
    return out


# Drawing every sample of every run would make the benchmark slow to set up:
# each host's histogram is one of a few dozen drawn once.
_POOL: dict[tuple, list] = {}


def slots(rng: random.Random, peak: int, count: int) -> list[int]:
    """One of 40 histograms of ``count`` samples around slot ``peak``."""
    if (peak, count) not in _POOL:
        _POOL[peak, count] = [_histogram(random.Random(i), peak, count)
                              for i in range(40)]
    return list(rng.choice(_POOL[peak, count]))


def _hist_entry(name: str, hosts: dict, keys: dict | None = None) -> dict:
    entry = {"name": name, "job": name, "output": "latency", "kind": "histogram",
             "unit": "usecs", "scale": "log2", "params": {}, "missed_runs": {},
             "hosts": {h: {"slots": s} for h, s in hosts.items()}}
    if keys:
        entry["keys"] = {k: {"hosts": {h: {"slots": s} for h, s in per.items()}}
                         for k, per in keys.items()}
    return entry


def results(index: int, hosts: list[str], rng: random.Random) -> dict:
    """One synthetic results document (docs/results.md), as results.json reads."""
    started = 1_700_000_000_000_000_000 + index * 900 * 10**9
    disks = {d: {h: slots(rng, 7 + (d == "vdb"), 60) for h in hosts}
             for d in ("vda", "vdb")}
    bio = {h: [a + b for a, b in zip(disks["vda"][h] + [0] * 8,
                                     disks["vdb"][h] + [0] * 8)] for h in hosts}
    rows = [{"key": f"proc{k} -> proc{k + 1}", "total": 0,
             "hosts": {h: rng.randrange(1, 5000) for h in hosts}} for k in range(20)]
    stacks: dict[str, dict[str, int]] = {}
    for h in hosts:
        for stack in rng.sample(STACK_POOL, 40):
            stacks.setdefault(stack, {})[h] = rng.randrange(1, 200)
    return {
        "schema": 1, "fleet_version": "bench",
        "run": {"id": f"bench-{index:05d}", "dir": f"/srv/runs/bench-{index:05d}",
                "started_ns": started, "ended_ns": started + 12 * 10**9,
                "limit": None, "exit_code": 0},
        "playbook": {"name": "health sweep", "path": "/srv/health-sweep.yaml",
                     "hosts": "all"},
        "hosts": {h: {"outcome": "ok", "reason": "",
                      "window": {"start_ns": started, "end_ns": started + 10**10},
                      "facts": {"kernel": "6.1.0-18-amd64", "btf": True,
                                "bcc": "0.26.0", "kprobes": False},
                      "jobs": {j: {"attach": [{"used": f"tracepoint:x:{j}"}]}
                               for j in ("biolatency", "runqlat", "tcpconnect")}}
                  for h in hosts},
        "jobs": [
            _hist_entry("biolatency", bio, disks),
            _hist_entry("runqlat", {h: slots(rng, 4, 2000) for h in hosts}),
            {"name": "tcpconnect", "job": "tcpconnect", "kind": "events",
             "unit": None, "missed_runs": {},
             "hosts": {h: {"count": rng.randrange(100), "lost": 0} for h in hosts}},
            {"name": "task_switch", "job": "task_switch", "kind": "table",
             "unit": "switches", "missed_runs": {}, "rows": rows},
            {"name": "profile", "job": "profile", "kind": "stacks",
             "unit": "samples", "missed_runs": {},
             "rows": [{"key": s, "total": sum(v.values()), "hosts": v}
                      for s, v in stacks.items()]},
        ],
    }


def record_all(db: Path, runs: int, host_count: int) -> list[float]:
    """Record the runs; return the seconds each record took."""
    hosts = [f"host{i:03d}" for i in range(host_count)]
    rng = random.Random(1)
    took = []
    with History(db) as history:
        for index in range(runs):
            doc = results(index, hosts, rng)
            t0 = time.perf_counter()
            history.record(from_results(doc, "/srv/inventory.yaml", "abc"))
            took.append(time.perf_counter() - t0)
            if (index + 1) % 100 == 0:
                print(f"  recorded {index + 1} runs", file=sys.stderr)
    return took


def time_cli(db: Path, args: list[str], repeat: int = 5) -> tuple[float, int]:
    """Median wall seconds of `fleet ARGS` as a process, and its exit code."""
    env = dict(os.environ, PYTHONPATH=str(REPO))
    argv = [sys.executable, "-m", "fleet", *args, "--history", str(db)]
    times, code = [], None
    for _ in range(repeat + 1):  # the first run warms the page cache
        t0 = time.perf_counter()
        code = subprocess.run(argv, capture_output=True, env=env).returncode
        times.append(time.perf_counter() - t0)
    return statistics.median(times[1:]), code


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--hosts", type=int, default=200)
    parser.add_argument("--db", help="history file (default: a temp dir)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(args.db or Path(tmp) / "history.sqlite")
        print(f"Recording {args.runs} runs of {args.hosts} hosts x 5 jobs into {db}",
              file=sys.stderr)
        took = record_all(db, args.runs, args.hosts)
        size = db.stat().st_size + sum(
            p.stat().st_size for p in db.parent.glob(db.name + "-*"))
        print(f"database size          {size / 2**20:9.1f} MiB "
              f"({size / args.runs / 2**20:.3f} MiB per run)")
        print(f"record one run         median {statistics.median(took) * 1e3:7.1f} ms"
              f"   p99 {sorted(took)[int(len(took) * 0.99) - 1] * 1e3:7.1f} ms"
              f"   max {max(took) * 1e3:7.1f} ms")
        for label, cli in (("fleet history", ["history"]),
                           ("fleet diff", ["diff"]),
                           ("fleet diff --baseline 10", ["diff", "--baseline", "10"])):
            seconds, code = time_cli(db, cli)
            print(f"{label:<24} median {seconds * 1e3:7.1f} ms   (exit {code})")


if __name__ == "__main__":
    main()
