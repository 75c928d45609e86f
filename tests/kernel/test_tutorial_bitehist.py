"""Tutorial lesson bitehist on the ssh test fleet: block I/O sizes, log2 kbytes.

dd writes 50 blocks of 64 KiB with O_DIRECT inside the window: each block is
one write request of exactly 64 KiB, which bpf_log2l(64) = 7 puts into slot 7
(64-127 kbytes). Every host shares this kernel, so every host's histogram
must hold at least 50 there, and the fleet's slots must be the slot-wise sum
of the hosts'.
"""

from __future__ import annotations

import pytest
from fleetrun import expected_seen, slot
from tutorialrun import run_dd_lesson

pytestmark = [pytest.mark.ssh, pytest.mark.kernel]

BLOCKS = 50
SLOT_64K = 7        # slot k holds 2^(k-1) .. 2^k - 1: 64..127 kbytes


@pytest.fixture(scope="module")
def run(ssh_fleet, tmp_path_factory):
    return run_dd_lesson(ssh_fleet, tmp_path_factory, "bitehist", "64k", BLOCKS)


def test_every_host_uses_the_issue_tracepoint(run):
    hosts = run["results"]["hosts"]
    assert sorted(hosts) == sorted(run["hosts"])
    for name, host in hosts.items():
        assert host["outcome"] == "ok", (name, host["reason"])
        attach = host["jobs"]["bitehist"]["attach"]
        assert [(a["probe"], a["used"]) for a in attach] == [
            ("size", "tracepoint:block:block_rq_issue")], name


def test_64k_writes_land_in_slot_7_on_every_host(run):
    job = run["results"]["jobs"][0]
    assert (job["name"], job["kind"]) == ("bitehist", "histogram")
    assert job["unit"] == "kbytes"
    assert job["scale"] == "log2"
    assert "keys" not in job or not job["keys"]
    assert sorted(job["hosts"]) == sorted(run["hosts"])
    for host, stats in job["hosts"].items():
        need = expected_seen(job, host, BLOCKS)
        assert slot(stats, SLOT_64K) >= need, (host, stats, job["missed_runs"])
        assert stats["count"] == sum(stats["slots"]), (host, stats)
        assert stats["max"] >= 127, (host, stats)     # upper bound of slot 7


def test_fleet_slots_are_the_sum_of_the_hosts(run):
    job = run["results"]["jobs"][0]
    hosts = job["hosts"].values()
    width = max(len(h["slots"]) for h in hosts)
    summed = [sum(slot(h, i) for h in hosts) for i in range(width)]
    assert job["fleet"]["slots"] == summed
    assert job["fleet"]["count"] == sum(h["count"] for h in hosts)
    need = sum(expected_seen(job, h, BLOCKS) for h in run["hosts"])
    assert slot(job["fleet"], SLOT_64K) >= need
