"""fsslower / ext4slower: a process with known file I/O on ext4, filtered by pid."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from fleetrun import go, job_named, start_fleet, start_waiting, wait_for_window

pytestmark = pytest.mark.kernel

WORKLOAD = r"""
import os, sys
path = sys.argv[1]
fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
sys.stdin.readline()                 # go: the window is open
for _ in range(5):
    os.write(fd, b"x" * 8192)
for _ in range(3):
    os.fsync(fd)
for _ in range(2):
    os.pread(fd, 4096, 4096)
os.close(fd)
"""


def ext4(path: Path) -> bool:
    out = subprocess.run(
        ["stat", "-f", "-c", "%T", str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip() == "ext2/ext3"  # stat's name for the ext4 magic


def traced_io(tmp_path: Path, job: str) -> list[dict]:
    """Run the workload under `fleet trace JOB -p pid=...`; return its events."""
    work = start_waiting([sys.executable, "-c", WORKLOAD, str(tmp_path / "datafile")])
    try:
        proc = start_fleet(
            tmp_path / "runs",
            "trace",
            job,
            "-d",
            "3s",
            "--json",
            "-p",
            "min_latency_ms=0",
            "-p",
            f"pid={work.pid}",
        )
        wait_for_window(tmp_path / "runs", 1)
        go(work)
        out, err = proc.communicate(timeout=120)
    finally:
        work.kill()
    assert proc.returncode == 0, err
    entry = job_named(json.loads(out), job, key="name")
    return entry["events"]


@pytest.mark.skipif(not ext4(Path("/tmp")), reason="needs /tmp on ext4")
def test_ext4slower_sees_each_call_with_its_file(tmp_path):
    events = traced_io(tmp_path, "ext4slower")
    assert Counter(e["op"] for e in events) == {"write": 5, "fsync": 3, "pread": 2}
    assert {e["file"] for e in events} == {"datafile"}
    assert all(e["bytes"] == 8192 for e in events if e["op"] == "write")
    assert all(
        e["bytes"] == 4096 and e["offset"] == 4096 for e in events if e["op"] == "pread"
    )
    assert all(e["pid"] > 0 and e["comm"].startswith("python") for e in events)
    assert all(e["lat_us"] >= 0 for e in events)


def test_other_filesystem_types_are_filtered_in_the_kernel(tmp_path):
    assert traced_io(tmp_path, "xfsslower") == []


def test_fsslower_any_type_sees_the_same_calls(tmp_path):
    # (The read of "go" began before the probes were attached: not timed.)
    events = traced_io(tmp_path, "fsslower")
    assert Counter(e["op"] for e in events) == {"write": 5, "fsync": 3, "pread": 2}
