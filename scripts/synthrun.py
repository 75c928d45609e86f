#!/usr/bin/env python3
"""Write a synthetic results.json: N hosts, a few slow ones, 5 jobs, many events.

For report tests and bench/report.py. Only per-host data is made up here; every
fleet figure (sums, percentiles, outliers, totals) is derived by
fleet.results.rederive, as `fleet report` derives it from any results.json.

    python3 scripts/synthrun.py OUT_DIR --hosts 200 --events 100000
"""

from __future__ import annotations

import argparse
import os
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fleet.report.json import dump_results  # noqa: E402
from fleet.results import rederive  # noqa: E402

START_NS = 1795704120_000_000_000  # 2026-11-26 14:42:00 UTC
WINDOW_S = 10
INTERVAL_S = 1.0
JOBS = ("disk_latency", "opens", "runq", "syscalls", "cpu")
COMMS = ("postgres", "systemd", "sshd", "cron", "node_exporter", "bash")
PATHS = ("/usr/lib/locale/C.UTF-8/LC_IDENTIFICATION", "/etc/hosts",
         "/var/lib/postgresql/15/main/base/16384/2619", "/proc/self/stat",
         "/usr/lib/x86_64-linux-gnu/libc.so.6", "/etc/ld.so.cache",
         "/var/lib/postgresql/15/main/pg_wal/000000010000000000000042")
STACKS = ("postgres;main;PostgresMain;exec_simple_query;ExecutorRun;ExecScan",
          "postgres;main;PostgresMain;exec_simple_query;ExecutorRun;ExecHashJoin",
          "postgres;main;PostgresMain;ReadyForQuery;pq_flush;send_[k]",
          "node_exporter;runtime.main;main.main;collector.Update;os.ReadFile",
          "swapper/0;cpu_startup_entry;do_idle;default_idle_call_[k]",
          "sshd;main;server_loop;select;do_select_[k]",
          "bash;main;reader_loop;execute_command;fork_[k]")


def host_names(n: int) -> list[str]:
    """db001, db002, ...: as many digits as n needs, at least three."""
    width = max(3, len(str(n)))
    return [f"db{i:0{width}d}" for i in range(1, n + 1)]


def _slots(rng: random.Random, samples: int, center: int) -> list[int]:
    """A log2 histogram of ``samples`` around slot ``center``."""
    slots = [0] * (center + 4)
    for _ in range(samples):
        slots[min(max(center + round(rng.gauss(0, 0.8)), 0), center + 3)] += 1
    return slots


def _split(rng: random.Random, slots: list[int], parts: int) -> list[list[int]]:
    """Spread each slot's samples over ``parts`` intervals."""
    out = [[0] * len(slots) for _ in range(parts)]
    for k, n in enumerate(slots):
        for _ in range(n):
            out[rng.randrange(parts)][k] += 1
    return out


def _histogram(rng, name, job, ok, slow, shift, intervals=False) -> dict:
    hosts, per_interval = {}, {}
    for host in ok:
        samples = rng.randint(300, 900)
        slots = _slots(rng, samples, 10 + (shift if host in slow else 0))
        hosts[host] = {"slots": slots}
        if intervals:
            per_interval[host] = _split(rng, slots, WINDOW_S)
    entry = {"name": name, "job": job, "output": "latency", "kind": "histogram",
             "unit": "usecs", "params": {}, "summary": f"synthetic {job}",
             "scale": "log2", "fleet": {}, "hosts": hosts, "outliers": [],
             "missed_runs": {}}
    if intervals:
        entry.update(interval_s=INTERVAL_S, intervals={"hosts": per_interval})
    return entry


def _events(rng, ok, count) -> dict:
    events = []
    for _ in range(count):
        host = rng.choice(ok)
        ret = rng.choice((3, 4, 5, -2, -2, -13)) if rng.random() < 0.3 else 3
        events.append({"host": host,
                       "ts_ns": START_NS + rng.randrange(WINDOW_S * 10**9),
                       "comm": rng.choice(COMMS), "pid": rng.randint(100, 40000),
                       "ret": ret, "lat_us": rng.randint(1, 400),
                       "path": rng.choice(PATHS)})
    events.sort(key=lambda e: e["ts_ns"])
    counts = dict.fromkeys(ok, 0)
    for event in events:
        counts[event["host"]] += 1
    lost = {ok[3]: 120} if len(ok) > 3 else {}
    return {"name": "opens", "job": "opensnoop", "output": "opens", "kind": "events",
            "unit": None, "params": {"buffer_pages": 64}, "summary": "Files opened",
            "columns": [{"field": "comm"}, {"field": "pid"}, {"field": "ret"},
                        {"field": "lat_us", "unit": "usecs"}, {"field": "path"}],
            "count": 0, "lost": {},
            "hosts": {h: {"count": counts[h], "lost": lost.get(h, 0)} for h in ok},
            "events": events, "missed_runs": {}}


def _table(rng, ok) -> dict:
    rows = [{"key": comm, "total": 0,
             "hosts": {h: rng.randint(10, 1000) * (len(COMMS) - i) for h in ok}}
            for i, comm in enumerate(COMMS)]
    return {"name": "syscalls", "job": "syscount", "output": "by_comm",
            "kind": "table", "unit": "calls", "params": {}, "summary":
            "System calls per process", "top": None, "rows": rows, "missed_runs": {}}


def _stacks(rng, ok) -> dict:
    rows = [{"key": stack, "total": 0,
             "hosts": {h: rng.randint(1, 50) * (len(STACKS) - i) for h in ok}}
            for i, stack in enumerate(STACKS)]
    return {"name": "cpu", "job": "profile", "output": "stacks", "kind": "stacks",
            "unit": "samples", "params": {"frequency": 49}, "summary":
            "CPU stack samples", "top": None, "rows": rows, "missed_runs": {}}


def synthetic_results(n_hosts: int = 200, n_events: int = 100_000, slow: int = 3,
                      unreachable: int = 2, jobs: tuple = JOBS,
                      seed: int = 7) -> dict:
    """A results document of ``n_hosts`` hosts, ``slow`` of them slow on disk."""
    rng = random.Random(seed)
    names = host_names(n_hosts)
    down = names[len(names) - unreachable:] if unreachable else []
    ok = [h for h in names if h not in down]
    slow_hosts = set(rng.sample(ok, slow)) if slow else set()
    hosts = {}
    for i, name in enumerate(names):
        address = f"10.0.{i // 250}.{i % 250 + 1}"
        failed = name in down
        hosts[name] = {
            "outcome": "unreachable" if failed else "ok",
            "reason": f"{address}:22: Connect call failed ('{address}', 22)"
            if failed else "",
            "address": address,
            "window": None if failed else
            {"start_ns": START_NS, "end_ns": START_NS + WINDOW_S * 10**9},
            "bytes_pushed": 0, "facts": None, "jobs": {}, "agent": {},
            "log": f"hosts/{name}.log"}
    makers = {
        "disk_latency": lambda: _histogram(rng, "disk_latency", "biolatency", ok,
                                           slow_hosts, 6, intervals=True),
        "opens": lambda: _events(rng, ok, n_events),
        "runq": lambda: _histogram(rng, "runq", "runqlat", ok, set(), 0),
        "syscalls": lambda: _table(rng, ok),
        "cpu": lambda: _stacks(rng, ok),
    }
    doc = {"schema": 1, "fleet_version": "synthetic",
           "run": {"id": f"20261126T144200-synthetic-{n_hosts}",
                   "dir": f"runs/synthetic-{n_hosts}",
                   "started_ns": START_NS - 2 * 10**9,
                   "ended_ns": START_NS + (WINDOW_S + 1) * 10**9,
                   "duration_s": WINDOW_S + 3.0, "start_at_ns": START_NS,
                   "limit": None, "forks": 50, "interrupted": False,
                   "exit_code": 4 if down else 0,
                   "window": {"start_ns": START_NS,
                              "end_ns": START_NS + WINDOW_S * 10**9}},
           "playbook": {"name": "synthetic", "path": "playbooks/synthetic.yaml",
                        "hosts": "db"},
           "outcomes": {}, "hosts": hosts,
           "jobs": [makers[job]() for job in jobs]}
    return rederive(doc)


def main() -> int:
    """Write OUT_DIR/results.json."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", help="the run folder to write")
    parser.add_argument("--hosts", type=int, default=200)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--slow", type=int, default=3)
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    results = synthetic_results(args.hosts, args.events, args.slow)
    with open(os.path.join(args.out, "results.json"), "w", encoding="utf-8") as out:
        dump_results(results, out)
    print(os.path.join(args.out, "results.json"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
