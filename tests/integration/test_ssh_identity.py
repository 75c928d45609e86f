"""SSH identity, ssh_config, ProxyJump and host keys, end to end over real sshd.

Each case runs the real CLI as a subprocess with a HOME of its own (so no
~/.ssh of the machine's leaks in) and ends with every host `ok`, or with the
outcome the case provokes, and the host's data in results.json.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from pathlib import Path

import pytest
from fleetrun import run_fleet

pytestmark = [pytest.mark.ssh, pytest.mark.kernel]

TRACE = ("trace", "syncsnoop", "-d", "1s")


@pytest.fixture()
def home(tmp_path) -> Path:
    """An empty HOME with an empty ~/.ssh."""
    path = tmp_path / "home"
    (path / ".ssh").mkdir(parents=True, mode=0o700)
    return path


def bare_env(home: Path) -> dict:
    """No keys but what the test puts there: its HOME, no ssh-agent."""
    return {"HOME": home, "SSH_AUTH_SOCK": None}


def write_ini(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(["[targets]", *lines]) + "\n")
    return path


def traced_ok(host: dict) -> bool:
    """The host ended ok and its window and job are in results.json."""
    return (host["outcome"] == "ok" and host["window"]["end_ns"] > 0
            and host["jobs"]["syncsnoop"]["status"] == "ok")


def log_of(run, name: str) -> str:
    return (run.run_dir / "hosts" / f"{name}.log").read_text()


def test_no_ansible_user_and_only_home_default_key(ssh_fleet, tmp_path, home):
    shutil.copy(ssh_fleet.client_key_path, home / ".ssh" / "id_ed25519")
    (home / ".ssh" / "id_ed25519").chmod(0o600)
    h1, h2 = ssh_fleet.hosts[:2]
    inv = write_ini(tmp_path / "inv.ini", [
        f"{h['name']} ansible_host={h['address']} "
        f"fleet_known_hosts={ssh_fleet.known_hosts_path}" for h in (h1, h2)])
    run = run_fleet(tmp_path / "runs", *TRACE, "-i", str(inv), "--json",
                    env=bare_env(home))
    assert run.code == 0, run.stderr
    hosts = run.results["hosts"]
    assert all(traced_ok(hosts[h["name"]]) for h in (h1, h2))
    log = log_of(run, h1["name"])
    assert f"root@{h1['address']}:22" in log and "user from local user" in log
    assert f"key {home}/.ssh/id_ed25519" in log


def test_keys_only_in_a_real_ssh_agent(ssh_fleet, tmp_path, home):
    sock = tmp_path / "agent.sock"
    started = subprocess.run(["ssh-agent", "-a", str(sock), "-s"],
                             capture_output=True, text=True, check=True)
    pid = int(started.stdout.split("SSH_AGENT_PID=")[1].split(";")[0])
    try:
        env = dict(os.environ, SSH_AUTH_SOCK=str(sock))
        subprocess.run(["ssh-add", str(ssh_fleet.client_key_path)], env=env,
                       check=True, capture_output=True)
        h1 = ssh_fleet.hosts[0]
        inv = write_ini(tmp_path / "inv.ini", [
            f"{h1['name']} ansible_host={h1['address']} ansible_user=root "
            f"fleet_known_hosts={ssh_fleet.known_hosts_path}"])
        with_agent = run_fleet(tmp_path / "runs", *TRACE, "-i", str(inv),
                               env={"HOME": home, "SSH_AUTH_SOCK": sock})
        assert with_agent.code == 0, with_agent.stderr
        assert traced_ok(with_agent.results["hosts"][h1["name"]])
        assert f"ssh-agent {sock}" in log_of(with_agent, h1["name"])
        # The control: the same run without the agent cannot log in.
        without = run_fleet(tmp_path / "runs2", *TRACE, "-i", str(inv),
                            env=bare_env(home))
        assert without.code == 4
        host = without.results["hosts"][h1["name"]]
        assert host["outcome"] == "auth-failed"
        assert "permission denied" in host["reason"]
    finally:
        os.kill(pid, signal.SIGTERM)


@pytest.fixture()
def port_fleet(fresh_ssh_fleet):
    """Three hosts on one address, ports base+1..3; only host1 forwards TCP."""
    return fresh_ssh_fleet(3, port=2300, one_address=True, tcp_forwarding={"host1"})


def test_ssh_config_aliases_and_proxy_jump(port_fleet, tmp_path, home):
    a, b, c = port_fleet.hosts
    (home / ".ssh" / "config").write_text(f"""\
Host jump
  HostName {a['address']}
  Port {a['port']}
Host web2
  HostName {b['address']}
  Port {b['port']}
  ProxyJump jump
Host web3
  HostName {c['address']}
  Port {c['port']}
Host *
  User root
  IdentityFile {port_fleet.client_key_path}
  IdentitiesOnly yes
  UserKnownHostsFile {port_fleet.known_hosts_path}
""")
    inv = write_ini(tmp_path / "inv.ini", [
        "jump",  # ports, users and keys only from ssh_config
        "web2",  # ProxyJump from ssh_config
        'via-args ansible_host=web3 ansible_ssh_common_args="-o ProxyJump=jump"',
        'no-forward ansible_host=web2 ansible_ssh_extra_args="-J web3"',
    ])
    run = run_fleet(tmp_path / "runs", *TRACE, "-i", str(inv), env=bare_env(home))
    assert run.code == 4, run.stderr
    hosts = run.results["hosts"]
    for name in ("jump", "web2", "via-args"):
        assert traced_ok(hosts[name]), (name, hosts[name]["reason"])
    assert hosts["web2"]["address"] == b["address"]
    assert f"root@{b['address']}:{b['port']}" in log_of(run, "web2")
    assert "proxy jump jump" in log_of(run, "web2")
    # web3's sshd refuses TCP forwarding: the hop really carries the connection.
    bad = hosts["no-forward"]
    assert bad["outcome"] == "unreachable"
    assert "via ProxyJump web3" in bad["reason"] and "did not forward" in bad["reason"]


def test_host_keys_unknown_accept_new_and_changed(ssh_fleet, tmp_path, home):
    h1, h2 = ssh_fleet.hosts[:2]
    bad = ssh_fleet.bad_key_hosts[0]
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    key = ssh_fleet.client_key_path
    inv = write_ini(tmp_path / "inv.ini", [
        f"{h1['name']} ansible_host={h1['address']} fleet_known_hosts={empty}",
        f"{bad['name']} ansible_host={bad['address']} "
        f"fleet_known_hosts={ssh_fleet.known_hosts_path}"])
    args = (*TRACE, "-i", str(inv), "-u", "root", "--private-key", str(key))
    refused = run_fleet(tmp_path / "r1", *args, env=bare_env(home))
    assert refused.code == 4
    unknown = refused.results["hosts"][h1["name"]]
    assert unknown["outcome"] == "host-key-failed"
    assert f"ssh-keyscan -p 22 {h1['address']} >> {empty}" in unknown["reason"]
    assert "SHA256:" in unknown["reason"] and empty.read_text() == ""

    accepted = run_fleet(tmp_path / "r2", *args, "--accept-new-host-keys",
                         env=bare_env(home))
    assert traced_ok(accepted.results["hosts"][h1["name"]])
    assert f"{h1['name']}: recorded the new host key of {h1['address']}" in \
        accepted.stderr
    assert empty.read_text().split()[:2] == [h1["address"], "ssh-ed25519"]
    # A key that differs from known_hosts is refused even with accept-new.
    changed = accepted.results["hosts"][bad["name"]]
    assert changed["outcome"] == "host-key-failed"
    assert "does not match" in changed["reason"]

    # StrictHostKeyChecking accept-new in ssh_config does the same.
    other = tmp_path / "known_hosts2"
    (home / ".ssh" / "config").write_text(
        f"Host *\n StrictHostKeyChecking accept-new\n UserKnownHostsFile {other}\n")
    inv2 = write_ini(tmp_path / "inv2.ini", [
        f"{h2['name']} ansible_host={h2['address']}"])
    by_config = run_fleet(tmp_path / "r3", *TRACE, "-i", str(inv2), "-u", "root",
                          "--private-key", str(key), env=bare_env(home))
    assert traced_ok(by_config.results["hosts"][h2["name"]]), by_config.stderr
    assert other.read_text().startswith(f"{h2['address']} ssh-ed25519 ")


def test_missing_key_file_stops_before_any_host(ssh_fleet, tmp_path, home):
    h1 = ssh_fleet.hosts[0]
    inv = write_ini(tmp_path / "inv.ini", [
        f"{h1['name']} ansible_host={h1['address']} "
        f"ansible_ssh_private_key_file={tmp_path}/no_such_key"])
    run = run_fleet(tmp_path / "runs", *TRACE, "-i", str(inv), env=bare_env(home))
    assert run.code == 1 and run.run_dir is None
    assert f"{inv}:2: host '{h1['name']}': ansible_ssh_private_key_file names the " \
           f"key file {tmp_path}/no_such_key" in " ".join(run.stderr.split())
    assert "Traceback" not in run.stderr
