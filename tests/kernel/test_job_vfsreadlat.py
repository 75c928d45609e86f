"""vfsreadlat on the kernel: a pipe read blocked 50 ms is in the 32-64 ms slot."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
from fleetrun import job_named, trace_local

pytestmark = pytest.mark.kernel

COMM = "fleetpipe"
BLOCK_S = 0.05
SLOT_50MS = 16  # BCC log2 slot k holds 2^(k-1) .. 2^k - 1: 32768-65535 usecs

# Renames itself, says "ready" on one pipe, then reads the other twice: the
# first read blocks until the writer (the test) sends 2 bytes 50 ms later,
# the second finds its byte already there.
HELPER = r"""
import ctypes, os, sys
data, ready = int(sys.argv[1]), int(sys.argv[2])
ctypes.CDLL(None).prctl(15, sys.argv[3].encode(), 0, 0, 0)
os.write(ready, b"r")
first = os.read(data, 1)
second = os.read(data, 1)
os.write(ready, first + second)
"""


def blocked_pipe_read() -> None:
    """Run the helper; write to its pipe 50 ms after it is about to read."""
    data_r, data_w = os.pipe()
    ready_r, ready_w = os.pipe()
    argv = [sys.executable, "-c", HELPER, str(data_r), str(ready_w), COMM]
    child = subprocess.Popen(argv, pass_fds=(data_r, ready_w))
    os.close(data_r)
    os.close(ready_w)
    assert os.read(ready_r, 1) == b"r"
    time.sleep(BLOCK_S)
    os.write(data_w, b"ab")
    assert os.read(ready_r, 2) == b"ab"
    assert child.wait(timeout=30) == 0
    os.close(data_w)
    os.close(ready_r)


def test_blocked_pipe_read_slot(tmp_path):
    results, _ = trace_local(tmp_path / "runs", "vfsreadlat", f"comm={COMM}",
                             workload=blocked_pipe_read)
    entry = job_named(results, "vfsreadlat")
    assert entry["kind"] == "histogram" and entry["unit"] == "usecs"
    slots = entry["hosts"]["localhost"]["slots"]
    assert entry["fleet"]["slots"] == slots
    assert sum(slots) == 2, slots
    assert len(slots) == SLOT_50MS + 1 and slots[SLOT_50MS] == 1, slots
    # the second read did not wait: well under 32 usecs
    assert sum(slots[:6]) == 1, slots
    assert entry["fleet"]["max"] == 65535
