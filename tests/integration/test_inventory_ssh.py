"""End to end over real sshd hosts: the connection settings come from an
inventory folder's group_vars/host_vars, or from ansible.cfg (in the working
directory, or named by ANSIBLE_CONFIG); every host ends ok with its data."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from fleetrun import REPO_ROOT, fleet_cmd, host_names, job_named

pytestmark = [pytest.mark.ssh, pytest.mark.kernel]


def fleet_json(cwd: Path, runs: Path, *args: str, env: dict | None = None) -> dict:
    """`fleet ARGS --json` in cwd with no ANSIBLE_* but env's; its results."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    base["PYTHONPATH"] = str(REPO_ROOT)
    done = subprocess.run(fleet_cmd(*args, "--json", "--runs", str(runs)), cwd=cwd,
                          env={**base, **(env or {})}, capture_output=True,
                          text=True, timeout=240)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def assert_ok_with_data(results: dict, fleet) -> None:
    """Every fleet host ok, and each one's runqlat histogram holds samples."""
    hosts = results["hosts"]
    assert list(hosts) == host_names(fleet)
    assert all(h["outcome"] == "ok" for h in hosts.values()), hosts
    latency = job_named(results, "runqlat")
    assert all(latency["hosts"][name]["count"] > 0 for name in hosts)


def write_bare_hosts(path: Path, fleet, vars_: dict | None = None) -> None:
    """A YAML inventory naming the fleet's hosts with their address and port only,
    plus vars_ for all."""
    lines = ["all:"]
    if vars_:
        lines += ["  vars:"] + [f"    {k}: {v}" for k, v in vars_.items()]
    lines += ["  children:", "    fleet:", "      hosts:"]
    for host in fleet.hosts:
        lines += [f"        {host['name']}:",
                  f"          ansible_host: {host['address']}",
                  f"          ansible_port: {host['port']}"]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")


def test_inventory_folder_with_group_vars_and_host_vars(ssh_fleet, tmp_path):
    inv = tmp_path / "inventory"
    (inv / "group_vars").mkdir(parents=True)
    (inv / "host_vars").mkdir()
    (inv / "10-fleet.ini").write_text(
        "[fleet]\n" + "".join(f"{h['name']}\n" for h in ssh_fleet.hosts))
    (inv / "hosts.bak").write_text("[fleet]\nghost ansible_host=127.0.51.9\n")
    (inv / "group_vars" / "all.yml").write_text(
        f"ansible_ssh_private_key_file: {ssh_fleet.client_key_path}\n"
        f"fleet_known_hosts: {ssh_fleet.known_hosts_path}\n"
        "ansible_python_interpreter: /usr/bin/python3\n")
    (inv / "group_vars" / "fleet").mkdir()
    (inv / "group_vars" / "fleet" / "login.yml").write_text("ansible_user: root\n")
    for host in ssh_fleet.hosts:
        (inv / "host_vars" / f"{host['name']}.yml").write_text(
            f"ansible_host: {host['address']}\nansible_port: {host['port']}\n")
    results = fleet_json(tmp_path, tmp_path / "runs", "trace", "runqlat",
                         "-i", str(inv), "fleet", "-d", "1s")
    assert_ok_with_data(results, ssh_fleet)


def test_ansible_cfg_in_the_working_directory(ssh_fleet, tmp_path):
    work = tmp_path / "work"
    write_bare_hosts(work / "hosts.yaml", ssh_fleet,
                     {"fleet_known_hosts": ssh_fleet.known_hosts_path})
    os.chmod(work, 0o755)
    (work / "ansible.cfg").write_text(
        "[defaults]\ninventory = hosts.yaml\nremote_user = root\n"
        f"private_key_file = {ssh_fleet.client_key_path}\nforks = 2\n")
    results = fleet_json(work, tmp_path / "runs", "trace", "runqlat", "-d", "1s")
    assert_ok_with_data(results, ssh_fleet)
    assert results["run"]["forks"] == 2


def test_ansible_cfg_named_by_ansible_config(ssh_fleet, tmp_path):
    conf = tmp_path / "conf"
    write_bare_hosts(conf / "inv" / "hosts.yaml", ssh_fleet,
                     {"fleet_known_hosts": ssh_fleet.known_hosts_path})
    # inventory is relative to the config file's folder, not the working one.
    (conf / "fleet.cfg").write_text(
        "[defaults]\ninventory = inv/hosts.yaml\nremote_user = root\n"
        f"private_key_file = {ssh_fleet.client_key_path}\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o755)
    results = fleet_json(elsewhere, tmp_path / "runs", "trace", "runqlat", "-d", "1s",
                         env={"ANSIBLE_CONFIG": str(conf / "fleet.cfg")})
    assert_ok_with_data(results, ssh_fleet)
