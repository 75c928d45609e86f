"""Tutorial lesson disksnoop on the ssh test fleet: one record per finished block I/O.

dd writes 100 blocks of 4 KiB with O_DIRECT into a file on this machine's
disk inside the window. Each block is one write request of exactly 4096
bytes, and every host shares this kernel, so every host must report at least
100 completed writes ("W" in rwbs) of 4096 bytes on that disk, each with a
sane latency, through the perf buffer, using the tracepoints (this kernel has
no kprobes).
"""

from __future__ import annotations

import pytest
from fleetrun import expected_seen, host_events
from tutorialrun import attach_by_probe, run_dd_lesson

pytestmark = [pytest.mark.ssh, pytest.mark.kernel]

BLOCKS = 100
BLOCK_BYTES = 4096
SLACK_NS = 10**7


@pytest.fixture(scope="module")
def run(ssh_fleet, tmp_path_factory):
    return run_dd_lesson(ssh_fleet, tmp_path_factory, "disksnoop", BLOCK_BYTES, BLOCKS)


def test_every_host_uses_both_tracepoints(run):
    hosts = run["results"]["hosts"]
    assert sorted(hosts) == sorted(run["hosts"])
    for name, host in hosts.items():
        assert host["outcome"] == "ok", (name, host["reason"])
        used = attach_by_probe(host, "disksnoop")
        assert used == {"issue": "tracepoint:block:block_rq_issue",
                        "complete": "tracepoint:block:block_rq_complete"}, name


def test_every_host_sees_the_dd_writes(run):
    job = run["results"]["jobs"][0]
    assert (job["name"], job["kind"]) == ("disksnoop", "events")
    assert [c["field"] for c in job["columns"]] == ["disk", "rwbs", "bytes", "lat_us"]
    assert job["lost"] == {}
    assert job["count"] == len(job["events"])
    for host in run["hosts"]:
        window = run["results"]["hosts"][host]["window"]
        first, last = window["start_ns"] - SLACK_NS, window["end_ns"] + SLACK_NS
        mine = host_events(job, host)
        assert job["hosts"][host]["count"] == len(mine)
        writes = [e for e in mine if e["disk"] == run["disk"] and "W" in e["rwbs"]
                  and e["bytes"] == BLOCK_BYTES]
        need = expected_seen(job, host, BLOCKS)
        assert len(writes) >= need, (host, len(writes), job["missed_runs"], mine[:5])
        for e in writes:
            assert 0 <= e["lat_us"] < 10_000_000, e
            # completions are stamped in the window (a little slack for clock rounding)
            assert first <= e["ts_ns"] <= last, e
