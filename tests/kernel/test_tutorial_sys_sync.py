"""Tutorial lesson sys_sync on the ssh test fleet: one trace line per sync(2).

Three `sync` processes run inside the window. Every host runs its own copy of
the program on the shared kernel, so each host's trace lines must hold exactly
one "sys_sync() called" line from each of the three sync pids (other processes
on the machine may sync too: only our pids are counted).
"""

from __future__ import annotations

import json
import subprocess
import time

import pytest
from fleetrun import REPO_ROOT, start_fleet, wait_for_window, write_inventory

pytestmark = [pytest.mark.ssh, pytest.mark.kernel]

PLAYBOOK = REPO_ROOT / "examples" / "tutorial" / "sys_sync" / "playbook.yaml"
SYNCS = 3
GAP_S = 0.1


def run_syncs(count: int, gap_s: float) -> list[int]:
    """Start `sync` count times, gap_s apart (by the clock, not after each
    returns: a sync with many dirty pages may take long); return their pids."""
    children, t0 = [], time.monotonic()
    for i in range(count):
        time.sleep(max(0.0, t0 + i * gap_s - time.monotonic()))
        children.append(subprocess.Popen(["sync"]))
    assert all(child.wait(timeout=60) == 0 for child in children)
    return [child.pid for child in children]


@pytest.fixture(scope="module")
def sync_run(ssh_fleet, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sys_sync")
    inv = write_inventory(tmp / "inv.yaml", ssh_fleet)
    runs = tmp / "runs"
    proc = start_fleet(runs, "run", str(PLAYBOOK), "-i", str(inv), "--json",
                       "--duration", "4s")
    try:
        wait_for_window(runs, len(ssh_fleet.hosts))
        pids = run_syncs(SYNCS, GAP_S)
    finally:
        out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    return json.loads(out), pids, [h["name"] for h in ssh_fleet.hosts]


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
    job = next(j for j in results["jobs"] if j["job"] == "sys_sync")
    assert job["kind"] == "events" and job["output"] == "trace"
    for host in hosts:
        mine = [e for e in job["events"] if e["host"] == host and e["pid"] in pids]
        # in the order the syncs ran, one line each, all from comm "sync"
        assert [e["pid"] for e in mine] == pids, (host, job["events"])
        assert {e["comm"] for e in mine} == {"sync"}, mine
        assert {e["message"] for e in mine} == {"sys_sync() called"}, mine
        assert job["hosts"][host]["count"] >= SYNCS
    # whoever called sync, every line of the job is this program's message
    assert {e["message"] for e in job["events"]} == {"sys_sync() called"}
