"""The qemu guest itself: the fixture's interface, strict host keys, a guest
that reaches nothing but its forwarded sshd, its clock, and the CLI's status."""

from __future__ import annotations

import subprocess
import sys

import pytest
import sshfleet
import vmfleet

pytestmark = pytest.mark.vm


def test_fixture_interface(vm_fleet):
    assert vm_fleet.hosts == [{"name": "vm1", "address": vm_fleet.address,
                               "port": vm_fleet.port}]
    assert vm_fleet.inventory_path.is_file() and vm_fleet.client_key_path.is_file()
    done = vm_fleet.ssh("vm1", "uname", "-r")
    assert done.returncode == 0 and done.stdout.strip() == vm_fleet.kernel
    assert vm_fleet.kernel.startswith("6.1.")
    argv = vm_fleet.ssh_argv("vm1", "true")
    assert argv[0] == "ssh" and argv[-2:] == [f"root@{vm_fleet.address}", "true"]
    assert argv[argv.index("-p") + 1] == str(vm_fleet.port)
    assert "StrictHostKeyChecking=yes" in argv
    assert vm_fleet.ssh(vm_fleet.hosts[0], "cat", "/etc/hostname").stdout == "vm1\n"


def test_known_hosts_holds_the_built_key_and_is_enforced(vm_fleet, tmp_path):
    name = sshfleet.known_hosts_name(vm_fleet.address, vm_fleet.port)
    assert vm_fleet.known_hosts_path.read_text().startswith(f"{name} ssh-ed25519 ")
    decoy = tmp_path / "decoy"
    sshfleet.keygen(decoy, "decoy")
    wrong = tmp_path / "known_hosts"
    wrong.write_text(f"{name} {sshfleet.public_key(decoy)}\n")
    argv = sshfleet.ssh_client_argv(vm_fleet.client_key_path, wrong,
                                    vm_fleet.address, vm_fleet.port, "true")
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert done.returncode == 255
    assert "Host key verification failed" in done.stderr


def test_guest_reaches_nothing(vm_fleet):
    # restrict=on: not even qemu's own gateway (the host) answers the guest.
    probe = ("import socket\ntry:\n socket.create_connection(('10.0.2.2', 22), 3)\n"
             " print('reached')\nexcept OSError as e:\n print('refused', e)")
    done = vm_fleet.ssh("vm1", "python3", "-c", f'"{probe}"')
    assert done.returncode == 0 and done.stdout.startswith("refused"), done


def test_clock_set_from_the_host(vm_fleet):
    # The guest's RTC starts it up to a second off; windows are pinned in
    # wall-clock time, so the fixture set it within a few ms of ours.
    assert abs(vm_fleet.timings["clock_offset_ms"]) < 50, vm_fleet.timings


def test_cli_status_of_the_running_guest(vm_fleet):
    script = vmfleet.__file__
    done = subprocess.run([sys.executable, script, "status", "--dir",
                           str(vm_fleet.directory)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    fields = done.stdout.split("\t")
    assert fields[0] == "vm1" and fields[2] == "running"
    assert fields[3] == f"{vm_fleet.address}:{vm_fleet.port}"
    assert fields[4].strip() == vm_fleet.kernel
