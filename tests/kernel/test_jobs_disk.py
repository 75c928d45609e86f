"""fsdist (and its ext4dist alias), filetop and biotop on the real kernel.

One playbook runs them in one window: a worker (created first, so that its
pid can be compiled in) writes WRITES blocks to a file of its own, syncs it
and reads READS blocks back; dd writes DD_BLOCKS blocks with O_DIRECT.
"""

from __future__ import annotations

import sys
import uuid

import pytest
from fleetrun import (
    dd_direct,
    disk_of,
    go,
    job_named,
    run_in_window,
    start_waiting,
    write_playbook,
)

pytestmark = pytest.mark.kernel

HOST = "localhost"
WRITES, READS, DD_BLOCKS = 20, 30, 100
WORKER = f"""
import os, sys
path = sys.argv[1]
sys.stdin.readline()
fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
for _ in range({WRITES}):
    os.write(fd, b"w" * 4096)
os.fsync(fd)
for i in range({READS}):
    os.pread(fd, 4096, i % {WRITES} * 4096)
os.close(fd)
"""


@pytest.fixture(scope="module")
def disk_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("jobs_disk")
    name = f"fleet-ft-{uuid.uuid4().hex[:8]}"
    worker = start_waiting([sys.executable, "-c", WORKER, str(tmp / name)])
    book = write_playbook(tmp / "book.yaml", f"""\
  - job: ext4dist
    params: {{pid: {worker.pid}}}
  - name: fsdist_tmpfs
    job: fsdist
    params: {{pid: {worker.pid}, fstype: tmpfs}}
  - job: filetop
    params: {{pid: {worker.pid}}}
  - job: biotop
    params: {{top: 1000}}
""", duration="4s")
    seen = {}

    def workload():
        go(worker)
        assert worker.returncode == 0
        dd = dd_direct(tmp / "dd.bin", "4k", DD_BLOCKS, wait=False)
        assert dd.wait(timeout=60) == 0
        seen["dd"] = dd.pid

    try:
        results, _ = run_in_window(tmp / "runs", 1, ["run", str(book), "--json"],
                                   workload)
    finally:
        worker.kill()
        worker.wait()
    assert results["hosts"][HOST]["outcome"] == "ok"
    return results, seen, name, disk_of(tmp)


def test_ext4dist_counts_each_operation_of_the_worker(disk_run):
    results, _, _, _ = disk_run
    job = job_named(results, "ext4dist")
    counts = {op: key["fleet"]["count"] for op, key in job["keys"].items()}
    assert counts == {"write": WRITES, "read": READS, "fsync": 1, "open": 1}
    assert job["unit"] == "usecs"
    # A file on ext4 is nothing to a tmpfs-only fsdist.
    assert job_named(results, "fsdist_tmpfs", "name")["fleet"]["count"] == 0


def test_filetop_rows_sum_to_the_workers_reads_and_writes(disk_run):
    results, _, name, _ = disk_run
    job = job_named(results, "filetop")
    rows = [e for e in job["events"] if e["file"] == name]
    assert rows and all(r["type"] == "R" and r["secs"] > 0 for r in rows)
    totals = {k: sum(r[k] for r in rows) for k in ("reads", "writes", "rbytes",
                                                   "wbytes")}
    assert totals == {"reads": READS, "writes": WRITES, "rbytes": READS * 4096,
                      "wbytes": WRITES * 4096}


def test_biotop_rows_sum_to_dds_direct_writes(disk_run):
    results, seen, _, disk = disk_run
    job = job_named(results, "biotop")
    # (dd's exec may read its binary from disk too: those are reads)
    rows = [e for e in job["events"] if e["pid"] == seen["dd"] and e["rw"] == "W"]
    missed = job["missed_runs"].get(HOST, 0)
    ios = sum(r["ios"] for r in rows)
    assert DD_BLOCKS - missed <= ios <= DD_BLOCKS, rows
    assert sum(r["bytes"] for r in rows) == ios * 4096
    assert {(r["comm"], r["disk"], r["rw"]) for r in rows} == {("dd", disk, "W")}
