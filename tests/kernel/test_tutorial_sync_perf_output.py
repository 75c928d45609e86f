"""Tutorial lesson sync_perf_output on the ssh test fleet: gaps between sync() calls.

Inside the window one process calls sync() 3 times, sleeping 100 ms between
them, and notes (CLOCK_MONOTONIC, the clock of bpf_ktime_get_ns) just before
each call. Gaps are timed per process by default, so syncs of other processes
on this machine cannot interfere: every host (all share this kernel) must
report exactly 2 records for that pid, each at least 100 ms and within a few
ms of the gap the process measured itself.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from fleetrun import start_fleet, wait_for_window, write_inventory

pytestmark = [pytest.mark.ssh, pytest.mark.kernel]

PLAYBOOK = (Path(__file__).resolve().parents[2]
            / "examples/tutorial/sync_perf_output/playbook.yaml")
SLEEP_S = 0.1
TOLERANCE_US = 20_000

# Three syncs 100 ms apart; print our pid and the monotonic times before each call.
WORKLOAD = f"""
import json, os, time
stamps = []
for i in range(3):
    if i:
        time.sleep({SLEEP_S})
    stamps.append(time.monotonic_ns())
    os.sync()
print(json.dumps({{"pid": os.getpid(), "stamps": stamps}}))
"""


@pytest.fixture(scope="module")
def run(ssh_fleet, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sync_perf_output")
    inv = write_inventory(tmp / "inv.yaml", ssh_fleet)
    runs = tmp / "runs"
    proc = start_fleet(runs, "run", str(PLAYBOOK), "-i", str(inv), "--json",
                       "--duration", "4s")
    try:
        wait_for_window(runs, len(ssh_fleet.hosts))
        work = subprocess.run([sys.executable, "-c", WORKLOAD], check=True,
                              capture_output=True, text=True, timeout=60)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    work = json.loads(work.stdout)
    stamps = work["stamps"]
    return {"results": json.loads(out), "pid": work["pid"],
            "gaps_us": [(b - a) // 1000 for a, b in zip(stamps, stamps[1:])],
            "hosts": [h["name"] for h in ssh_fleet.hosts]}


def test_every_host_uses_the_sync_tracepoint(run):
    hosts = run["results"]["hosts"]
    assert sorted(hosts) == sorted(run["hosts"])
    for name, host in hosts.items():
        assert host["outcome"] == "ok", (name, host["reason"])
        attach = host["jobs"]["sync_perf_output"]["attach"]
        assert [(a["probe"], a["used"]) for a in attach] == [
            ("sync", "tracepoint:syscalls:sys_enter_sync")], name


def test_every_host_reports_two_gaps_of_100ms(run):
    job = run["results"]["jobs"][0]
    assert (job["name"], job["kind"]) == ("sync_perf_output", "events")
    assert job["params"] == {"max_gap_ms": 1000, "per_process": True}
    assert [c["field"] for c in job["columns"]] == ["comm", "pid", "gap_us"]
    assert job["lost"] == {}
    for host in run["hosts"]:
        mine = [e for e in job["events"]
                if e["host"] == host and e["pid"] == run["pid"]]
        assert len(mine) == 2, (host, mine)
        for event, measured in zip(mine, run["gaps_us"]):
            assert event["gap_us"] >= SLEEP_S * 1_000_000, (host, event)
            assert abs(event["gap_us"] - measured) <= TOLERANCE_US, (event, measured)
