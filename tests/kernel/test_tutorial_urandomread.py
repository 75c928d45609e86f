"""Tutorial lesson urandomread on the sshd test fleet.

Two helpers with unique names run inside the window of the lesson's playbook
on three hosts that share this kernel:

- `fleetgetrnd16` calls os.getrandom(16) ten times: its row is 160 bytes;
- `fleeturandfd` opens /dev/urandom and reads 4096 bytes twice (8192 counted),
  then does what the lesson documents as not counted: a read through a dup()
  of that fd, and a read of /dev/zero through the same fd number after close.

Rows are keyed "comm,pid"; every host must report exactly these numbers.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from fleetrun import job_named, rows_by_key
from tutorialrun import lesson_playbook, run_lesson

pytestmark = [pytest.mark.ssh, pytest.mark.kernel]

PLAYBOOK = lesson_playbook("urandomread")
GETRANDOM_COMM, GETRANDOM_CALLS, GETRANDOM_SIZE = "fleetgetrnd16", 10, 16
READER_COMM, READS, READ_SIZE = "fleeturandfd", 2, 4096

# argv: comm. Renames itself first (prctl PR_SET_NAME), so Python's own start-up
# getrandom() lands in a row under its old name; prints its pid and byte counts.
GETRANDOM = r"""
import ctypes, os, sys
ctypes.CDLL(None).prctl(15, sys.argv[1].encode(), 0, 0, 0)
got = [len(os.getrandom(16)) for _ in range(10)]
print(os.getpid(), sum(got))
"""

READER = r"""
import ctypes, os, sys
ctypes.CDLL(None).prctl(15, sys.argv[1].encode(), 0, 0, 0)
fd = os.open("/dev/urandom", os.O_RDONLY)
counted = len(os.read(fd, 4096)) + len(os.read(fd, 4096))
twin = os.dup(fd)
ignored = len(os.read(twin, 100))          # dup'ed fd: not known to the lesson
os.close(fd)
zero = os.open("/dev/zero", os.O_RDONLY)   # reuses the closed fd's number
assert zero == fd, (zero, fd)
ignored += len(os.read(zero, 4096))
print(os.getpid(), counted, ignored)
"""


def run_helper(code: str, comm: str) -> list[int]:
    done = subprocess.run([sys.executable, "-c", code, comm], capture_output=True,
                          text=True, timeout=30, check=True)
    return [int(x) for x in done.stdout.split()]


@pytest.fixture(scope="module")
def lesson_run(ssh_fleet, tmp_path_factory):
    tmp: Path = tmp_path_factory.mktemp("tutorial_urandomread")

    def workload():
        getrandom_pid, got = run_helper(GETRANDOM, GETRANDOM_COMM)
        assert got == GETRANDOM_CALLS * GETRANDOM_SIZE
        reader_pid, counted, ignored = run_helper(READER, READER_COMM)
        assert (counted, ignored) == (READS * READ_SIZE, 100 + READ_SIZE)
        return getrandom_pid, reader_pid

    results, hosts, (getrandom_pid, reader_pid) = run_lesson(
        ssh_fleet, tmp, PLAYBOOK, workload)
    return results, hosts, getrandom_pid, reader_pid


def table(results: dict) -> dict:
    job = job_named(results, "urandomread")
    assert job["kind"] == "table" and job["unit"] == "bytes" and job["top"] == 20
    return rows_by_key(job)


def test_every_host_attached_every_tracepoint(lesson_run):
    results, hosts, _, _ = lesson_run
    for name in hosts:
        host = results["hosts"][name]
        assert host["outcome"] == "ok", host["reason"]
        attach = host["jobs"]["urandomread"]["attach"]
        assert all(a["used"] and a["used"].startswith("tracepoint:syscalls:")
                   for a in attach), attach
        assert len(attach) == 9


def test_getrandom_bytes_per_host(lesson_run):
    results, hosts, pid, _ = lesson_run
    row = table(results)[f"{GETRANDOM_COMM},{pid}"]
    expected = GETRANDOM_CALLS * GETRANDOM_SIZE       # 160
    assert row["hosts"] == {name: expected for name in hosts}
    assert row["total"] == expected * len(hosts)


def test_urandom_reads_per_host(lesson_run):
    results, hosts, _, pid = lesson_run
    rows = table(results)
    row = rows[f"{READER_COMM},{pid}"]
    expected = READS * READ_SIZE      # the dup and /dev/zero reads do not count
    assert row["hosts"] == {name: expected for name in hosts}
    # before renaming itself the reader only made Python's start-up getrandom() calls
    early = [r for key, r in rows.items() if key.endswith(f",{pid}") and r is not row]
    assert all(r["total"] <= 64 * len(hosts) for r in early), early
