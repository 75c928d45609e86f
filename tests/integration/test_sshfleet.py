"""The simulated fleet (scripts/sshfleet.py) against the real OpenSSH client."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sshfleet

pytestmark = pytest.mark.ssh

SCRIPT = Path(sshfleet.__file__).resolve()


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def _our_sshd_pids(fleet_dir: Path) -> set[int]:
    """Every live sshd whose cmdline or open files mention fleet_dir."""
    needle = str(fleet_dir.resolve())
    found = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        pid = int(entry)
        try:
            if os.path.basename(os.readlink(f"/proc/{pid}/exe")) != "sshd":
                continue
            cmdline = open(f"/proc/{pid}/cmdline", "rb").read().decode(errors="replace")
            fds = [
                os.readlink(f"/proc/{pid}/fd/{fd}")
                for fd in os.listdir(f"/proc/{pid}/fd")
            ]
        except OSError:
            continue
        if (needle in cmdline or any(needle in t for t in fds)) and _alive(pid):
            found.add(pid)
    return found


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )


# ---------------------------------------------------------------------------
# the session fleet


def test_every_host_accepts_the_client_key(ssh_fleet):
    assert [h["name"] for h in ssh_fleet.hosts] == ["host1", "host2", "host3"]
    for host in ssh_fleet.hosts:
        proc = ssh_fleet.ssh(host, "true")
        assert proc.returncode == 0, (host, proc.stderr)


def test_literal_ssh_command_and_remote_address(ssh_fleet):
    """The exact client command a person would type, per host."""
    for host in ssh_fleet.hosts:
        argv = [
            "ssh",
            "-i", str(ssh_fleet.client_key_path),
            "-o", f"UserKnownHostsFile={ssh_fleet.known_hosts_path}",
            "-o", "StrictHostKeyChecking=yes",
            "-o", "BatchMode=yes",
            "-p", str(host["port"]),
            f"root@{host['address']}",
            "echo $SSH_CONNECTION; id -u",
        ]  # fmt: skip
        proc = subprocess.run(
            argv,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert proc.returncode == 0, proc.stderr
        conn, uid = proc.stdout.split("\n")[:2]
        # SSH_CONNECTION = client_ip client_port server_ip server_port
        assert conn.split()[2:] == [host["address"], str(host["port"])]
        assert uid == "0"


def test_bad_key_host_is_refused(ssh_fleet, bad_key_host):
    proc = ssh_fleet.ssh(bad_key_host, "true")
    assert proc.returncode == 255
    assert "Host key verification failed" in proc.stderr
    # ... and it is refused for its key, not because it is down.
    assert sshfleet.ssh_banner(bad_key_host["address"], bad_key_host["port"])


def test_files_in_the_fleet_dir(ssh_fleet):
    known = ssh_fleet.known_hosts_path.read_text().splitlines()
    all_hosts = ssh_fleet.hosts + ssh_fleet.bad_key_hosts
    assert len(known) == len(all_hosts)
    for line, host in zip(known, all_hosts):
        name = (
            host["address"]
            if host["port"] == 22
            else f"[{host['address']}]:{host['port']}"
        )
        fields = line.split()
        assert fields[0] == name and fields[1] == "ssh-ed25519"
        assert fields[2].startswith("AAAA")
    key = ssh_fleet.client_key_path
    assert key.is_file() and key.with_name("id_ed25519.pub").is_file()
    assert key.stat().st_mode & 0o077 == 0


def test_inventory_is_ansible_yaml(ssh_fleet):
    yaml = pytest.importorskip("yaml")
    inv = yaml.safe_load(ssh_fleet.inventory_path.read_text())
    fleet = inv["all"]["children"]["fleet"]
    assert fleet["vars"]["fleet_known_hosts"] == str(ssh_fleet.known_hosts_path)
    assert list(fleet["hosts"]) == ["host1", "host2", "host3"]
    for host in ssh_fleet.hosts:
        hv = fleet["hosts"][host["name"]]
        assert hv["ansible_host"] == host["address"]
        assert hv["ansible_port"] == host["port"]
        assert hv["ansible_user"] == "root"
        assert hv["ansible_ssh_private_key_file"] == str(ssh_fleet.client_key_path)
        assert Path(hv["ansible_ssh_private_key_file"]).is_absolute()
        assert hv["ansible_python_interpreter"] == "/usr/bin/python3"
    bad = inv["all"]["children"]["badkey"]
    assert list(bad["hosts"]) == ["badhost"]


def test_sshd_logs_the_logins(ssh_fleet):
    assert ssh_fleet.ssh("host1", "true").returncode == 0
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        log = ssh_fleet.log_path("host1").read_text()
        if "Accepted publickey for root" in log:
            break
        time.sleep(0.05)
    assert "Accepted publickey for root" in log


# ---------------------------------------------------------------------------
# stopping: private fleets


def test_stop_leaves_none_of_our_pids(fresh_ssh_fleet):
    fleet = fresh_ssh_fleet(2)
    listeners = fleet.pids
    assert all(_alive(p) for p in listeners)
    # A live session: its per-connection sshd must die with the fleet too.
    held = subprocess.Popen(
        fleet.ssh_argv("host1", "sleep 30"),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while len(_our_sshd_pids(fleet.directory)) <= len(listeners):
            assert time.monotonic() < deadline, "session never appeared"
            assert held.poll() is None
            time.sleep(0.05)
        ours = _our_sshd_pids(fleet.directory)
        killed = fleet.stop()
        assert ours <= set(killed)
        assert not any(_alive(p) for p in ours)
        assert not _our_sshd_pids(fleet.directory)
        assert held.wait(timeout=10) != 0  # the client saw its server go
    finally:
        if held.poll() is None:
            held.kill()
            held.wait()
    assert fleet.stop() == []  # idempotent


def test_context_manager_stops(tmp_path):
    sshfleet_dir = tmp_path / "cm"
    base = sshfleet.pick_base_address(1, 22, [f"127.0.{i}.0" for i in range(40, 60)])
    with sshfleet.SSHFleet(sshfleet_dir, base_address=base) as fleet:
        fleet.start(1)
        pids = fleet.pids
        assert fleet.ssh("host1", "true").returncode == 0
    assert not any(_alive(p) for p in pids)
    assert not _our_sshd_pids(sshfleet_dir)


def test_cli_start_stop_restart(tmp_path):
    d = tmp_path / "cli"
    try:
        for _ in range(3):  # another session may take the same free range
            base = sshfleet.pick_base_address(
                2, 22, [f"127.0.{i}.0" for i in range(60, 80)]
            )
            first = _cli("start", "--dir", str(d), "-n", "2", "--base-address", base)
            if "already in use" not in first.stderr:
                break
        assert first.returncode == 0, first.stderr
        assert first.stdout.strip() == str((d / "inventory.yaml").resolve())
        _, entries = sshfleet._read_pids(d)
        pids1 = [pid for pid, _, _ in entries]
        assert len(pids1) == 2 and all(_alive(p) for p in pids1)

        # Starting again on the same dir replaces the running fleet.
        second = _cli("start", "--dir", str(d), "-n", "2", "--base-address", base)
        assert second.returncode == 0, second.stderr
        assert not any(_alive(p) for p in pids1)
        _, entries = sshfleet._read_pids(d)
        pids2 = [pid for pid, _, _ in entries]
        assert all(_alive(p) for p in pids2)

        # A detached fleet is reachable by anyone holding the fleet dir.
        host2 = {"name": "host2", "address": sshfleet.loopback_address(base, 2)}
        host2["port"] = 22
        assert sshfleet.SSHFleet(d).ssh(host2, "true").returncode == 0

        assert _cli("status", "--dir", str(d)).returncode == 0
        stop = _cli("stop", "--dir", str(d))
        assert stop.returncode == 0, stop.stderr
        assert not any(_alive(p) for p in pids2)
        assert not _our_sshd_pids(d)
        again = _cli("stop", "--dir", str(d))
        assert again.returncode == 0, again.stderr
    finally:
        sshfleet.stop_dir(d)


def test_stop_spares_processes_it_did_not_start(tmp_path):
    """A recorded pid that is no longer our sshd (pid reuse) is left alone."""
    d = tmp_path / "foreign"
    d.mkdir()
    bystander = subprocess.Popen(["sleep", "60"], start_new_session=True)
    try:
        (d / "pids").write_text(
            f"# id test\n{bystander.pid} host1 {d / 'hosts/host1/sshd_config'}\n"
        )
        assert sshfleet.stop_dir(d) == []
        time.sleep(0.1)
        assert bystander.poll() is None
    finally:
        os.kill(bystander.pid, signal.SIGKILL)
        bystander.wait()


def test_busy_address_is_reported(ssh_fleet, tmp_path):
    fleet = sshfleet.SSHFleet(
        tmp_path / "clash",
        base_address=sshfleet.loopback_address(ssh_fleet.hosts[0]["address"], -1),
        port=ssh_fleet.hosts[0]["port"],
    )
    with pytest.raises(sshfleet.FleetError, match="already in use"):
        fleet.start(1)
    assert fleet.pids == []


def test_per_host_ports_forwarding_env_and_users(fresh_ssh_fleet, tmp_path):
    fleet = fresh_ssh_fleet(2, ports=[2411, 2417], tcp_forwarding={"host2"},
                            session_env={"host1": {"FLEET_TEST_MARK": "m1"}})
    assert [h["port"] for h in fleet.hosts] == [2411, 2417]
    names = [line.split()[0] for line in fleet.known_hosts_path.read_text().split("\n")
             if line]
    assert names == [f"[{h['address']}]:{h['port']}" for h in fleet.hosts]
    assert fleet.ssh("host1", "echo $FLEET_TEST_MARK").stdout == "m1\n"
    assert fleet.ssh("host2", "echo ${FLEET_TEST_MARK:-none}").stdout == "none\n"
    configs = [Path(h) for h in sorted(
        str(p) for p in (fleet.directory / "hosts").glob("*/sshd_config"))]
    assert ["AllowTcpForwarding no" in c.read_text() for c in configs] == [True, False]
    user = f"sshfleet-t{os.getpid() % 100000}"
    fleet.add_user(user, home=False)
    argv = fleet.ssh_argv("host1", "id -un")
    argv[argv.index(f"root@{fleet.hosts[0]['address']}")] = \
        f"{user}@{fleet.hosts[0]['address']}"
    done = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    assert done.stdout == f"{user}\n", done.stderr
    fleet.stop()
    assert subprocess.run(["id", user], capture_output=True).returncode != 0
