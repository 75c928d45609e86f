#!/usr/bin/env python3
"""The Debian 12 (kernel 6.1, kprobes) guest image for scripts/vmfleet.py.

One recipe (packages, config files, build steps) makes one image: a root
filesystem built by ``mmdebstrap`` from the host's own Debian sources, put on an
ext4 disk by ``mkfs.ext4 -d`` (no loop mount), next to the kernel and initrd
for qemu's direct boot, the guest's ssh host key and the client key root
accepts. The image lives in a cache directory under a name holding the hash of
its recipe, so a changed recipe builds a new image and an unchanged one is
reused. A build goes into a temporary directory renamed into place at the end:
a half-built image never counts as cached.

Stdlib only; run as root (mmdebstrap --mode=root, chroot).

Cache layout::

    CACHE/debian12-<hash>/rootfs.ext4     the root filesystem (raw ext4)
    CACHE/debian12-<hash>/vmlinuz         the guest kernel
    CACHE/debian12-<hash>/initrd.img      its initramfs (virtio_pci, virtio_blk)
    CACHE/debian12-<hash>/host_ed25519.pub  the guest's ssh host key
    CACHE/debian12-<hash>/id_ed25519      the client key root's authorized_keys holds
    CACHE/debian12-<hash>/image.json      kernel release, build seconds, recipe hash
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import sshfleet  # noqa: E402

# Bump when the build steps change in a way the recipe text does not show.
RECIPE_VERSION = 1
DEFAULT_CACHE = Path("/var/cache/fleet-vm")
SOURCES = Path("/etc/apt/sources.list.d/debian.sources")
SUITE = "bookworm"
IMAGE_SIZE = "3G"  # sparse; the tree is ~0.8 GiB, the rest is room for tests
GUEST_ADDRESS = "10.0.2.15/24"  # qemu user networking's default guest address
GUEST_GATEWAY = "10.0.2.2"
BUILD_TOOLS = ("mmdebstrap", "mkfs.ext4", "qemu-img", "ssh-keygen")

PACKAGES = (
    "systemd-sysv", "udev", "kmod", "iproute2", "procps", "openssh-server",
    "python3", "python3-bpfcc", "initramfs-tools",
    "linux-image-cloud-amd64", "linux-headers-cloud-amd64",
)  # fmt: skip

# Timers and services that would wake up during a test and do disk or CPU work.
MASKED_UNITS = (
    "apt-daily.timer", "apt-daily-upgrade.timer", "apt-daily.service",
    "apt-daily-upgrade.service", "systemd-timesyncd.service", "e2scrub_all.timer",
    "e2scrub_all.service", "e2scrub_reap.service", "fstrim.timer",
    "man-db.timer",
)  # fmt: skip

# Files written into the guest's root filesystem, path -> text.
CONFIG_FILES = {
    "etc/hostname": "vm1\n",
    "etc/hosts": "127.0.0.1 localhost\n127.0.1.1 vm1\n",
    "etc/fstab": "/dev/vda / ext4 rw,errors=remount-ro 0 1\n",
    "etc/systemd/network/10-qemu.network": (
        "[Match]\nName=en* eth*\n\n[Network]\n"
        f"Address={GUEST_ADDRESS}\nGateway={GUEST_GATEWAY}\n"
        "LinkLocalAddressing=no\nIPv6AcceptRA=no\n"
    ),
    "etc/ssh/sshd_config.d/fleet.conf": (
        "HostKey /etc/ssh/ssh_host_ed25519_key\n"
        "PermitRootLogin prohibit-password\n"
        "PasswordAuthentication no\nKbdInteractiveAuthentication no\n"
        "UseDNS no\nMaxStartups 100:30:200\nMaxSessions 50\n"
    ),
    # A small initramfs: only what finds the virtio disk (ext4 is built in).
    "etc/initramfs-tools/conf.d/fleet.conf": "MODULES=list\nCOMPRESS=gzip\n",
    "etc/initramfs-tools/modules": "virtio_pci\nvirtio_blk\n",
}

DPKG_EXCLUDES = (
    "path-exclude=/usr/share/man/*", "path-exclude=/usr/share/doc/*",
    "path-exclude=/usr/share/locale/*", "path-include=/usr/share/locale/locale.alias",
    "path-exclude=/usr/share/info/*",
)  # fmt: skip

__all__ = ["Image", "ImageError", "build_prerequisites", "ensure_image", "recipe_hash"]


class ImageError(RuntimeError):
    """The image could not be built (the message says why)."""


class Image:
    """A built image in the cache: its files and facts."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.rootfs = directory / "rootfs.ext4"
        self.kernel = directory / "vmlinuz"
        self.initrd = directory / "initrd.img"
        self.host_key_pub = directory / "host_ed25519.pub"
        self.client_key = directory / "id_ed25519"
        self.info_path = directory / "image.json"

    @property
    def info(self) -> dict:
        """image.json: kernel release, build seconds, recipe hash."""
        return json.loads(self.info_path.read_text())

    def complete(self) -> bool:
        """True when every file of the image is in place."""
        files = (self.rootfs, self.kernel, self.initrd, self.host_key_pub,
                 self.client_key, self.info_path)
        return all(p.is_file() for p in files)


def build_prerequisites() -> str | None:
    """Why an image cannot be built here, or None if it can."""
    if os.geteuid() != 0:
        return "building the guest image needs root (mmdebstrap --mode=root)"
    missing = [tool for tool in BUILD_TOOLS if shutil.which(tool) is None]
    if missing:
        return f"missing {', '.join(missing)} (bash scripts/install-deps.sh)"
    if not SOURCES.is_file():
        return f"{SOURCES} not found: the guest is built from the host's sources"
    return None


def recipe_hash() -> str:
    """Hash of everything that decides the image's content."""
    recipe = {
        "version": RECIPE_VERSION,
        "suite": SUITE,
        "sources": SOURCES.read_text() if SOURCES.is_file() else "",
        "packages": PACKAGES,
        "masked": MASKED_UNITS,
        "files": CONFIG_FILES,
        "dpkg": DPKG_EXCLUDES,
        "size": IMAGE_SIZE,
    }
    text = json.dumps(recipe, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def image_dir(cache: Path) -> Path:
    """Where the current recipe's image lives in the cache."""
    return cache / f"debian12-{recipe_hash()}"


def ensure_image(cache: Path = DEFAULT_CACHE, log=print) -> Image:
    """The cached image for the current recipe, built first if missing."""
    image = Image(image_dir(cache))
    if image.complete():
        return image
    why = build_prerequisites()
    if why:
        raise ImageError(why)
    cache.mkdir(parents=True, exist_ok=True, mode=0o700)
    # One build at a time; a second builder waits, then finds the image made.
    with open(cache / ".build.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not image.complete():
            _build(image, log)
            _prune(cache, keep=image.directory)
    return image


def _prune(cache: Path, keep: Path) -> None:
    """Remove images of older recipes and leftovers of interrupted builds."""
    for entry in cache.glob("debian12-*"):
        if entry != keep and entry.is_dir():
            shutil.rmtree(entry, ignore_errors=True)


def _build(image: Image, log) -> None:
    """Build every file of image in a temporary directory, then rename it in."""
    started = time.monotonic()
    final = image.directory
    tmp = Path(tempfile.mkdtemp(prefix=final.name + ".tmp-", dir=final.parent))
    try:
        staged = Image(tmp)
        root = tmp / "root"
        sshfleet.keygen(tmp / "host_ed25519", "fleet-vm1")
        sshfleet.keygen(staged.client_key, "fleet-vm-client")
        overlay = _write_overlay(tmp / "overlay", tmp / "host_ed25519",
                                 staged.client_key)
        log(f"vmimage: building {final.name} with mmdebstrap (1-3 minutes)")
        _mmdebstrap(root, overlay, tmp / "mmdebstrap.log")
        release = _copy_boot_files(root, staged)
        log("vmimage: writing the ext4 root filesystem")
        _run(["mkfs.ext4", "-q", "-F", "-L", "fleetroot", "-d", str(root),
              str(staged.rootfs), IMAGE_SIZE], tmp / "mkfs.log")
        shutil.rmtree(root)
        shutil.rmtree(overlay)
        (tmp / "host_ed25519").unlink()
        (tmp / "host_ed25519.pub").rename(staged.host_key_pub)
        seconds = round(time.monotonic() - started, 1)
        staged.info_path.write_text(json.dumps(
            {"kernel": release, "build_s": seconds, "recipe": recipe_hash()}) + "\n")
        if final.exists():
            shutil.rmtree(final)
        tmp.rename(final)
        log(f"vmimage: built {final} (kernel {release}) in {seconds:g}s")
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _write_overlay(overlay: Path, host_key: Path, client_key: Path) -> Path:
    """The files copied over the fresh root filesystem, in a directory tree."""
    for rel, text in CONFIG_FILES.items():
        path = overlay / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    ssh = overlay / "etc/ssh"
    shutil.copy(host_key, ssh / "ssh_host_ed25519_key")
    shutil.copy(host_key.with_name(host_key.name + ".pub"),
                ssh / "ssh_host_ed25519_key.pub")
    (ssh / "ssh_host_ed25519_key").chmod(0o600)
    dot_ssh = overlay / "root/.ssh"
    dot_ssh.mkdir(parents=True, mode=0o700)
    keys = dot_ssh / "authorized_keys"
    keys.write_text(sshfleet.public_key(client_key) + "\n")
    keys.chmod(0o600)
    return overlay


def _mmdebstrap(root: Path, overlay: Path, logfile: Path) -> None:
    """Make the root filesystem tree: packages, then our files and units."""
    masked = " ".join(MASKED_UNITS)
    hooks = [
        f'cp -a {shlex.quote(str(overlay))}/. "$1"/',
        'rm -f "$1"/etc/ssh/ssh_host_rsa_key* "$1"/etc/ssh/ssh_host_ecdsa_key*',
        'chroot "$1" systemctl enable systemd-networkd',
        f'chroot "$1" systemctl mask {masked}',
        'chroot "$1" update-initramfs -u -k all',
    ]
    argv = ["mmdebstrap", "--mode=root", "--variant=minbase",
            "--include=" + ",".join(PACKAGES),
            *(f"--dpkgopt={opt}" for opt in DPKG_EXCLUDES),
            *(f"--customize-hook={hook}" for hook in hooks),
            SUITE, str(root), str(SOURCES)]
    _run(argv, logfile)


def _copy_boot_files(root: Path, image: Image) -> str:
    """Copy the guest's kernel and initrd out of root; return the kernel release."""
    kernels = sorted((root / "boot").glob("vmlinuz-*"))
    if len(kernels) != 1:
        raise ImageError(f"expected one kernel in {root}/boot, found {kernels}")
    release = kernels[0].name[len("vmlinuz-"):]
    shutil.copy(kernels[0], image.kernel)
    shutil.copy(root / "boot" / f"initrd.img-{release}", image.initrd)
    return release


def _run(argv: list[str], logfile: Path) -> None:
    """Run a build step, its output into logfile; ImageError with its tail."""
    with open(logfile, "w") as out:
        done = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=out,
                              stderr=subprocess.STDOUT)
    if done.returncode != 0:
        tail = " | ".join(logfile.read_text(errors="replace").splitlines()[-8:])
        raise ImageError(f"{argv[0]} failed with {done.returncode}: {tail}")


if __name__ == "__main__":
    cache = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_CACHE
    print(ensure_image(cache).directory)
