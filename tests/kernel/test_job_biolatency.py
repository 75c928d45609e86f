"""biolatency's `flags` param on the real kernel: dd O_DIRECT writes.

Each of dd's WRITES blocks is one write request, all with the same flag set
(rwbs, e.g. "WS"), so one key holding a W counts at least WRITES I/Os. With
per_disk too, keys read "FLAGS,DISK". (test_disk_jobs.py covers the defaults.)
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from fleetrun import start_fleet, wait_for_window

pytestmark = pytest.mark.kernel

WRITES = 100
HOST = "localhost"


def disk_of(path: Path) -> str:
    """The whole disk holding ``path``: block tracepoints name disks, not partitions."""
    dev = os.stat(path).st_dev
    sysdev = Path(f"/sys/dev/block/{os.major(dev)}:{os.minor(dev)}").resolve()
    if (sysdev / "partition").exists():
        sysdev = sysdev.parent
    return sysdev.name


def run_biolatency(tmp_path: Path, *params: str) -> dict:
    """One biolatency window around WRITES direct 4 KiB writes."""
    args = [a for p in params for a in ("-p", p)]
    runs = tmp_path / "runs"
    proc = start_fleet(runs, "trace", "biolatency", "-d", "3s", "--json", *args)
    wait_for_window(runs, 1)
    subprocess.run(["dd", "if=/dev/zero", f"of={tmp_path / 'ddfile'}", "bs=4k",
                    f"count={WRITES}", "oflag=direct"], check=True,
                   stderr=subprocess.DEVNULL, timeout=60)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    results = json.loads(out)
    assert results["hosts"][HOST]["outcome"] == "ok"
    return results["jobs"][0]


def test_flags_key_holds_the_writes(tmp_path):
    job = run_biolatency(tmp_path, "flags=true")
    assert job["unit"] == "usecs" and job["params"]["flags"] is True
    writes = {k: v["fleet"]["count"] for k, v in job["keys"].items() if "W" in k}
    assert writes and max(writes.values()) >= WRITES, job["keys"].keys()
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
    assert writes and max(writes.values()) >= WRITES, job["keys"].keys()
    assert all(v["fleet"]["slots"] == v["hosts"][HOST]["slots"]
               for v in job["keys"].values())
