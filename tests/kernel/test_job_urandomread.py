"""urandomread on the real kernel: a helper with a unique name reads known amounts."""

from __future__ import annotations

import subprocess
import sys

import pytest
from fleetrun import job_named, rows_by_key, trace_local

pytestmark = pytest.mark.kernel

COMM = "fleeturand"
READS, READ_SIZE = 5, 4096
GETRANDOMS, GETRANDOM_SIZE = 2, 16
EXPECTED = READS * READ_SIZE + GETRANDOMS * GETRANDOM_SIZE  # 20512 bytes

# Renames itself, then: 5 reads of 4096 bytes from /dev/urandom (two of them
# through fd 200, past the first fdtable), 2 getrandom(16), and decoys that
# must not count: a read of /dev/zero and a failed read of /dev/urandom.
HELPER = r"""
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
urandom = os.open("/dev/urandom", os.O_RDONLY)
high = os.dup2(urandom, 200)
zero = os.open("/dev/zero", os.O_RDONLY)
wronly = os.open("/dev/urandom", os.O_WRONLY)
libc.prctl(15, sys.argv[1].encode(), 0, 0, 0)
got = [len(os.read(fd, 4096)) for fd in (urandom, urandom, urandom, high, high)]
got += [len(os.getrandom(16)) for _ in range(2)]
os.read(zero, 4096)
try:
    os.read(wronly, 4096)
except OSError:
    pass
sys.stdout.write("%d %s\n" % (os.getpid(), got))
"""


def test_bytes_of_a_known_reader(tmp_path):
    results, helper = trace_local(
        tmp_path / "runs", "urandomread",
        workload=lambda: subprocess.run([sys.executable, "-c", HELPER, COMM],
                                        capture_output=True, text=True, check=True,
                                        timeout=30))
    pid, got = helper.stdout.split(" ", 1)
    assert got.strip() == str([READ_SIZE] * READS + [GETRANDOM_SIZE] * GETRANDOMS)
    entry = job_named(results, "urandomread")
    assert entry["kind"] == "table" and entry["unit"] == "bytes"
    rows = rows_by_key(entry)
    row = rows[f"{COMM},{pid}"]
    assert row["total"] == EXPECTED
    assert row["hosts"] == {"localhost": EXPECTED}
    # Rows are keyed by the name at the time of the call: before renaming itself
    # the helper only got Python's startup getrandom() bytes (hash seed, 32 bytes).
    startup = [r for key, r in rows.items()
               if key.endswith(f",{pid}") and key != f"{COMM},{pid}"]
    assert sum(r["total"] for r in startup) <= 64
