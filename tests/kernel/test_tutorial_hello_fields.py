"""Tutorial lesson hello_fields on the ssh test fleet: a greeting with fields.

A workload process starts CHILDREN short-lived children with subprocess. Every
host runs its own copy of the program on the shared kernel, so each host's
trace lines must hold exactly CHILDREN lines printed by the workload, and each
line's message must parse into tgid/uid/nr fields that agree with what we
know: tgid is the workload's pid, uid ours, nr a task-creating syscall.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest
from fleetrun import REPO_ROOT, start_fleet, wait_for_window, write_inventory

pytestmark = [pytest.mark.ssh, pytest.mark.kernel]

PLAYBOOK = REPO_ROOT / "examples" / "tutorial" / "hello_fields" / "playbook.yaml"
CHILDREN = 5
FORKER = ("import subprocess, sys\n"
          "for _ in range(int(sys.argv[1])):\n"
          "    subprocess.run(['true'], check=True)\n")
MESSAGE = re.compile(
    r"^Hello, World! tgid=(?P<tgid>\d+) uid=(?P<uid>\d+) nr=(?P<nr>-?\d+)$"
)
# x86-64 syscall numbers of clone, fork, vfork, clone3 (the lines say which)
TASK_SYSCALLS = {56, 57, 58, 435}


@pytest.fixture(scope="module")
def fields_run(ssh_fleet, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hello_fields")
    inv = write_inventory(tmp / "inv.yaml", ssh_fleet)
    runs = tmp / "runs"
    proc = start_fleet(runs, "run", str(PLAYBOOK), "-i", str(inv), "--json",
                       "--duration", "4s")
    try:
        wait_for_window(runs, len(ssh_fleet.hosts))
        work = subprocess.Popen([sys.executable, "-c", FORKER, str(CHILDREN)])
        assert work.wait(timeout=30) == 0
    finally:
        out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    return json.loads(out), work.pid, [h["name"] for h in ssh_fleet.hosts]


def test_every_host_ok(fields_run):
    results, _, hosts = fields_run
    assert list(results["hosts"]) == hosts
    for name, host in results["hosts"].items():
        assert host["outcome"] == "ok", (name, host["reason"])
        used = [a["used"] for a in host["jobs"]["hello_fields"]["attach"]]
        assert used[0] == "tracepoint:syscalls:sys_enter_clone", name


def test_every_line_parses_into_fields(fields_run):
    results, _, _ = fields_run
    job = next(j for j in results["jobs"] if j["job"] == "hello_fields")
    assert job["kind"] == "events" and job["count"] > 0
    for e in job["events"]:
        fields = MESSAGE.match(e["message"])
        assert fields, e
        # the printing thread (pid column) belongs to the process in tgid:
        # /proc may be gone by now, so only the cheap facts are checked
        assert int(fields["tgid"]) > 0 and int(fields["nr"]) in TASK_SYSCALLS, e


def test_each_host_sees_the_workloads_children_with_its_fields(fields_run):
    results, pid, hosts = fields_run
    job = next(j for j in results["jobs"] if j["job"] == "hello_fields")
    for host in hosts:
        mine = [e for e in job["events"] if e["host"] == host and e["pid"] == pid]
        assert len(mine) == CHILDREN, (host, mine)
        for e in mine:
            fields = MESSAGE.match(e["message"]).groupdict()
            # single-threaded workload: thread id == process id
            assert int(fields["tgid"]) == pid, e
            assert int(fields["uid"]) == os.getuid(), e
        # the five children came from one kind of syscall (subprocess's choice)
        assert len({MESSAGE.match(e["message"])["nr"] for e in mine}) == 1, mine
