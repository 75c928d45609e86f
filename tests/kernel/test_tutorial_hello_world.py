"""Tutorial lesson hello_world on the ssh test fleet: one greeting per new task.

A workload process starts CHILDREN short-lived children with subprocess. Every
host runs its own copy of the program on the shared kernel, so each host's
trace lines must hold exactly CHILDREN "Hello, World!" lines printed by the
workload's pid (the parent is the task that calls clone/vfork).
"""

from __future__ import annotations

import pytest
from fleetrun import host_events, job_named
from tutorialrun import attach_by_probe, run_fork_lesson

pytestmark = [pytest.mark.ssh, pytest.mark.kernel]

CHILDREN = 5


@pytest.fixture(scope="module")
def hello_run(ssh_fleet, tmp_path_factory):
    return run_fork_lesson(ssh_fleet, tmp_path_factory, "hello_world", CHILDREN)


def test_every_host_attached_the_clone_tracepoints(hello_run):
    results, _, hosts = hello_run
    assert list(results["hosts"]) == hosts
    for name, host in results["hosts"].items():
        assert host["outcome"] == "ok", (name, host["reason"])
        used = attach_by_probe(host, "hello_world")
        assert used == {"clone": "tracepoint:syscalls:sys_enter_clone",
                        "clone3": "tracepoint:syscalls:sys_enter_clone3",
                        "vfork": "tracepoint:syscalls:sys_enter_vfork",
                        "fork": "tracepoint:syscalls:sys_enter_fork"}, name


def test_each_host_greets_every_child_of_the_workload(hello_run):
    results, pid, hosts = hello_run
    job = job_named(results, "hello_world")
    assert job["kind"] == "events"
    assert [c["field"] for c in job["columns"]] == ["comm", "pid", "message"]
    for host in hosts:
        mine = host_events(job, host, {pid})
        assert len(mine) == CHILDREN, (host, mine)
        assert {e["message"] for e in mine} == {"Hello, World!"}, mine
        assert {e["comm"] for e in mine} <= {"python3", "python", "python3.11"}, mine
    # every line of the job is the greeting, whoever cloned
    assert {e["message"] for e in job["events"]} == {"Hello, World!"}
