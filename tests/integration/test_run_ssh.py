"""End to end over real sshd hosts: outcomes, exit codes, pushes, host keys."""

from __future__ import annotations

from pathlib import Path

import pytest
from fleetrun import run_fleet, write_inventory, write_playbook

from fleet.bundle import build_bundle

pytestmark = [pytest.mark.ssh, pytest.mark.kernel]

JOBS = "  - job: biolatency\n"


@pytest.fixture()
def playbook(tmp_path: Path) -> Path:
    return write_playbook(tmp_path / "pb.yaml", JOBS, duration="1s")


def test_all_hosts_ok_and_second_run_pushes_nothing(ssh_fleet, tmp_path, playbook):
    cache = Path.home() / ".cache/fleet"
    (cache / build_bundle().name).unlink(missing_ok=True)
    for src in cache.glob("src-*.c"):
        src.unlink()
    inv = write_inventory(tmp_path / "inv.yaml", ssh_fleet)
    first = run_fleet(
        tmp_path / "runs", "run", str(playbook), "-i", str(inv), "--limit", "fleet"
    )
    assert first.code == 0, first.stderr
    hosts = first.results["hosts"]
    assert sorted(hosts) == sorted(h["name"] for h in ssh_fleet.hosts)
    assert all(h["outcome"] == "ok" for h in hosts.values())
    # All hosts share root's cache dir here: together they pushed one bundle or more.
    assert sum(h["bytes_pushed"] for h in hosts.values()) >= len(build_bundle().data)
    second = run_fleet(
        tmp_path / "runs", "run", str(playbook), "-i", str(inv), "--limit", "fleet"
    )
    assert second.code == 0, second.stderr
    assert [h["bytes_pushed"] for h in second.results["hosts"].values()] == [0, 0, 0]


def test_unreachable_host_does_not_spoil_the_others(ssh_fleet, tmp_path, playbook):
    # 127.0.1.250: a loopback address with nothing listening on port 22.
    inv = write_inventory(
        tmp_path / "inv.yaml",
        ssh_fleet,
        extra={"ghost": {"ansible_host": "127.0.1.250"}},
    )
    run = run_fleet(
        tmp_path / "runs", "run", str(playbook), "-i", str(inv), "-l", "fleet"
    )
    assert run.code == 4, run.stderr
    hosts = run.results["hosts"]
    assert hosts["ghost"]["outcome"] == "unreachable"
    assert "127.0.1.250" in hosts["ghost"]["reason"]
    others = [h for n, h in hosts.items() if n != "ghost"]
    assert len(others) == 3 and all(h["outcome"] == "ok" for h in others)
    assert all(h["window"]["end_ns"] > h["window"]["start_ns"] for h in others)
    assert "ghost" in run.stdout and "unreachable" in run.stdout


def test_host_key_mismatch_is_refused(ssh_fleet, tmp_path, playbook):
    bad = ssh_fleet.bad_key_hosts[0]
    inv = write_inventory(
        tmp_path / "inv.yaml",
        ssh_fleet,
        extra={bad["name"]: {"ansible_host": bad["address"]}},
    )
    run = run_fleet(
        tmp_path / "runs", "run", str(playbook), "-i", str(inv), "-l", bad["name"]
    )
    assert run.code == 4, run.stderr
    host = run.results["hosts"][bad["name"]]
    assert host["outcome"] == "host-key-failed"
    assert "known_hosts" in host["reason"]
    assert host["bytes_pushed"] == 0


def test_missing_known_hosts_is_a_host_failure_not_auto_accept(
    ssh_fleet, tmp_path, playbook
):
    inv = write_inventory(
        tmp_path / "inv.yaml", ssh_fleet, known_hosts=tmp_path / "nowhere"
    )
    run = run_fleet(tmp_path / "runs", "run", str(playbook), "-i", str(inv))
    assert run.code == 4
    outcomes = {h["outcome"] for h in run.results["hosts"].values()}
    assert outcomes == {"host-key-failed"}


def test_bad_playbook_is_one_paragraph_with_line(tmp_path):
    pb = tmp_path / "pb.yaml"
    pb.write_text("name: x\nduration: 10 parsecs\njobs:\n  - job: biolatency\n")
    run = run_fleet(tmp_path / "runs", "run", str(pb))
    assert run.code == 1
    assert f"{pb}:2:" in run.stderr
    assert "Traceback" not in run.stderr


def test_local_transport_without_inventory(tmp_path, playbook):
    run = run_fleet(tmp_path / "runs", "run", str(playbook))
    assert run.code == 0, run.stderr
    assert list(run.results["hosts"]) == ["localhost"]
