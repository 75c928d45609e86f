"""Every catalog job on the second kernel: one run on vm1 (Debian 12, 6.1).

One playbook holds every job, with filters on the pids and names of one
combined workload that runs inside the guest (guest_workload.py, `catalog`);
each test checks one job's counts exactly, as tests/kernel/ does on the host's
6.18, and names the attach points the guest used.
"""

from __future__ import annotations

import os
import random
import subprocess
from collections import Counter
from pathlib import Path

import pytest
from fleetrun import address, expected_seen, host_events, rows_by_key, slot
from guestrun import push, run_around, start_workload

pytestmark = pytest.mark.vm

HOST = "vm1"
WORK = "/root/fleetwork"
DD_4K, DD_64K = 100, 50
CACHE_PAGES = 4096
EXECS, SLEEPS, ROUNDS, SYNCS = 20, 100, 100, 3
URANDOM_BYTES = 5 * 4096 + 2 * 16
SLOT_32MS, SLOT_1MS, SLOT_64K, SLOT_4K = 16, 11, 7, 3

SPIN_C = r"""
#include <time.h>
volatile unsigned long sink;
__attribute__((noinline)) void fleet_spin_inner(void)
{ for (int i = 0; i < 1000; i++) sink += i; }
__attribute__((noinline)) void fleet_spin_loop(double secs)
{
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    do {
        fleet_spin_inner();
        clock_gettime(CLOCK_MONOTONIC, &b);
    } while ((b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9 < secs);
}
int main(void) { fleet_spin_loop(2.0); return 0; }
"""

PLAYBOOK = """\
name: catalog on vm1
hosts: vm
duration: 25s
jobs:
  - job: biolatency
    params: {{disk: vda}}
  - job: biosnoop
    params: {{comm: fleetdd}}
  - job: bitehist
    params: {{disk: vda}}
  - job: cachestat
  - job: execsnoop
    params: {{comm: fleettrue}}
  - job: fsslower
    params: {{min_latency_ms: 0, pid: {fsio}}}
  - job: ext4slower
    params: {{min_latency_ms: 0, pid: {fsio}}}
  - job: xfsslower
    params: {{min_latency_ms: 0, pid: {fsio}}}
  - job: btrfsslower
    params: {{min_latency_ms: 0, pid: {fsio}}}
  - job: opensnoop
    params: {{comm: fleetopen}}
  - job: profile
    params: {{pid: {spinner}}}
  - job: runqlat
    params: {{pid: {sleeper}}}
  - job: syncsnoop
  - job: task_switch
  - job: tcpaccept
    params: {{port: {accept_port}}}
  - job: tcpconnect
    params: {{port: {connect_port}}}
  - job: tcpretrans
    params: {{port: {retrans_port}}}
  - job: urandomread
  - job: vfsreadlat
    params: {{comm: fleetpipe}}
"""
JOBS = [line.split("job: ")[1] for line in PLAYBOOK.splitlines() if "- job: " in line]


@pytest.fixture(scope="module")
def run(vm_fleet, tmp_path_factory):
    """The one catalog run on vm1 around the combined workload."""
    tmp = tmp_path_factory.mktemp("vmcatalog")
    (tmp / "spin.c").write_text(SPIN_C)
    subprocess.run(["gcc", "-O1", "-fno-omit-frame-pointer", "-o",
                    str(tmp / "fleetspinner"), str(tmp / "spin.c")], check=True)
    push(vm_fleet, tmp / "fleetspinner", "/root/fleetspinner", "755")
    ports = random.sample(range(20000, 60000), 3)  # the guest's ports are ours
    workload = start_workload(vm_fleet, "catalog", *ports)

    def playbook(ready: dict) -> Path:
        text = PLAYBOOK.format(accept_port=ports[0], connect_port=ports[1],
                               retrans_port=ports[2], **ready)
        path = tmp / "catalog.yaml"
        path.write_text(text)
        return path

    result = run_around(tmp / "runs", workload, playbook,
                        ["-i", str(vm_fleet.inventory_path)])
    assert result.code == 0, result.stderr
    assert result.in_window(), (result.host()["window"], result.done)
    result.ports = ports
    return result


def events(run, job_id: str) -> list[dict]:
    return host_events(run.job(job_id), HOST)


def test_every_catalog_job_ran_ok_on_6_1(run, vm_fleet):
    host = run.host()
    assert host["outcome"] == "ok", host.get("reason")
    assert vm_fleet.kernel.startswith("6.1.")
    assert host["facts"]["kernel"] == vm_fleet.kernel
    assert host["facts"]["kprobes"] is True and host["facts"]["btf"] is True
    assert sorted(host["jobs"]) == sorted(JOBS)
    assert all(j["status"] == "ok" for j in host["jobs"].values())


def test_matching_headers_found_and_used(run, vm_fleet):
    # The guest has its own kernel's headers: no merged overlay of another
    # release's split packages.
    headers = run.host()["facts"]["headers"]
    assert headers == {"path": f"/lib/modules/{vm_fleet.kernel}/build",
                       "how": "modules build dir", "matches_kernel": True}


def test_attach_points_where_6_1_differs(run):
    # block_io_start came in 6.5, the filemap read/fault tracepoints in 6.3.
    assert run.attach("biosnoop")["submit"] == "tracepoint:block:block_rq_insert"
    assert run.attach("cachestat") == {
        "read": "kprobe:filemap_read", "fault": "kprobe:filemap_fault",
        "add": "tracepoint:filemap:mm_filemap_add_to_page_cache",
        "delete": "tracepoint:filemap:mm_filemap_delete_from_page_cache",
        "dirty": "tracepoint:writeback:writeback_dirty_folio"}
    skipped = {s["probe"]: s["skipped"] for s in
               run.host()["jobs"]["cachestat"]["attach"]}
    assert skipped["read"] == [{
        "point": "tracepoint:filemap:mm_filemap_get_pages",
        "reason": "no tracepoint filemap:mm_filemap_get_pages on this kernel"}]


def test_biolatency_counts_the_direct_writes(run):
    job = run.job("biolatency")
    need = expected_seen(job, HOST, DD_4K + DD_64K)
    assert sum(job["hosts"][HOST]["slots"]) >= need, job["hosts"][HOST]


def test_biosnoop_one_event_per_direct_write(run):
    job = run.job("biosnoop")
    assert {e["comm"] for e in events(run, "biosnoop")} == {"fleetdd"}
    small = [e for e in events(run, "biosnoop")
             if e["pid"] == run.done["dd4k"] and "W" in e["rwbs"]]
    assert len(small) == expected_seen(job, HOST, DD_4K), job["missed_runs"]
    assert all(e["bytes"] == 4096 and e["disk"] == "vda" for e in small)
    assert all(0 < e["lat_us"] < 5_000_000 for e in small)
    big = [e for e in events(run, "biosnoop")
           if e["pid"] == run.done["dd64k"] and "W" in e["rwbs"]]
    if not job["missed_runs"].get(HOST):
        assert sum(e["bytes"] for e in big) == DD_64K * 65536


def test_bitehist_sizes_in_their_slots(run):
    writes = run.job("bitehist")["keys"]["W"]["hosts"][HOST]
    assert slot(writes, SLOT_64K) >= DD_64K, writes
    assert slot(writes, SLOT_4K) >= DD_4K, writes


def test_cachestat_misses_then_hits_through_kprobes(run):
    rows = events(run, "cachestat")
    assert 20 <= len(rows) <= 27  # 1 s intervals over a 25 s window
    total = {k: sum(r[k] for r in rows) for k in ("access", "miss", "hit", "evict")}
    # Every page of the file not in the cache at the start was a miss (fadvise
    # may leave a few behind).
    assert run.done["cache_resident"] < CACHE_PAGES // 10, run.done
    assert total["miss"] >= CACHE_PAGES - run.done["cache_resident"], total
    assert total["access"] >= 2 * CACHE_PAGES, total
    assert total["hit"] >= CACHE_PAGES * 0.9, total
    assert total["hit"] == total["access"] - total["miss"]


def test_execsnoop_every_exec_with_its_parent(run):
    # ppid comes from task_struct.real_parent -> tgid, BTF offsets of 6.1
    execs = events(run, "execsnoop")
    assert [e["pid"] for e in execs] == run.done["execs"]
    for i, e in enumerate(execs):
        assert (e["comm"], e["ret"], e["ppid"]) == (
            "fleettrue", 0, run.ready["director"])
        assert e["args"] == f"{WORK}/fleettrue arg{i} x"


@pytest.mark.parametrize("job_id", ["fsslower", "ext4slower"])
def test_fsslower_each_call_with_its_file(run, job_id):
    # the file name walks task -> files -> fdt -> file -> dentry through BTF
    calls = events(run, job_id)
    assert Counter(e["op"] for e in calls) == {"write": 5, "fsync": 3, "pread": 2}
    assert {e["file"] for e in calls} == {"datafile"}
    assert {e["pid"] for e in calls} == {run.ready["fsio"]}
    assert all(e["bytes"] == 8192 for e in calls if e["op"] == "write")
    assert all(e["bytes"] == 4096 and e["offset"] == 4096
               for e in calls if e["op"] == "pread")


@pytest.mark.parametrize("job_id", ["xfsslower", "btrfsslower"])
def test_fsslower_other_types_filtered_out(run, job_id):
    assert events(run, job_id) == []


def test_opensnoop_every_open_of_the_helper(run):
    pid, helper = run.done["opens"]
    opens = events(run, "opensnoop")
    assert all(e["pid"] == pid and e["comm"] == "fleetopen" for e in opens)
    assert [e["path"] for e in opens] == [helper["missing"]] * 3 + [
        *helper["created"], helper["created"][0]]
    assert [e["ret"] for e in opens] == [-2] * 3 + [*helper["fds"], helper["plain"]]
    creat = os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC
    assert [e["flags"] for e in opens] == [os.O_RDONLY | os.O_CLOEXEC] * 3 + [
        creat] * 3 + [os.O_RDONLY | os.O_CLOEXEC]


def test_profile_samples_the_spinner(run):
    job = run.job("profile")
    mine = [r for r in job["rows"] if r["key"].startswith("fleetspinner;")]
    samples = sum(r["total"] for r in mine)
    expected = 49 * run.done["spinner"]
    assert expected * 0.7 <= samples <= expected * 1.3 + 3, (samples, expected)
    # pid filter: only the spinner (and its moment as python, before exec)
    assert {r["key"].split(";")[0] for r in job["rows"]} <= {
        "fleetspinner", "python3"}, job["rows"]
    hot = [r for r in mine if "fleet_spin_inner" in r["key"].split(";")]
    assert sum(r["total"] for r in hot) >= samples * 0.6


def test_runqlat_every_wakeup_of_the_sleeper(run):
    slots = run.job("runqlat")["hosts"][HOST]["slots"]
    assert abs(sum(slots) - (SLEEPS + 1)) <= 2, slots


def test_syncsnoop_the_three_syncs(run):
    mine = [e for e in events(run, "syncsnoop") if e["pid"] in run.done["syncs"]]
    assert [e["pid"] for e in mine] == run.done["syncs"]
    assert all(e["comm"] == "sync" for e in mine)
    assert all(abs(e["since_last_ms"] - 200) <= 100 for e in mine[1:]), mine


def test_task_switch_both_directions_every_round(run):
    rows = rows_by_key(run.job("task_switch"))
    a, b = run.done["pingpong"]["a"], run.done["pingpong"]["b"]
    for prev, nxt in ((a, b), (b, a)):
        row = rows[f"fleetpong,{prev},{nxt},fleetpong"]
        assert ROUNDS <= row["total"] <= ROUNDS + 2, row


def test_tcpaccept_accepts_with_the_acceptor(run):
    # the acceptor's pid walks fd -> file -> socket -> sock through BTF
    accepted = sorted(events(run, "tcpaccept"), key=lambda e: e["ipver"])
    assert len(accepted) == 2, accepted  # the unaccepted handshake is not one
    port, seen = run.ports[0], run.done["accepts"]
    for e, ver, peer, addr in ((accepted[0], 4, seen["v4"], "127.0.0.1"),
                               (accepted[1], 6, seen["v6"], "::1")):
        assert (e["pid"], e["lport"], e["rport"], e["ipver"]) == (
            run.ready["director"], port, peer, ver)
        assert address(e["laddr"]) == address(e["raddr"]) == addr


def test_tcpconnect_refused_v4_v6(run):
    by_pid = {e["pid"]: e for e in events(run, "tcpconnect")}
    seen, port = run.done["connects"], run.ports[1]
    assert set(by_pid) == {seen[k]["pid"] for k in ("refused", "v4", "v6")}
    refused = by_pid[seen["refused"]["pid"]]
    assert (refused["refused"], refused["dport"], refused["ipver"]) == (1, port, 4)
    for key, ver, addr in (("v4", 4, "127.0.0.1"), ("v6", 6, "::1")):
        e = by_pid[seen[key]["pid"]]
        assert (e["refused"], e["dport"], e["sport"], e["ipver"]) == (
            0, port, seen[key]["sport"], ver)
        assert address(e["saddr"]) == address(e["daddr"]) == addr


def test_tcpretrans_syn_and_synack(run):
    retrans, port = events(run, "tcpretrans"), run.ports[2]
    syns = [e for e in retrans if e["state"] == "SYN_SENT"]
    synacks = [e for e in retrans if e["state"] == "SYN_RECV"]
    assert 1 <= len(syns) <= 3 and 1 <= len(synacks) <= 2, retrans
    assert len(retrans) == len(syns) + len(synacks)
    assert all((e["sport"], e["dport"]) == (run.done["retrans"]["dropped"], port)
               for e in syns)
    assert all((e["sport"], e["dport"]) == (port, run.done["retrans"]["quiet"])
               for e in synacks)


def test_urandomread_bytes_of_the_reader(run):
    # /dev/urandom is told apart by inode.i_rdev, a BTF offset of 6.1
    pid, helper = run.done["urandom"]
    assert helper["bytes"] == URANDOM_BYTES
    row = rows_by_key(run.job("urandomread"))[f"fleeturand,{pid}"]
    assert row["hosts"] == {HOST: URANDOM_BYTES}


def test_vfsreadlat_blocked_read_slot(run):
    # 50 ms blocked, then one at once; TCG on a shared machine: slots have room
    slots = run.job("vfsreadlat")["hosts"][HOST]["slots"]
    assert sum(slots) == 2, slots
    assert sum(slots[SLOT_32MS:]) == 1 and sum(slots[:SLOT_1MS]) == 1, slots
