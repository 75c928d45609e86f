"""bitehist on the real kernel: dd writes of two known sizes with O_DIRECT.

With O_DIRECT every dd block is one write request of exactly that size, so
50 x 64 KiB land in slot 7 (64-127 kbytes) and 50 x 4 KiB in slot 3 (4-7
kbytes) of the W histogram. Deleting the files and syncing makes ext4 (mounted
with `discard`) send discards, which the default run leaves out.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from fleetrun import start_fleet, wait_for_window

pytestmark = pytest.mark.kernel

BLOCKS = 50
SLOT_64K = 7  # bpf_log2l(64) = 7: values 64..127
SLOT_4K = 3   # bpf_log2l(4) = 3: values 4..7
HOST = "localhost"


def disk_of(path: Path) -> str:
    """The whole disk holding ``path``: block tracepoints name disks, not partitions."""
    dev = os.stat(path).st_dev
    sysdev = Path(f"/sys/dev/block/{os.major(dev)}:{os.minor(dev)}").resolve()
    if (sysdev / "partition").exists():
        sysdev = sysdev.parent
    return sysdev.name


def dd(path: Path, bs: str) -> None:
    subprocess.run(["dd", "if=/dev/zero", f"of={path}", f"bs={bs}", f"count={BLOCKS}",
                    "oflag=direct"], check=True, stderr=subprocess.DEVNULL, timeout=60)


def run_bitehist(tmp_path: Path, *params: str) -> dict:
    """One bitehist window (this disk only) around the two dd runs, rm and sync."""
    work = tmp_path / "work"
    work.mkdir()
    args = [a for p in (f"disk={disk_of(work)}", *params) for a in ("-p", p)]
    runs = tmp_path / "runs"
    proc = start_fleet(runs, "trace", "bitehist", "-d", "4s", "--json", *args)
    wait_for_window(runs, 1)
    dd(work / "big", "64k")
    dd(work / "small", "4k")
    (work / "big").unlink()
    (work / "small").unlink()
    subprocess.run(["sync", "-f", str(work)], check=True, timeout=60)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    results = json.loads(out)
    assert results["hosts"][HOST]["outcome"] == "ok"
    return results["jobs"][0]


def slot(stats: dict, index: int) -> int:
    slots = stats["slots"]
    return slots[index] if index < len(slots) else 0


def test_write_sizes_land_in_their_slots(tmp_path):
    job = run_bitehist(tmp_path)
    assert job["name"] == "bitehist" and job["unit"] == "kbytes"
    writes = job["keys"]["W"]["hosts"][HOST]
    assert slot(writes, SLOT_64K) >= BLOCKS, writes
    assert slot(writes, SLOT_4K) >= BLOCKS, writes
    assert "D" not in job["keys"]  # exclude_discards defaults to true
    assert set(job["keys"]) <= {"R", "W", "N"}


def test_discards_kept_on_request(tmp_path):
    job = run_bitehist(tmp_path, "exclude_discards=false")
    assert slot(job["keys"]["W"]["fleet"], SLOT_64K) >= BLOCKS
    assert job["keys"]["D"]["fleet"]["count"] >= 1, job["keys"].keys()
