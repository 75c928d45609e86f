"""biolatency's `flags` param on the real kernel: dd O_DIRECT writes.

Each of dd's WRITES blocks is one write request, all with the same flag set
(rwbs, e.g. "WS"), so one key holding a W counts at least WRITES I/Os. With
per_disk too, keys read "FLAGS,DISK". (test_disk_jobs.py covers the defaults.)
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fleetrun import dd_direct, disk_of, expected_seen, trace_local

pytestmark = pytest.mark.kernel

WRITES = 100
HOST = "localhost"


def run_biolatency(tmp_path: Path, *params: str) -> dict:
    """One biolatency window around WRITES direct 4 KiB writes."""
    results, _ = trace_local(
        tmp_path / "runs", "biolatency", *params, timeout=60,
        workload=lambda: dd_direct(tmp_path / "ddfile", "4k", WRITES))
    return results["jobs"][0]


def test_flags_key_holds_the_writes(tmp_path):
    job = run_biolatency(tmp_path, "flags=true")
    assert job["unit"] == "usecs" and job["params"]["flags"] is True
    writes = {k: v["fleet"]["count"] for k, v in job["keys"].items() if "W" in k}
    need = expected_seen(job, HOST, WRITES)
    assert writes and max(writes.values()) >= need, (job["keys"].keys(), need)
    # rwbs: optional F (preflush), the op, then F/A/S/M; never a disk name.
    keys = job["keys"]
    assert all(k and set(k) <= set("FWRDENASM") for k in keys), list(keys)
    assert sum(v["fleet"]["count"] for v in keys.values()) == job["fleet"]["count"]


def test_flags_with_per_disk(tmp_path):
    disk = disk_of(tmp_path)
    job = run_biolatency(tmp_path, "flags=true", "per_disk=true", f"disk={disk}")
    split = {k: k.rsplit(",", 1) for k in job["keys"]}
    assert {d for _, d in split.values()} == {disk}
    writes = {k: v["fleet"]["count"] for k, v in job["keys"].items()
              if "W" in split[k][0]}
    need = expected_seen(job, HOST, WRITES)
    assert writes and max(writes.values()) >= need, (job["keys"].keys(), need)
    assert all(v["fleet"]["slots"] == v["hosts"][HOST]["slots"]
               for v in job["keys"].values())
