"""Run records for history and diff tests: built from the recorded report fixture
(through the same from_results path a run takes), or small synthetic ones."""

from __future__ import annotations

import copy
import json

from fleetrun import load_report_fixture

from fleet.results import build_results
from fleet.runrecord import from_results

NS = 1_000_000_000


def fixture_results() -> dict:
    """The recorded report fixture as results.json reads back (events as a list)."""
    return json.loads(json.dumps(build_results(*load_report_fixture()), default=list))


def fixture_record() -> dict:
    """The run record of the recorded report fixture."""
    return from_results(fixture_results(), "inventory.yaml", "abc123")


def record(run_id: str, started_s: int, hosts: dict[str, list[int]],
           playbook: str = "sweep", outcomes: dict[str, str] | None = None,
           stacks: dict[str, dict[str, int]] | None = None) -> dict:
    """A record with one histogram job ``lat`` (usecs) of the given slots per host,
    an events job and, if given, a stacks job ``prof``."""
    outcomes = outcomes or {}
    names = list(hosts) + [h for h in outcomes if h not in hosts]
    jobs = [
        {"name": "lat", "job": "vfsreadlat", "kind": "histogram", "unit": "usecs",
         "scale": "log2", "params": {}, "missed_runs": {},
         "hosts": {h: {"slots": {"": list(s)}} for h, s in hosts.items()}},
        {"name": "execs", "job": "execsnoop", "kind": "events", "unit": None,
         "scale": None, "params": {}, "missed_runs": {},
         "hosts": {h: {"count": sum(s), "lost": 0} for h, s in hosts.items()}},
    ]
    if stacks is not None:
        jobs.append({"name": "prof", "job": "profile", "kind": "stacks",
                     "unit": "samples", "scale": None, "params": {},
                     "missed_runs": {},
                     "hosts": {h: {"stacks": dict(s)} for h, s in stacks.items()}})
    return {
        "run": {"id": run_id, "playbook": playbook, "playbook_path": None,
                "playbook_hash": None, "inventory": None, "pattern": "all",
                "limit": None, "started_ns": started_s * NS,
                "ended_ns": (started_s + 5) * NS, "exit_code": 0, "run_dir": None,
                "fleet_version": "0.1.0"},
        "hosts": {h: {"outcome": outcomes.get(h, "ok"), "reason": "",
                      "window_s": 4.0, "facts": {"kernel": "6.18"}, "attach": {}}
                  for h in names},
        "jobs": jobs,
    }


def shifted(slots: list[int], by: int) -> list[int]:
    """A histogram moved ``by`` log2 slots up."""
    return [0] * by + list(slots)


def renamed(rec: dict, run_id: str, started_s: int) -> dict:
    """A copy of a record as another run."""
    out = copy.deepcopy(rec)
    out["run"]["id"] = run_id
    out["run"]["started_ns"] = started_s * NS
    return out


# 30 samples between 1024 and 4095 usecs: p50 and p99 4095.
FAST_SLOTS = [0] * 11 + [10, 20]


# A profile that changed between two runs of one playbook (synthrun's stacks):
# ExecHashJoin took 5x the samples, node_exporter nearly none.
GREW, SHRANK = "ExecHashJoin", "node_exporter"


def _scaled_stacks(doc: dict, by: dict[str, float]) -> dict:
    """A copy of a synthetic run with each stack's counts scaled by ``by[frame]``."""
    from fleet.results import rederive

    out = copy.deepcopy(doc)
    for row in out["jobs"][0]["rows"]:
        factor = next((f for frame, f in by.items() if frame in row["key"]), 1)
        row["hosts"] = {h: max(1, round(n * factor)) for h, n in row["hosts"].items()}
    return rederive(out)


def profile_pair(hosts: int = 5) -> tuple[dict, dict]:
    """(baseline, later): two synthetic runs of playbook `synthetic` with one
    stacks job `cpu`, an hour apart. The last host is unreachable in the later
    run, and db002 has no stacks in the baseline."""
    from synthrun import synthetic_results

    base = synthetic_results(hosts, 0, slow=0, unreachable=0, jobs=("cpu",), seed=8)
    base["run"]["id"] = "20261126T134200-synthetic"
    base["run"]["started_ns"] -= 3600 * NS
    for row in base["jobs"][0]["rows"]:
        row["hosts"].pop("db002", None)
    later = synthetic_results(hosts, 0, slow=0, unreachable=1, jobs=("cpu",), seed=7)
    return _scaled_stacks(base, {}), _scaled_stacks(later, {GREW: 5, SHRANK: 0.02})
