"""The real `fleet` CLI in a subprocess: pattern warnings and errors,
--list-hosts and --syntax-check contacting no host, ansible.cfg and
ANSIBLE_INVENTORY supplying the inventory.

Hosts point at a loopback listener (127.0.51.1) that counts connections, so
"no host contacted" is observed, not assumed; one run without those options
shows the listener does see a contact.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
ADDRESS = "127.0.51.1"  # this test file's own loopback address
PLAYBOOK = "name: t\nhosts: all\nduration: 1s\njobs:\n  - job: opensnoop\n"


class Listener:
    """A TCP listener that accepts and closes connections, counting them."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind((ADDRESS, 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            conn.close()

    def close(self):
        self.sock.close()


@pytest.fixture
def listener():
    server = Listener()
    yield server
    server.close()


@pytest.fixture
def work(tmp_path, listener) -> Path:
    """A working folder with an inventory of two hosts at the listener."""
    (tmp_path / "hosts.ini").write_text(
        "[web]\n"
        f"host1 ansible_host={ADDRESS} ansible_port={listener.port}\n"
        f"host2 ansible_host={ADDRESS} ansible_port={listener.port}\n")
    (tmp_path / "pb.yaml").write_text(PLAYBOOK)
    (tmp_path / "empty.cfg").write_text("")
    return tmp_path


def fleet(work: Path, *args: str, env: dict | None = None, cfg: bool = True):
    """Run `python -m fleet ARGS` in work; (exit code, stdout, stderr)."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    base["PYTHONPATH"] = str(REPO_ROOT)
    if cfg:
        base["ANSIBLE_CONFIG"] = str(work / "empty.cfg")
    done = subprocess.run([sys.executable, "-m", "fleet", *args], cwd=work,
                          env={**base, **(env or {})}, capture_output=True,
                          text=True, timeout=120)
    assert "Traceback" not in done.stderr, done.stderr
    return done.returncode, done.stdout, done.stderr


def test_unmatched_pattern_part_warns_and_the_rest_runs(work, listener):
    code, out, err = fleet(work, "trace", "syncsnoop", "-i", "hosts.ini",
                           "host1:hots2", "--list-hosts")
    assert code == 0, err
    assert out == "  hosts (1):\n    host1\n"
    assert "fleet: warning: could not match supplied host pattern, ignoring: " \
        "hots2" in err
    assert listener.accepted == 0


@pytest.mark.parametrize("argv", [
    ["trace", "syncsnoop", "nosuch", "-i", "hosts.ini"],
    ["run", "pb.yaml", "-i", "hosts.ini", "-l", "nosuch"],
    ["check", "--hosts", "nosuch", "-i", "hosts.ini"],
    ["inventory", "-i", "hosts.ini", "nosuch"],
    ["inventory", "--list", "-i", "hosts.ini", "nosuch"],
])
def test_pattern_leaving_no_host_is_an_error(work, listener, argv):
    code, out, err = fleet(work, *argv)
    err = " ".join(err.split())  # stderr is wrapped at 80 columns
    assert code == 1
    assert "fleet: no host matches the host pattern" in err
    assert "nosuch" in err and "in inventory hosts.ini" in err
    assert out == "" and not (work / "runs").exists()
    assert listener.accepted == 0


def test_list_hosts_on_run_contacts_no_host(work, listener):
    code, out, err = fleet(work, "run", "pb.yaml", "-i", "hosts.ini", "--list-hosts")
    assert (code, out) == (0, "  hosts (2):\n    host1\n    host2\n"), err
    code, out, err = fleet(work, "run", "pb.yaml", "-i", "hosts.ini", "--list-hosts",
                           "--json")
    assert (code, out) == (0, '{\n  "hosts": [\n    "host1",\n    "host2"\n  ]\n}\n')
    assert listener.accepted == 0 and not (work / "runs").exists()


def test_syntax_check_renders_every_job_and_contacts_no_host(work, listener):
    code, out, err = fleet(work, "run", "pb.yaml", "-i", "hosts.ini",
                           "--syntax-check", "-p", "opensnoop.comm=sync")
    assert code == 0, err
    assert out == ("playbook: pb.yaml: syntax ok; 1 job(s) rendered (opensnoop) "
                   "for 2 host(s); no host contacted\n")
    code, out, err = fleet(work, "run", "pb.yaml", "-i", "hosts.ini",
                           "--syntax-check", "-p", 'opensnoop.comm=a"b')
    assert code == 1 and "param 'comm' of job 'opensnoop'" in err
    assert listener.accepted == 0 and not (work / "runs").exists()


def test_a_real_run_does_contact_the_listener(work, listener):
    """The control: without --list-hosts the same hosts are contacted."""
    (work / "known_hosts").write_text("")
    code, out, err = fleet(work, "trace", "syncsnoop", "-i", "hosts.ini", "-T", "3",
                           "--known-hosts", str(work / "known_hosts"), "--json",
                           "-e", "ansible_user=nobody",
                           "--runs", str(work / "runs"))
    assert code == 4, err  # the listener is no SSH server: unreachable
    assert listener.accepted >= 2


def test_ansible_cfg_and_ansible_inventory_supply_the_inventory(work, listener):
    os.chmod(work, 0o755)  # Ansible ignores ./ansible.cfg in world-writable folders
    (work / "ansible.cfg").write_text("[defaults]\ninventory = hosts.ini\n")
    code, out, err = fleet(work, "trace", "syncsnoop", "--list-hosts", cfg=False)
    assert (code, out) == (0, "  hosts (2):\n    host1\n    host2\n"), err
    (work / "other.ini").write_text("[db]\ndb1\n")
    code, out, err = fleet(work, "inventory", "--graph", cfg=False,
                           env={"ANSIBLE_INVENTORY": "other.ini"})
    assert (code, out) == (0, "@all:\n  |--@ungrouped:\n  |--@db:\n  |  |--db1\n")
    code, out, err = fleet(work, "trace", "syncsnoop", "--list-hosts", "-v",
                           cfg=False, env={"ANSIBLE_CONFIG": str(work / "nope.cfg")})
    assert code == 0
    assert "ANSIBLE_CONFIG names" in err and f"Using {work}/ansible.cfg" in err


def test_extra_vars_override_inventory_vars(work):
    code, out, err = fleet(work, "inventory", "-i", "hosts.ini", "--host", "host1",
                           "-e", "ansible_port=2222", "-e", '{"n": [1]}')
    assert code == 0, err
    assert '"ansible_port": "2222"' in out and '"n": [\n        1\n    ]' in out
