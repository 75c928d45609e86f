"""Tutorial lesson vfsreadlat on the sshd test fleet.

The lesson's playbook (comm filter `fleettutpipe` by default) runs unchanged on
three hosts that share this kernel. A helper renames itself to that comm and
reads a pipe twice: the first read waits ~50 ms for the test to write, the
second finds its byte already there. Every host's histogram must hold exactly
those two reads: one in the 32768-65535 usecs slot, one below it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fleetrun import job_named
from tutorialrun import attach_by_probe, lesson_playbook, run_lesson

pytestmark = [pytest.mark.ssh, pytest.mark.kernel]

PLAYBOOK = lesson_playbook("vfsreadlat")
COMM = "fleettutpipe"      # the playbook's default comm param
WAIT_S = 0.05
SLOT_50MS = 16             # log2 slot k holds 2^(k-1) .. 2^k - 1 usecs

# argv: data-fd ready-fd comm. Renames itself (prctl PR_SET_NAME), says "r",
# then two 1-byte reads of the data pipe, then echoes what it read.
READER = r"""
import ctypes, os, sys
data, ready = int(sys.argv[1]), int(sys.argv[2])
ctypes.CDLL(None).prctl(15, sys.argv[3].encode(), 0, 0, 0)
os.write(ready, b"r")
got = os.read(data, 1)
got += os.read(data, 1)
os.write(ready, got)
"""


def slow_then_fast_read() -> None:
    """One pipe read blocked WAIT_S by the test, then one that does not wait."""
    data_r, data_w = os.pipe()
    ready_r, ready_w = os.pipe()
    argv = [sys.executable, "-c", READER, str(data_r), str(ready_w), COMM]
    child = subprocess.Popen(argv, pass_fds=(data_r, ready_w))
    os.close(data_r)
    os.close(ready_w)
    try:
        assert os.read(ready_r, 1) == b"r"
        time.sleep(WAIT_S)
        os.write(data_w, b"xy")           # both bytes: the second read won't block
        assert os.read(ready_r, 2) == b"xy"
        assert child.wait(timeout=30) == 0
    finally:
        child.kill()
        for fd in (data_w, ready_r):
            os.close(fd)


@pytest.fixture(scope="module")
def lesson_run(ssh_fleet, tmp_path_factory):
    tmp: Path = tmp_path_factory.mktemp("tutorial_vfsreadlat")
    results, hosts, _ = run_lesson(ssh_fleet, tmp, PLAYBOOK, slow_then_fast_read)
    return results, hosts


def test_every_host_used_the_syscall_tracepoints(lesson_run):
    results, hosts = lesson_run
    assert set(results["hosts"]) == set(hosts)
    for name in hosts:
        host = results["hosts"][name]
        assert host["outcome"] == "ok", host["reason"]
        used = attach_by_probe(host, "vfsreadlat")
        assert used == {"read_enter": "tracepoint:syscalls:sys_enter_read",
                        "read_exit": "tracepoint:syscalls:sys_exit_read"}


def test_blocked_read_lands_in_the_50ms_slot_on_every_host(lesson_run):
    results, hosts = lesson_run
    hist = job_named(results, "vfsreadlat")
    assert hist["kind"] == "histogram" and hist["unit"] == "usecs"
    assert hist["params"] == {"comm": COMM}
    for name in hosts:
        slots = hist["hosts"][name]["slots"]
        assert len(slots) == SLOT_50MS + 1 and slots[SLOT_50MS] == 1, (name, slots)
        assert sum(slots) == 2, (name, slots)          # nothing else by that comm
        # the second read did not wait for the writer (a few usecs, more if the
        # CPU is busy): anywhere under the 50 ms slot's lower bound of 32768 usecs
        assert sum(slots[:SLOT_50MS]) == 1, (name, slots)
        assert hist["hosts"][name]["max"] == 65535
    # the fleet is the slot-wise sum: three hosts, one kernel, the same reads
    fleet = hist["fleet"]["slots"]
    assert fleet[SLOT_50MS] == len(hosts) and sum(fleet) == 2 * len(hosts)
