"""Tutorial lesson sync_timing on the ssh test fleet: the gap between syncs.

Three `sync` processes start GAP_MS apart inside the window. Each host's copy
of the program keeps its own "last sync" time, so on every host the second
and third sync each print one line with a gap of about GAP_MS.

Other processes may sync too. Any sync within a second of another prints a
line, so a stranger's sync between ours is visible in the same timeline:
then our line must show the gap to the line just before it instead.
"""

from __future__ import annotations

import re

import pytest
from fleetrun import host_events, job_named
from tutorialrun import attach_used, run_sync_lesson

pytestmark = [pytest.mark.ssh, pytest.mark.kernel]

SYNCS = 3
GAP_MS = 100
TOLERANCE_MS = 80
MESSAGE = re.compile(r"^sync (\d+) ms after the previous one$")


@pytest.fixture(scope="module")
def timing_run(ssh_fleet, tmp_path_factory):
    return run_sync_lesson(ssh_fleet, tmp_path_factory, "sync_timing", SYNCS,
                           GAP_MS / 1000)


def test_every_host_ok(timing_run):
    results, _, hosts = timing_run
    assert list(results["hosts"]) == hosts
    for name, host in results["hosts"].items():
        assert host["outcome"] == "ok", (name, host["reason"])
        used = attach_used(host, "sync_timing")
        assert used == ["tracepoint:syscalls:sys_enter_sync"], name


def test_each_host_measures_the_gaps_between_our_syncs(timing_run):
    results, pids, hosts = timing_run
    job = job_named(results, "sync_timing")
    assert job["kind"] == "events"
    for host in hosts:
        lines = host_events(job, host)
        for e in lines:
            assert MESSAGE.match(e["message"]), e
            assert int(MESSAGE.match(e["message"]).group(1)) < 1000, e
        by_pid = {}
        for e in lines:
            by_pid.setdefault(e["pid"], []).append(e)
        # our first sync prints only if a stranger synced within a second before
        assert len(by_pid.get(pids[0], [])) <= 1, lines
        ours = []
        for pid in pids[1:]:
            assert len(by_pid.get(pid, [])) == 1, (host, pid, lines)
            ours.append(by_pid[pid][0])
        # the line printed by our sync number i and the sync it measured from
        for i, e in enumerate(ours, start=1):
            gap = int(MESSAGE.match(e["message"]).group(1))
            before = lines[lines.index(e) - 1] if lines.index(e) > 0 else None
            stranger = before is not None and before["pid"] not in pids \
                and e["ts_ns"] - before["ts_ns"] < (GAP_MS + TOLERANCE_MS) * 1e6
            if stranger:
                # someone else synced in between: the gap is measured from it
                assert abs(gap - (e["ts_ns"] - before["ts_ns"]) / 1e6) <= 2, lines
            else:
                assert abs(gap - GAP_MS) <= TOLERANCE_MS, (host, i, lines)
            if before is not None and before["pid"] == pids[i - 1]:
                # both syncs printed: the trace clock agrees with the program's
                assert abs(gap - (e["ts_ns"] - before["ts_ns"]) / 1e6) <= 2, lines
