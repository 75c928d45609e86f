"""Tutorial lesson disklatency on the ssh test fleet: block I/O latency, log2 usecs.

dd writes 100 blocks of 4 KiB with O_DIRECT inside the window; each block is
one write request, issued and completed inside the window. Every host shares
this kernel, so every host's histogram must count at least 100 latencies,
with plausible values (all under 2^22 usecs, about 4.2 s, longer than the
4 s window: a latency computed from a garbage start time would land above),
and the fleet's slots must be the slot-wise sum of the hosts'.
"""

from __future__ import annotations

import pytest
from fleetrun import expected_seen, slot
from tutorialrun import attach_by_probe, run_dd_lesson

pytestmark = [pytest.mark.ssh, pytest.mark.kernel]

BLOCKS = 100
TOO_SLOW_SLOT = 23  # slot 23 holds 2^22 .. 2^23 - 1 usecs (4.2 .. 8.4 s)


@pytest.fixture(scope="module")
def run(ssh_fleet, tmp_path_factory):
    return run_dd_lesson(ssh_fleet, tmp_path_factory, "disklatency", "4k", BLOCKS)


def test_every_host_uses_both_tracepoints(run):
    hosts = run["results"]["hosts"]
    assert sorted(hosts) == sorted(run["hosts"])
    for name, host in hosts.items():
        assert host["outcome"] == "ok", (name, host["reason"])
        used = attach_by_probe(host, "disklatency")
        assert used == {"issue": "tracepoint:block:block_rq_issue",
                        "complete": "tracepoint:block:block_rq_complete"}, name


def test_every_host_counts_the_dd_writes(run):
    job = run["results"]["jobs"][0]
    assert (job["name"], job["kind"]) == ("disklatency", "histogram")
    assert job["unit"] == "usecs"
    assert job["scale"] == "log2"
    assert sorted(job["hosts"]) == sorted(run["hosts"])
    for host, stats in job["hosts"].items():
        need = expected_seen(job, host, BLOCKS)
        assert stats["count"] >= need, (host, stats, job["missed_runs"])
        assert stats["count"] == sum(stats["slots"]), (host, stats)
        assert len(stats["slots"]) <= TOO_SLOW_SLOT, (host, stats)  # nothing >= 4.2 s
        assert stats["p50"] is not None and stats["p50"] <= stats["p99"] <= stats["max"]


def test_fleet_slots_are_the_sum_of_the_hosts(run):
    job = run["results"]["jobs"][0]
    hosts = job["hosts"].values()
    width = max(len(h["slots"]) for h in hosts)
    summed = [sum(slot(h, i) for h in hosts) for i in range(width)]
    assert job["fleet"]["slots"] == summed
    total = sum(h["count"] for h in hosts)
    assert job["fleet"]["count"] == total
    assert total >= sum(expected_seen(job, h, BLOCKS) for h in job["hosts"])
