"""Tutorial lesson hello_perf_output on the ssh test fleet: clone() records by perf.

Inside the window a Python process renames itself to a comm no other process
has and forks 5 times (glibc's fork() is the clone syscall). Every host shares
this kernel, so every host must report exactly 5 records with that comm, each
carrying that process's pid and a time inside the window.
"""

from __future__ import annotations

import uuid

import pytest
from fleetrun import host_events
from tutorialrun import lesson_playbook, run_lesson, run_python

pytestmark = [pytest.mark.ssh, pytest.mark.kernel]

PLAYBOOK = lesson_playbook("hello_perf_output")
FORKS = 5
SLACK_NS = 10**7     # clock rounding at the window edges

# Rename, then fork FORKS children that exit at once; print our pid.
WORKLOAD = f"""
import os, sys
with open("/proc/self/comm", "w") as f:
    f.write(sys.argv[1])
for _ in range({FORKS}):
    child = os.fork()
    if child == 0:
        os._exit(0)
    os.waitpid(child, 0)
print(os.getpid())
"""


@pytest.fixture(scope="module")
def run(ssh_fleet, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hello_perf_output")
    comm = "hpo" + uuid.uuid4().hex[:10]        # 13 chars: fits in 15
    results, hosts, out = run_lesson(ssh_fleet, tmp, PLAYBOOK,
                                     lambda: run_python(WORKLOAD, comm))
    return {"results": results, "comm": comm, "pid": int(out),
            "hosts": hosts}


def test_every_host_uses_the_clone_tracepoint(run):
    hosts = run["results"]["hosts"]
    assert sorted(hosts) == sorted(run["hosts"])
    for name, host in hosts.items():
        assert host["outcome"] == "ok", (name, host["reason"])
        attach = host["jobs"]["hello_perf_output"]["attach"]
        assert [(a["probe"], a["used"]) for a in attach] == [
            ("clone", "tracepoint:syscalls:sys_enter_clone")], name


def test_every_host_reports_the_five_forks(run):
    job = run["results"]["jobs"][0]
    assert (job["name"], job["kind"]) == ("hello_perf_output", "events")
    assert [c["field"] for c in job["columns"]] == ["comm", "pid"]
    assert job["lost"] == {}
    for host in run["hosts"]:
        window = run["results"]["hosts"][host]["window"]
        first, last = window["start_ns"] - SLACK_NS, window["end_ns"] + SLACK_NS
        mine = [e for e in host_events(job, host) if e["comm"] == run["comm"]]
        assert len(mine) == FORKS, (host, mine)
        for e in mine:
            assert e["pid"] == run["pid"], e
            assert first <= e["ts_ns"] <= last, e
