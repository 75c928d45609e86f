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

import pytest
from fleetrun import host_events
from tutorialrun import lesson_playbook, run_lesson, run_python

pytestmark = [pytest.mark.ssh, pytest.mark.kernel]

PLAYBOOK = lesson_playbook("sync_perf_output")
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
    results, hosts, out = run_lesson(ssh_fleet, tmp, PLAYBOOK,
                                     lambda: run_python(WORKLOAD))
    work = json.loads(out)
    stamps = work["stamps"]
    return {"results": results, "pid": work["pid"],
            "gaps_us": [(b - a) // 1000 for a, b in zip(stamps, stamps[1:])],
            "hosts": hosts}


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
    # buffer_pages: every job with an events output has it (perf buffer size).
    assert job["params"] == {"max_gap_ms": 1000, "per_process": True,
                             "buffer_pages": 64}
    assert [c["field"] for c in job["columns"]] == ["comm", "pid", "gap_us"]
    assert job["lost"] == {}
    for host in run["hosts"]:
        mine = host_events(job, host, {run["pid"]})
        assert len(mine) == 2, (host, mine)
        for event, measured in zip(mine, run["gaps_us"]):
            assert event["gap_us"] >= SLEEP_S * 1_000_000, (host, event)
            assert abs(event["gap_us"] - measured) <= TOLERANCE_US, (event, measured)
