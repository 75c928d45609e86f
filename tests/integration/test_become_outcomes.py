"""Become (sudo, -b, -K) and the outcomes become-failed, cache-error and
connection-lost, each provoked for real over real sshd.

Test users are created by the fixture (useradd, a sudoers rule) and removed
after the module; every fleet host lets any user in with the fleet's client
key (one shared AuthorizedKeysFile).
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import sys
import time
from pathlib import Path

import pytest
import sshfleet
from fleetrun import agent_pids, run_dir_of, start_fleet, wait_for_window

from fleet.results import load_results

pytestmark = [pytest.mark.ssh, pytest.mark.kernel]

TRACE = ("trace", "syncsnoop", "-d", "1s")
PASSWORD = "pw-" + secrets.token_hex(6)


@pytest.fixture(scope="module")
def users(tmp_path_factory, ssh_fleet):
    """{role: user name}: sudo with a password, sudo without, no home directory.

    Each logs in to the session fleet with its client key.
    """
    record = tmp_path_factory.mktemp("users")
    tag = secrets.token_hex(3)
    names = {
        "password": f"sshfleet-pw-{tag}",
        "nopasswd": f"sshfleet-np-{tag}",
        "nohome": f"sshfleet-nh-{tag}",
    }
    keys = ssh_fleet.authorized_keys_path.read_text()
    try:
        sshfleet.create_user(record, names["password"], keys, password=PASSWORD,
                             sudo="ALL=(ALL) ALL")
        sshfleet.create_user(record, names["nopasswd"], keys,
                             sudo="ALL=(ALL) NOPASSWD: ALL")
        sshfleet.create_user(record, names["nohome"], keys, home=False)
        yield names
    finally:
        sshfleet.remove_users(record)


def inventory(path: Path, fleet, hosts: dict[str, dict]) -> Path:
    """An INI inventory: each host on the fleet's first host, with its vars."""
    target = fleet.hosts[0]
    lines = ["[targets]"]
    for name, hostvars in hosts.items():
        words = [f"ansible_host={target['address']}", f"ansible_port={target['port']}",
                 f"ansible_ssh_private_key_file={fleet.client_key_path}",
                 f"fleet_known_hosts={fleet.known_hosts_path}"]
        words += [f"{k}={v}" for k, v in hostvars.items()]
        lines.append(" ".join([name, *words]))
    path.write_text("\n".join(lines) + "\n")
    return path


def no_password_anywhere(run_dir: Path) -> None:
    for path in run_dir.rglob("*"):
        if path.is_file():
            assert PASSWORD not in path.read_text(errors="replace"), path


def test_become_with_password_nopasswd_and_no_home(ssh_fleet, users, tmp_path):
    from fleetrun import run_fleet

    inv = inventory(tmp_path / "inv.ini", ssh_fleet, {
        "asked": {"ansible_user": users["password"]},
        "wrong": {"ansible_user": users["password"],
                  "ansible_become_password": "not-" + PASSWORD},
        "nopasswd": {"ansible_user": users["nopasswd"]},
        "nohome": {"ansible_user": users["nohome"], "ansible_become": "no"},
    })
    run = run_fleet(tmp_path / "runs", *TRACE, "-i", str(inv), "-b", "-K",
                    input=PASSWORD + "\n")
    assert run.code == 2, run.stderr
    hosts = run.results["hosts"]
    for name in ("asked", "nopasswd"):  # sudo took the agent to root
        assert hosts[name]["outcome"] == "ok", hosts[name]["reason"]
        assert hosts[name]["facts"]["euid"] == 0
        assert hosts[name]["jobs"]["syncsnoop"]["status"] == "ok"
    wrong = hosts["wrong"]
    assert wrong["outcome"] == "become-failed"
    assert wrong["reason"].startswith("sudo refused the become password")
    nohome = hosts["nohome"]
    assert nohome["outcome"] == "cache-error"
    assert f"/nonexistent/{users['nohome']}" in nohome["reason"]
    assert "(ENOENT)" in nohome["reason"]
    no_password_anywhere(run.run_dir)


def test_become_without_password_or_without_sudo(ssh_fleet, fresh_ssh_fleet, users,
                                                 tmp_path):
    from fleetrun import run_fleet

    # A host whose sessions find no sudo on PATH (as on a host without it).
    tools = tmp_path / "bin"
    tools.mkdir()
    # What fleet's own commands use (the cache check, upload, kill), but no sudo.
    for tool in ("sh", "mkdir", "chmod", "ls", "cat", "mv", "rm", "id", "stat",
                 "sha256sum", "tr", "grep", "kill"):
        os.symlink(shutil.which(tool), tools / tool)
    bare = fresh_ssh_fleet(1, session_env={"host1": {"PATH": str(tools)}})
    inv = inventory(tmp_path / "inv.ini", ssh_fleet, {
        "needs-password": {"ansible_user": users["password"], "ansible_become": "yes"},
    })
    nosudo = inventory(tmp_path / "inv2.ini", bare, {
        "nosudo": {"ansible_user": "root", "ansible_become": "yes"}})
    run = run_fleet(tmp_path / "runs", *TRACE, "-i", str(inv))
    assert run.code == 2, run.stderr
    host = run.results["hosts"]["needs-password"]
    assert host["outcome"] == "become-failed"
    assert "sudo needs a password: give it with -K" in host["reason"]
    run = run_fleet(tmp_path / "runs2", *TRACE, "-i", str(nosudo))
    assert run.code == 2, run.stderr
    host = run.results["hosts"]["nosudo"]
    assert host["outcome"] == "become-failed"
    assert host["reason"].startswith("sudo is not installed on the host")


def _session_pid_serving(address: str) -> int:
    """The sshd session process whose child is an agent connected to address."""
    for pid in agent_pids():
        try:
            environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
            parent = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1]
                         .split()[1])
        except (OSError, ValueError):
            continue
        conn = next((e for e in environ if e.startswith(b"SSH_CONNECTION=")), b"")
        if conn.split()[2:3] == [address.encode()]:
            exe = os.readlink(f"/proc/{parent}/exe")
            assert os.path.basename(exe) == "sshd", exe
            return parent
    raise AssertionError(f"no agent connected to {address}")


def test_killed_ssh_session_is_connection_lost(ssh_fleet, tmp_path):
    from fleetrun import write_inventory

    inv = write_inventory(tmp_path / "inv.yaml", ssh_fleet)
    victim, other = ssh_fleet.hosts[1], ssh_fleet.hosts[0]
    runs = tmp_path / "runs"
    proc = start_fleet(runs, "trace", "syncsnoop", f"{victim['name']}:{other['name']}",
                       "-d", "4s", "-i", str(inv))
    try:
        wait_for_window(runs, 2, timeout=60)
        os.kill(_session_pid_serving(victim["address"]), signal.SIGKILL)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 2, err
    results = load_results(run_dir_of(runs) / "results.json")
    lost = results["hosts"][victim["name"]]
    assert lost["outcome"] == "connection-lost", lost["reason"]
    assert "SSH session lost" in lost["reason"]
    assert results["hosts"][other["name"]]["outcome"] == "ok"
    deadline = time.monotonic() + 20  # the agent sees EOF and exits on its own
    while agent_pids() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert agent_pids() == []


def test_check_names_what_a_host_lacks_and_how_to_install_it(fresh_ssh_fleet,
                                                              tmp_path):
    from fleetrun import run_fleet

    # A Python without bcc, and no re-exec into one that has it: a host
    # without python3-bpfcc, as far as the agent can tell.
    python = os.path.realpath(sys.executable)
    bare = fresh_ssh_fleet(1, session_env={"host1": {"FLEET_AGENT_REEXEC": "1"}})
    inv = inventory(tmp_path / "inv.ini", bare, {
        "nobcc": {"ansible_user": "root", "ansible_python_interpreter": python}})
    run = run_fleet(tmp_path / "runs", "check", "-i", str(inv))
    assert run.code == 2, run.stderr
    text = " ".join(run.stdout.split())
    assert "HOSTS NEED nobcc: python module bcc not importable" in text
    release = dict(line.split("=", 1) for line in
                   Path("/etc/os-release").read_text().split("\n") if "=" in line)
    distro = f"{release['ID']} {release['VERSION_ID'].strip(chr(34))}"
    if release["ID"] in ("debian", "ubuntu"):  # this test machine: Debian 12
        assert f"install it with: apt-get install python3-bpfcc ({distro})" in text
    else:
        assert f"({distro})" in text


def test_agent_started_by_a_python_without_bcc_finds_one(ssh_fleet, tmp_path):
    from fleetrun import run_fleet

    python = os.path.realpath(sys.executable)  # the venv's: no bcc
    inv = inventory(tmp_path / "inv.ini", ssh_fleet, {
        "reexec": {"ansible_user": "root", "ansible_python_interpreter": python}})
    run = run_fleet(tmp_path / "runs", *TRACE, "-i", str(inv))
    assert run.code == 0, run.stderr
    host = run.results["hosts"]["reexec"]
    assert host["outcome"] == "ok" and host["facts"]["bcc"]
    assert host["facts"]["python_path"] != python
