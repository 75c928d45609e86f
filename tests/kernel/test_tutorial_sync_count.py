"""Tutorial lesson sync_count on the ssh test fleet: the running count of syncs.

Three `sync` processes run inside the window. Each host's copy of the program
keeps its own counter, zeroed when the window opens (the playbook reports the
map as a table), so on every host our three syncs print 1, 2, 3 when nothing
else synced, and in any case every line of a host prints the next number:
the counts of a host's lines are exactly 1..n, and the table says n.
"""

from __future__ import annotations

import re

import pytest
from fleetrun import host_events
from tutorialrun import attach_used, run_sync_lesson

pytestmark = [pytest.mark.ssh, pytest.mark.kernel]

SYNCS = 3
GAP_S = 0.1
MESSAGE = re.compile(r"^sync number (\d+)$")


@pytest.fixture(scope="module")
def count_run(ssh_fleet, tmp_path_factory):
    return run_sync_lesson(ssh_fleet, tmp_path_factory, "sync_count", SYNCS, GAP_S)


def output(results: dict, name: str) -> dict:
    return next(j for j in results["jobs"]
                if j["job"] == "sync_count" and j["output"] == name)


def test_every_host_ok(count_run):
    results, _, hosts = count_run
    assert list(results["hosts"]) == hosts
    for name, host in results["hosts"].items():
        assert host["outcome"] == "ok", (name, host["reason"])
        used = attach_used(host, "sync_count")
        assert used == ["tracepoint:syscalls:sys_enter_sync"], name


def test_each_host_counts_from_one(count_run):
    results, pids, hosts = count_run
    trace, table = output(results, "trace"), output(results, "syncs")
    assert trace["kind"] == "events" and table["kind"] == "table"
    assert table["unit"] == "syncs"
    totals = {}
    for host in hosts:
        lines = host_events(trace, host)
        counts = [int(MESSAGE.match(e["message"]).group(1)) for e in lines]
        # one number per sync of this host's window, none twice, none skipped
        assert sorted(counts) == list(range(1, len(counts) + 1)), (host, lines)
        mine = [e for e in lines if e["pid"] in pids]
        assert [e["pid"] for e in mine] == pids, (host, lines)
        assert {e["comm"] for e in mine} == {"sync"}
        ours = [int(MESSAGE.match(e["message"]).group(1)) for e in mine]
        assert ours == sorted(ours), (host, lines)
        if len(lines) == SYNCS:  # nobody else synced: the lesson's 1, 2, 3
            assert ours == [1, 2, 3], (host, lines)
        else:  # strangers' syncs take numbers too, but ours still go up
            assert ours[-1] - ours[0] >= SYNCS - 1, (host, lines)
        totals[host] = len(counts)
    # the counter map, read at the window's end: one row (key 0) with each
    # host's own count, the fleet total being their sum
    assert len(table["rows"]) == 1, table["rows"]
    row = table["rows"][0]
    assert row["hosts"] == totals, (row, totals)
    assert row["total"] == sum(totals.values())
