"""opensnoop on the real kernel: a helper with a unique name opens known paths."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from fleetrun import job_named, trace_local

pytestmark = pytest.mark.kernel

COMM = "fleetopen"
FAILS = 3

# Renames itself, then: 3 failed opens, 2 openat(O_CREAT), 1 openat2(O_CREAT),
# 1 plain read-only open. Prints the fds it got, as JSON.
HELPER = r"""
import ctypes, json, os, sys
libc = ctypes.CDLL(None, use_errno=True)
how = (ctypes.c_uint64 * 3)(os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o600, 0)
libc.syscall.restype = ctypes.c_long
missing, tmp = sys.argv[1], sys.argv[2]
created = [os.path.join(tmp, "c" + str(i)) for i in range(3)]
libc.prctl(15, sys.argv[3].encode(), 0, 0, 0)
for _ in range(3):
    try:
        os.open(missing, os.O_RDONLY)
    except FileNotFoundError:
        pass
fds = [os.open(created[0], os.O_WRONLY | os.O_CREAT, 0o600),
       os.open(created[1], os.O_WRONLY | os.O_CREAT, 0o600)]
fds.append(libc.syscall(437, -100, created[2].encode(), ctypes.byref(how), 24))
plain = os.open(created[0], os.O_RDONLY)
print(json.dumps({"pid": os.getpid(), "created": created, "fds": fds, "plain": plain}))
"""


def run_helper(tmp: Path, missing: str) -> dict:
    """Run the helper inside the window; its pid, paths and fds."""
    out = subprocess.run([sys.executable, "-c", HELPER, missing, str(tmp), COMM],
                         capture_output=True, text=True, check=True, timeout=30)
    return json.loads(out.stdout)


def traced(tmp: Path, *params: str) -> tuple[list, dict]:
    """Trace opensnoop with params while the helper runs; (events, helper info)."""
    work = tmp / "work"
    missing = f"/nonexistent-{uuid.uuid4().hex}/file"

    def workload():
        work.mkdir()
        return run_helper(work, missing)

    results, helper = trace_local(tmp / "runs", "opensnoop", *params, workload=workload)
    helper["missing"] = missing
    entry = job_named(results, "opensnoop")
    assert entry["kind"] == "events"
    return entry["events"], helper


def test_failed_only(tmp_path):
    events, helper = traced(tmp_path, f"comm={COMM}", "failed_only=true")
    assert len(events) == FAILS
    for e in events:
        assert e["comm"] == COMM
        assert e["pid"] == e["tid"] == helper["pid"]
        assert e["ret"] == -2  # ENOENT
        assert e["path"] == helper["missing"]
        assert e["flags"] == os.O_RDONLY | os.O_CLOEXEC  # Python's os.open adds CLOEXEC
        assert e["uid"] == os.getuid()
        assert 0 < e["lat_ns"] < 1_000_000_000


def test_flags_mask_includes_openat2(tmp_path):
    events, helper = traced(tmp_path, f"comm={COMM}", f"flags={os.O_CREAT}")
    assert [e["path"] for e in events] == helper["created"]
    assert [e["ret"] for e in events] == helper["fds"]
    assert all(fd >= 3 for fd in helper["fds"])
    assert [e["flags"] for e in events] == [os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC] * 3
    assert all(e["pid"] == helper["pid"] and e["comm"] == COMM for e in events)
