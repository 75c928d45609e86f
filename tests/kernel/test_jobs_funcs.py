"""funccount and funclatency on user functions (uprobes) on the real kernel.

This kernel has no kprobes: the kernel-function paths run on the Debian 6.1
guest (tests/vm/test_jobs_vm.py). A worker (created first, so that its pid is
compiled in) calls libc's getppid() CALLS times and usleep(10 ms) SLEEPS times.
"""

from __future__ import annotations

import sys

import pytest
from fleetrun import go, job_named, run_in_window, start_waiting, write_playbook

pytestmark = pytest.mark.kernel

HOST = "localhost"
CALLS, SLEEPS = 40, 10
WORKER = f"""
import ctypes, os, sys
libc = ctypes.CDLL("libc.so.6")
sys.stdin.readline()
for _ in range({CALLS}):
    os.getppid()
for _ in range({SLEEPS}):
    libc.usleep(10000)
libc.usleep(300000)  # the agent names user functions while their process lives
"""


@pytest.fixture(scope="module")
def funcs_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("jobs_funcs")
    worker = start_waiting([sys.executable, "-c", WORKER])
    book = write_playbook(tmp / "book.yaml", f"""\
  - job: funccount
    params: {{library: c, function: "getpp*", pid: {worker.pid}}}
  - job: funclatency
    params: {{library: c, function: usleep, pid: {worker.pid}, microseconds: true}}
  - name: funclatency_each
    job: funclatency
    params: {{library: c, function: "uslee?", pid: {worker.pid}, per_function: true}}
""", duration="3s")
    try:
        results, _ = run_in_window(tmp / "runs", 1, ["run", str(book), "--json"],
                                   lambda: go(worker))
    finally:
        worker.kill()
        worker.wait()
    assert results["hosts"][HOST]["outcome"] == "ok"
    return results


def test_funccount_counts_each_call_by_symbol_name(funcs_run):
    job = job_named(funcs_run, "funccount")
    assert [(r["key"], r["total"]) for r in job["rows"]] == [("getppid", CALLS)]
    attach = funcs_run["hosts"][HOST]["jobs"]["funccount"]["attach"]
    assert attach == [{"probe": "user", "used": "uprobe:c:getpp*", "skipped": []}]


def test_funclatency_times_each_sleep(funcs_run):
    job = job_named(funcs_run, "funclatency")
    assert job["unit"] == "usecs" and job["fleet"]["count"] == SLEEPS + 1
    # 10 ms and a little more: slot 14 holds 8192-16383 usecs (and 300 ms: 19).
    assert job["fleet"]["slots"][14] == SLEEPS, job["fleet"]["slots"]
    assert job["fleet"]["slots"][19] == 1


def test_funclatency_per_function_keys_by_name(funcs_run):
    job = job_named(funcs_run, "funclatency_each", "name")
    assert job["unit"] == "nsecs"
    assert {k: v["fleet"]["count"] for k, v in job["keys"].items()} == {
        "usleep": SLEEPS + 1}
