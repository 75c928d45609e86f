"""Real BCC on the real kernel over real sshd hosts, with a known dd workload."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import fleetrun
import pytest
from fleetrun import (
    agent_pids,
    bpf_prog_ids,
    expected_seen,
    start_fleet,
    wait_for_window,
    write_inventory,
    write_playbook,
)

pytestmark = [pytest.mark.ssh, pytest.mark.kernel]

WRITES = 200  # dd's direct writes, 4 KiB each: each one is one block I/O


def dd_direct(path: Path) -> int:
    """Write WRITES blocks with O_DIRECT; return dd's pid."""
    proc = fleetrun.dd_direct(path, "4k", WRITES, wait=False)
    assert proc.wait(60) == 0
    return proc.pid


@pytest.fixture(scope="module")
def disk_run(ssh_fleet, tmp_path_factory):
    """One run of biolatency + biosnoop(comm=dd) with dd inside the window."""
    tmp = tmp_path_factory.mktemp("disk")
    inv = write_inventory(tmp / "inv.yaml", ssh_fleet)
    pb = write_playbook(
        tmp / "pb.yaml",
        "  - job: biolatency\n  - job: biosnoop\n    params: {comm: dd}\n",
        duration="6s",
        hosts="fleet",
    )
    before = bpf_prog_ids()
    proc = start_fleet(tmp / "runs", "run", str(pb), "-i", str(inv), "--json")
    run_dir = wait_for_window(tmp / "runs", len(ssh_fleet.hosts))
    dd_pid = dd_direct(tmp / "ddfile")
    out, err = proc.communicate(timeout=120)
    import json

    return {
        "code": proc.returncode,
        "stderr": err,
        "results": json.loads(out),
        "run_dir": run_dir,
        "dd_pid": dd_pid,
        "bpf_before": before,
    }


def job(results: dict, name: str) -> dict:
    return next(j for j in results["jobs"] if j["name"] == name)


def test_every_host_ok(disk_run):
    assert disk_run["code"] == 0, disk_run["stderr"]
    assert {h["outcome"] for h in disk_run["results"]["hosts"].values()} == {"ok"}


def test_biolatency_counts_the_workload_on_every_host(disk_run):
    hist = job(disk_run["results"], "biolatency")
    assert hist["kind"] == "histogram" and hist["unit"] == "usecs"
    for name, host in hist["hosts"].items():
        assert sum(host["slots"]) >= WRITES, name
    width = max(len(h["slots"]) for h in hist["hosts"].values())
    summed = [
        sum(h["slots"][i] if i < len(h["slots"]) else 0 for h in hist["hosts"].values())
        for i in range(width)
    ]
    assert hist["fleet"]["slots"] == summed


def test_biosnoop_shows_dd_with_sane_sizes(disk_run):
    events = job(disk_run["results"], "biosnoop")
    assert events["kind"] == "events"
    writes = [e for e in events["events"] if "W" in e["rwbs"]]
    by_host = {}
    for e in writes:
        by_host.setdefault(e["host"], []).append(e)
    assert set(by_host) == set(disk_run["results"]["hosts"])
    for host, evs in by_host.items():
        mine = [e for e in evs if e["pid"] == disk_run["dd_pid"]]
        need = expected_seen(events, host, WRITES)
        assert len(mine) >= need, (host, len(mine), events["missed_runs"])
        assert all(e["comm"] == "dd" and e["bytes"] == 4096 for e in mine)
        assert all(0 < e["lat_us"] < 5_000_000 for e in mine)
    assert all(e["comm"] == "dd" for e in events["events"])
    stamps = [e["ts_ns"] for e in events["events"]]
    assert stamps == sorted(stamps)
    hosts = disk_run["results"]["hosts"]
    for e in events["events"]:
        w = hosts[e["host"]]["window"]
        assert w["start_ns"] <= e["ts_ns"] <= w["end_ns"]


def test_window_start_spread_under_50ms(disk_run):
    starts = [h["window"]["start_ns"] for h in disk_run["results"]["hosts"].values()]
    assert max(starts) - min(starts) < 50_000_000


def test_nothing_left_loaded_after_the_run(disk_run):
    assert agent_pids() == []
    assert not (bpf_prog_ids() - disk_run["bpf_before"])


def test_sigint_mid_window(ssh_fleet, tmp_path):
    inv = write_inventory(tmp_path / "inv.yaml", ssh_fleet)
    pb = write_playbook(
        tmp_path / "pb.yaml", "  - job: biolatency\n", duration="60s", hosts="fleet"
    )
    before = bpf_prog_ids()
    proc = start_fleet(tmp_path / "runs", "run", str(pb), "-i", str(inv))
    run_dir = wait_for_window(tmp_path / "runs", len(ssh_fleet.hosts))
    sent = time.monotonic()
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=30)
    assert proc.returncode == 99
    deadline = sent + 5
    while time.monotonic() < deadline and (agent_pids() or bpf_prog_ids() - before):
        time.sleep(0.1)
    assert agent_pids() == []
    assert not (bpf_prog_ids() - before)
    import json

    results = json.loads((run_dir / "results.json").read_text())
    assert results["run"]["interrupted"] is True
    assert {h["outcome"] for h in results["hosts"].values()} == {"interrupted"}
    assert all(
        h["window"]["end_ns"] - h["window"]["start_ns"] < 30e9
        for h in results["hosts"].values()
    )
