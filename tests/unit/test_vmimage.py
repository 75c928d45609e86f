"""scripts/vmimage.py and vmfleet.py without a guest: the recipe hash, the cache's
rules (complete images only, older recipes pruned), the inventory they write,
and a stop that never signals a process that is not our qemu."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import vmfleet
import vmimage

from fleet.inventory import load_inventory

FILES = ("rootfs.ext4", "vmlinuz", "initrd.img", "host_ed25519.pub", "id_ed25519",
         "image.json")


def fake_image(directory: Path, skip: str | None = None) -> vmimage.Image:
    directory.mkdir(parents=True)
    for name in FILES:
        if name != skip:
            (directory / name).write_text("{}" if name == "image.json" else "x")
    return vmimage.Image(directory)


def test_recipe_hash_is_stable():
    assert vmimage.recipe_hash() == vmimage.recipe_hash()
    assert len(vmimage.recipe_hash()) == 16


@pytest.mark.parametrize("name, change", [
    ("PACKAGES", lambda v: (*v, "strace")),
    ("MASKED_UNITS", lambda v: v[:-1]),
    ("CONFIG_FILES", lambda v: {**v, "etc/hostname": "other\n"}),
    ("RECIPE_VERSION", lambda v: v + 1),
    ("IMAGE_SIZE", lambda v: "4G"),
])
def test_recipe_hash_changes_with_the_recipe(monkeypatch, name, change):
    before = vmimage.recipe_hash()
    monkeypatch.setattr(vmimage, name, change(getattr(vmimage, name)))
    assert vmimage.recipe_hash() != before


@pytest.mark.parametrize("missing", FILES)
def test_an_image_missing_any_file_is_not_complete(tmp_path, missing):
    assert not fake_image(tmp_path / "img", skip=missing).complete()
    assert fake_image(tmp_path / "whole").complete()


def test_a_complete_cached_image_is_used_without_building(tmp_path, monkeypatch):
    def no_build(*args):
        raise AssertionError("built although cached")
    monkeypatch.setattr(vmimage, "_build", no_build)
    image = fake_image(vmimage.image_dir(tmp_path))
    assert vmimage.ensure_image(tmp_path).directory == image.directory


def test_a_half_built_image_is_rebuilt_and_older_ones_pruned(tmp_path, monkeypatch):
    current = vmimage.image_dir(tmp_path)
    fake_image(current, skip="rootfs.ext4")  # an interrupted build's leftovers
    fake_image(tmp_path / "debian12-0000000000000000")  # an older recipe
    (tmp_path / f"{current.name}.tmp-abc").mkdir()
    built = []

    def build(image, log):
        built.append(image.directory)
        (image.directory / "rootfs.ext4").write_text("x")
    monkeypatch.setattr(vmimage, "_build", build)
    monkeypatch.setattr(vmimage, "build_prerequisites", lambda: None)
    assert vmimage.ensure_image(tmp_path, log=lambda text: None).complete()
    assert built == [current]
    assert sorted(p.name for p in tmp_path.glob("debian12-*")) == [current.name]


def test_inventory_names_vm1_in_group_vm(tmp_path):
    vm = vmfleet.VMFleet(tmp_path / "vm", address="127.0.55.1", port=2299)
    path = vm.inventory_path
    path.parent.mkdir()
    path.write_text(vm._inventory_text())
    inventory = load_inventory(str(path))
    (host,) = inventory.select("vm", None)
    assert (host.name, host.address, host.port, host.user) == (
        "vm1", "127.0.55.1", 2299, "root")
    assert host.key_file == str(vm.client_key_path)
    assert host.vars["fleet_known_hosts"] == str(vm.known_hosts_path)


def test_only_loopback_addresses(tmp_path):
    with pytest.raises(vmfleet.sshfleet.FleetError, match="loopback"):
        vmfleet.VMFleet(tmp_path, address="10.0.0.1")


def test_stop_never_signals_a_process_that_is_not_our_qemu(tmp_path):
    # A state file naming this very test process: stop must leave it alone.
    state = {"pid": os.getpid(), "pidfile": str(tmp_path / "qemu.pid"),
             "address": "127.0.55.1", "port": 2299}
    (tmp_path / "vm.json").write_text(json.dumps(state))
    assert vmfleet.stop_dir(tmp_path) is False
    assert not (tmp_path / "vm.json").exists()
