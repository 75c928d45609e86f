"""Tutorial USDT lesson (python:gc__start) on the sshd test fleet.

python:gc__start in /usr/bin/python3.11 is guarded by a semaphore. A
path-only USDT context (the lesson's `binary:` form) cannot arm it with bcc
0.26, so this test uses the lesson's documented per-process form: a
python3.11 worker starts first and waits on stdin; the test writes the
lesson's playbook with `pid: <worker>` in place of `binary:`, opens the window
on three hosts that share this kernel (so they share the worker too), then
lets the worker call gc.collect() ten times. Each host's row for the worker's
pid must count at least 10 collections.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from fleetrun import go, job_named, rows_by_key, start_waiting
from tutorialrun import TUTORIAL, attach_used, run_lesson

pytestmark = [pytest.mark.ssh, pytest.mark.kernel]

LESSON = TUTORIAL / "usdt_python_gc"
PYTHON = "/usr/bin/python3.11"
COLLECTIONS = 10

WORKER = r"""
import gc, os, sys
print(os.getpid(), flush=True)
sys.stdin.readline()
for _ in range(10):
    gc.collect()
print("collected", flush=True)
"""


def pid_playbook(path: Path, pid: int) -> Path:
    """The lesson's playbook, attached to one process by pid instead of the binary."""
    book = yaml.safe_load((LESSON / "playbook.yaml").read_text())
    job = book["jobs"][0]
    job["source"] = str(LESSON / job["source"])
    point = job["attach"][0]
    assert point["usdt"] == f"{PYTHON}:python:gc__start"
    point["pid"] = pid
    path.write_text(yaml.safe_dump(book, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def lesson_run(ssh_fleet, tmp_path_factory):
    tmp: Path = tmp_path_factory.mktemp("tutorial_usdt_python_gc")
    worker = start_waiting([PYTHON, "-c", WORKER], stdout=True)

    def workload():
        out, _ = go(worker)
        assert out.strip() == "collected" and worker.returncode == 0

    try:
        pid = int(worker.stdout.readline())
        book = pid_playbook(tmp / "usdt_pid.yaml", pid)
        results, hosts, _ = run_lesson(ssh_fleet, tmp, book, workload)
    finally:
        worker.kill()
    return results, hosts, pid


def test_every_host_attached_by_pid(lesson_run):
    results, hosts, pid = lesson_run
    for name in hosts:
        host = results["hosts"][name]
        assert host["outcome"] == "ok", host["reason"]
        used = attach_used(host, "usdt_python_gc")
        assert used == [f"usdt:{PYTHON}:python:gc__start"]


def test_gc_runs_of_the_worker_on_every_host(lesson_run):
    results, hosts, pid = lesson_run
    job = job_named(results, "usdt_python_gc")
    assert job["kind"] == "table" and job["unit"] == "collections"
    rows = rows_by_key(job)
    assert pid in rows, job["rows"]
    for name in hosts:
        assert rows[pid]["hosts"][name] >= COLLECTIONS, rows[pid]
