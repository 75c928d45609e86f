"""bitehist on the real kernel: dd writes of two known sizes with O_DIRECT.

With O_DIRECT every dd block is one write request of exactly that size, so
50 x 64 KiB land in slot 7 (64-127 kbytes) and 50 x 4 KiB in slot 3 (4-7
kbytes) of the W histogram. Deleting the files and syncing makes ext4 (mounted
with `discard`) send discards, which the default run leaves out.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from fleetrun import dd_direct, disk_of, slot, trace_local

pytestmark = pytest.mark.kernel

BLOCKS = 50
SLOT_64K = 7  # bpf_log2l(64) = 7: values 64..127
SLOT_4K = 3   # bpf_log2l(4) = 3: values 4..7
HOST = "localhost"


def run_bitehist(tmp_path: Path, *params: str) -> dict:
    """One bitehist window (this disk only) around the two dd runs, rm and sync."""
    work = tmp_path / "work"
    work.mkdir()

    def workload():
        dd_direct(work / "big", "64k", BLOCKS)
        dd_direct(work / "small", "4k", BLOCKS)
        (work / "big").unlink()
        (work / "small").unlink()
        subprocess.run(["sync", "-f", str(work)], check=True, timeout=60)

    results, _ = trace_local(tmp_path / "runs", "bitehist", f"disk={disk_of(work)}",
                             *params, duration="4s", timeout=60, workload=workload)
    return results["jobs"][0]


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
