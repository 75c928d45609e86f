"""Tutorial lesson hello_world on the ssh test fleet: one greeting per new task.

A workload process starts CHILDREN short-lived children with subprocess. Every
host runs its own copy of the program on the shared kernel, so each host's
trace lines must hold exactly CHILDREN "Hello, World!" lines printed by the
workload's pid (the parent is the task that calls clone/vfork).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from fleetrun import REPO_ROOT, start_fleet, wait_for_window, write_inventory

pytestmark = [pytest.mark.ssh, pytest.mark.kernel]

PLAYBOOK = REPO_ROOT / "examples" / "tutorial" / "hello_world" / "playbook.yaml"
CHILDREN = 5
FORKER = ("import subprocess, sys\n"
          "for _ in range(int(sys.argv[1])):\n"
          "    subprocess.run(['true'], check=True)\n")


@pytest.fixture(scope="module")
def hello_run(ssh_fleet, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hello_world")
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


def test_every_host_attached_the_clone_tracepoints(hello_run):
    results, _, hosts = hello_run
    assert list(results["hosts"]) == hosts
    for name, host in results["hosts"].items():
        assert host["outcome"] == "ok", (name, host["reason"])
        used = {a["probe"]: a["used"] for a in host["jobs"]["hello_world"]["attach"]}
        assert used == {"clone": "tracepoint:syscalls:sys_enter_clone",
                        "clone3": "tracepoint:syscalls:sys_enter_clone3",
                        "vfork": "tracepoint:syscalls:sys_enter_vfork",
                        "fork": "tracepoint:syscalls:sys_enter_fork"}, name


def test_each_host_greets_every_child_of_the_workload(hello_run):
    results, pid, hosts = hello_run
    job = next(j for j in results["jobs"] if j["job"] == "hello_world")
    assert job["kind"] == "events"
    assert [c["field"] for c in job["columns"]] == ["comm", "pid", "message"]
    for host in hosts:
        mine = [e for e in job["events"] if e["host"] == host and e["pid"] == pid]
        assert len(mine) == CHILDREN, (host, mine)
        assert {e["message"] for e in mine} == {"Hello, World!"}, mine
        assert {e["comm"] for e in mine} <= {"python3", "python", "python3.11"}, mine
    # every line of the job is the greeting, whoever cloned
    assert {e["message"] for e in job["events"]} == {"Hello, World!"}
