"""Declared kprobe/kretprobe fallbacks, for real on vm1 (6.1 has kprobes).

cachestat takes its kprobes by itself on 6.1 (the tracepoints came in 6.3);
vfsreadlat's kprobe/kretprobe pair on vfs_read is forced with --point, beside
the same job on its tracepoints as a control. The workload (guest_workload.py,
`fallbacks`) reads a cached file in single-batch preads and touches one page
in 32 of a mapping of it, so every count is known exactly.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fleetrun import host_events
from guestrun import run_around, start_workload

pytestmark = pytest.mark.vm

HOST = "vm1"
CACHE_PAGES, STRIDE = 4096, 32
SLOT_32MS = 16  # BCC log2 slot k holds 2^(k-1) .. 2^k - 1 usecs
SLOT_1MS = 11
NOISE_PAGES = 32

PLAYBOOK = """\
name: fallbacks on vm1
hosts: vm
duration: 8s
jobs:
  - job: cachestat
  - job: vfsreadlat
    params: {comm: fleetpipe}
  - job: vfsreadlat
    name: vfsreadlat_kprobe
    params: {comm: fleetpipe}
"""
FORCED = ["--point", "vfsreadlat_kprobe.enter_read=kprobe:vfs_read",
          "--point", "vfsreadlat_kprobe.exit_read=kretprobe:vfs_read"]


@pytest.fixture(scope="module")
def run(vm_fleet, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("vmfallbacks")
    playbook = tmp / "fallbacks.yaml"
    playbook.write_text(PLAYBOOK)
    result = run_around(tmp / "runs", start_workload(vm_fleet, "fallbacks"),
                        lambda ready: Path(playbook),
                        ["-i", str(vm_fleet.inventory_path), *FORCED])
    assert result.code == 0, result.stderr
    assert result.host()["outcome"] == "ok"
    assert result.in_window(), (result.host()["window"], result.done)
    return result


def test_cachestat_kprobes_count_every_page(run):
    assert run.attach("cachestat")["read"] == "kprobe:filemap_read"
    assert run.attach("cachestat")["fault"] == "kprobe:filemap_fault"
    assert run.done["reads"] == CACHE_PAGES
    assert run.done["faults"] == CACHE_PAGES // STRIDE
    rows = host_events(run.job("cachestat"), HOST)
    total = {k: sum(r[k] for r in rows) for k in ("access", "miss", "evict")}
    # The file is cached: every read page and every fault is a hit. cachestat
    # counts the whole guest, whose journald and agent add a few pages.
    want = CACHE_PAGES + CACHE_PAGES // STRIDE
    assert want <= total["access"] <= want + NOISE_PAGES, total
    assert total["miss"] <= NOISE_PAGES and total["evict"] <= NOISE_PAGES, total


def test_vfsreadlat_forced_kprobe_pair(run):
    assert run.attach("vfsreadlat_kprobe")["enter_read"] == "kprobe:vfs_read"
    assert run.attach("vfsreadlat_kprobe")["exit_read"] == "kretprobe:vfs_read"
    assert run.attach("vfsreadlat")["enter_read"] == \
        "tracepoint:syscalls:sys_enter_read"
    for job_id in ("vfsreadlat", "vfsreadlat_kprobe"):
        # One read blocked 50 ms, one that found its byte waiting. The guest
        # runs under TCG on a shared machine: slots have room, counts do not.
        slots = run.job(job_id)["hosts"][HOST]["slots"]
        assert sum(slots) == 2, (job_id, slots)
        assert sum(slots[SLOT_32MS:]) == 1 and sum(slots[:SLOT_1MS]) == 1, (
            job_id, slots)
