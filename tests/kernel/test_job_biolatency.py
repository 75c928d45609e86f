"""biolatency's `flags` param on the real kernel: dd O_DIRECT writes.

Each of dd's WRITES blocks is one write request, all with the same flag set
(rwbs, e.g. "WS"), so one key holding a W counts at least WRITES I/Os. With
per_disk too, keys read "FLAGS,DISK". (test_disk_jobs.py covers the defaults.)
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from fleetrun import dd_direct, disk_of, expected_seen, trace_local

pytestmark = pytest.mark.kernel

WRITES = 100
HOST = "localhost"


def run_biolatency(tmp_path: Path, *params: str) -> tuple[dict, str]:
    """One biolatency window around WRITES direct 4 KiB writes.

    Returns the job and, for failure messages, where dd ran in the window
    (the window is long, so that a disk slowed by earlier tests' writeback
    cannot push dd's last writes past its end).
    """
    def workload():
        began = time.time_ns()
        dd_direct(tmp_path / "ddfile", "4k", WRITES)
        return began, time.time_ns()

    results, (began, ended) = trace_local(
        tmp_path / "runs", "biolatency", *params, duration="8s", timeout=60,
        workload=workload)
    window = results["hosts"][HOST]["window"]
    timing = (f"dd ran {(began - window['start_ns']) / 1e9:.3f}"
              f"-{(ended - window['start_ns']) / 1e9:.3f} s into a"
              f" {(window['end_ns'] - window['start_ns']) / 1e9:.1f} s window")
    return results["jobs"][0], timing


def test_flags_key_holds_the_writes(tmp_path):
    job, timing = run_biolatency(tmp_path, "flags=true")
    assert job["unit"] == "usecs" and job["params"]["flags"] is True
    writes = {k: v["fleet"]["count"] for k, v in job["keys"].items() if "W" in k}
    need = expected_seen(job, HOST, WRITES)
    assert writes and max(writes.values()) >= need, (writes, need, timing)
    # rwbs: optional F (preflush), the op, then F/A/S/M; never a disk name.
    keys = job["keys"]
    assert all(k and set(k) <= set("FWRDENASM") for k in keys), list(keys)
    assert sum(v["fleet"]["count"] for v in keys.values()) == job["fleet"]["count"]


def test_flags_with_per_disk(tmp_path):
    disk = disk_of(tmp_path)
    job, timing = run_biolatency(tmp_path, "flags=true", "per_disk=true",
                                 f"disk={disk}")
    split = {k: k.rsplit(",", 1) for k in job["keys"]}
    assert {d for _, d in split.values()} == {disk}
    writes = {k: v["fleet"]["count"] for k, v in job["keys"].items()
              if "W" in split[k][0]}
    need = expected_seen(job, HOST, WRITES)
    assert writes and max(writes.values()) >= need, (writes, need, timing)
    assert all(v["fleet"]["slots"] == v["hosts"][HOST]["slots"]
               for v in job["keys"].values())
