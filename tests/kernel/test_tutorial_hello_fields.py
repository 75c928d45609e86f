"""Tutorial lesson hello_fields on the ssh test fleet: a greeting with fields.

A workload process starts CHILDREN short-lived children with subprocess. Every
host runs its own copy of the program on the shared kernel, so each host's
trace lines must hold exactly CHILDREN lines printed by the workload, and each
line's message must parse into tgid/uid/nr fields that agree with what we
know: tgid is the workload's pid, uid ours, nr a task-creating syscall.
"""

from __future__ import annotations

import os
import re

import pytest
from fleetrun import host_events, job_named
from tutorialrun import attach_used, run_fork_lesson

pytestmark = [pytest.mark.ssh, pytest.mark.kernel]

CHILDREN = 5
MESSAGE = re.compile(
    r"^Hello, World! tgid=(?P<tgid>\d+) uid=(?P<uid>\d+) nr=(?P<nr>-?\d+)$"
)
# x86-64 syscall numbers of clone, fork, vfork, clone3 (the lines say which)
TASK_SYSCALLS = {56, 57, 58, 435}


@pytest.fixture(scope="module")
def fields_run(ssh_fleet, tmp_path_factory):
    return run_fork_lesson(ssh_fleet, tmp_path_factory, "hello_fields", CHILDREN)


def test_every_host_ok(fields_run):
    results, _, hosts = fields_run
    assert list(results["hosts"]) == hosts
    for name, host in results["hosts"].items():
        assert host["outcome"] == "ok", (name, host["reason"])
        used = attach_used(host, "hello_fields")
        assert used[0] == "tracepoint:syscalls:sys_enter_clone", name


def test_every_line_parses_into_fields(fields_run):
    results, _, _ = fields_run
    job = job_named(results, "hello_fields")
    assert job["kind"] == "events" and job["count"] > 0
    for e in job["events"]:
        fields = MESSAGE.match(e["message"])
        assert fields, e
        # the printing thread (pid column) belongs to the process in tgid:
        # /proc may be gone by now, so only the cheap facts are checked
        assert int(fields["tgid"]) > 0 and int(fields["nr"]) in TASK_SYSCALLS, e


def test_each_host_sees_the_workloads_children_with_its_fields(fields_run):
    results, pid, hosts = fields_run
    job = job_named(results, "hello_fields")
    for host in hosts:
        mine = host_events(job, host, {pid})
        assert len(mine) == CHILDREN, (host, mine)
        for e in mine:
            fields = MESSAGE.match(e["message"]).groupdict()
            # single-threaded workload: thread id == process id
            assert int(fields["tgid"]) == pid, e
            assert int(fields["uid"]) == os.getuid(), e
        # the five children came from one kind of syscall (subprocess's choice)
        assert len({MESSAGE.match(e["message"])["nr"] for e in mine}) == 1, mine
