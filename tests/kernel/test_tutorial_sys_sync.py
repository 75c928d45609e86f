"""Tutorial lesson sys_sync on the ssh test fleet: one trace line per sync(2).

Three `sync` processes run inside the window. Every host runs its own copy of
the program on the shared kernel, so each host's trace lines must hold exactly
one "sys_sync() called" line from each of the three sync pids (other processes
on the machine may sync too: only our pids are counted).
"""

from __future__ import annotations

import pytest
from fleetrun import host_events, job_named
from tutorialrun import run_sync_lesson

pytestmark = [pytest.mark.ssh, pytest.mark.kernel]

SYNCS = 3
GAP_S = 0.1


@pytest.fixture(scope="module")
def sync_run(ssh_fleet, tmp_path_factory):
    return run_sync_lesson(ssh_fleet, tmp_path_factory, "sys_sync", SYNCS, GAP_S)


def test_every_host_attached_the_sync_tracepoint(sync_run):
    results, _, hosts = sync_run
    assert list(results["hosts"]) == hosts
    for name, host in results["hosts"].items():
        assert host["outcome"] == "ok", (name, host["reason"])
        attach = host["jobs"]["sys_sync"]["attach"]
        assert [(a["probe"], a["used"]) for a in attach] == [
            ("sync", "tracepoint:syscalls:sys_enter_sync")], name


def test_each_host_has_one_line_per_sync(sync_run):
    results, pids, hosts = sync_run
    job = job_named(results, "sys_sync")
    assert job["kind"] == "events" and job["output"] == "trace"
    for host in hosts:
        mine = host_events(job, host, pids)
        # in the order the syncs ran, one line each, all from comm "sync"
        assert [e["pid"] for e in mine] == pids, (host, job["events"])
        assert {e["comm"] for e in mine} == {"sync"}, mine
        assert {e["message"] for e in mine} == {"sys_sync() called"}, mine
        assert job["hosts"][host]["count"] >= SYNCS
    # whoever called sync, every line of the job is this program's message
    assert {e["message"] for e in job["events"]} == {"sys_sync() called"}
