#!/usr/bin/env python3
"""A second real kernel for the test fleet: a Debian 12 (6.1, kprobes) qemu guest.

The guest boots from the image scripts/vmimage.py builds (once, cached by the hash
of its recipe) through a throwaway qcow2 overlay, so every boot starts from the
same clean disk. qemu runs under TCG (``--accel kvm`` on real hardware), with
user networking restricted to the host: the guest reaches nothing, and its sshd
is forwarded to one loopback address and port (127.0.9.1:2222 by default).
known_hosts holds the host key the build generated, so the client checks it
strictly, and the inventory names the guest ``vm1`` in group ``vm``.

Stdlib only, like scripts/sshfleet.py (whose helpers it uses). Must run as root.

Library use::

    with VMFleet("/tmp/vm") as vm:
        vm.start()
        vm.inventory_path        # /tmp/vm/inventory.yaml
        vm.ssh("vm1", "uname", "-r").stdout
        vm.kernel                # "6.1.0-...-cloud-amd64"

CLI::

    python3 scripts/vmfleet.py start --dir DIR [--address 127.0.9.1] [--port 2222]
                                     [--image-cache DIR] [--accel tcg|kvm]
    python3 scripts/vmfleet.py status --dir DIR
    python3 scripts/vmfleet.py stop --dir DIR

Directory layout::

    DIR/inventory.yaml, known_hosts, id_ed25519   what clients need
    DIR/disk.qcow2        the guest's writes (over the cached image), removed at stop
    DIR/console.log       the guest's serial console
    DIR/qemu.pid          qemu's pid (-pidfile)
    DIR/vm.json           address, port, kernel, image, timings

Stopping powers the guest off over SSH and waits for qemu's pid to go; only if it
does not, that one pid (checked to be our qemu by its command line) is killed.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import sshfleet  # noqa: E402
import vmimage  # noqa: E402

QEMU = "qemu-system-x86_64"
DEFAULT_ADDRESS = "127.0.9.1"
DEFAULT_PORT = 2222
HOST_NAME = "vm1"
GROUP = "vm"
BOOT_TIMEOUT_S = 240.0
POWEROFF_TIMEOUT_S = 60.0
# tsc=reliable: TCG's TSCs look unsynchronised at boot and the kernel would fall
# back to the HPET, making every clock_gettime() a slow emulated syscall.
KERNEL_ARGS = "root=/dev/vda rw console=ttyS0 panic=1 loglevel=4 tsc=reliable"
STATE_FILE = "vm.json"
CLOCK_TOLERANCE_S = 0.001

__all__ = ["VMFleet", "check_prerequisites", "stop_dir"]


def check_prerequisites(image_cache: Path = vmimage.DEFAULT_CACHE) -> str | None:
    """Why the guest cannot run here, or None if it can."""
    if os.geteuid() != 0:
        return "the qemu guest needs root"
    for tool in (QEMU, "qemu-img", "ssh", "ssh-keygen"):
        if shutil.which(tool) is None:
            return f"{tool} not found (bash scripts/install-deps.sh)"
    if vmimage.Image(vmimage.image_dir(image_cache)).complete():
        return None
    why = vmimage.build_prerequisites()
    return f"no cached guest image and cannot build one: {why}" if why else None


# Runs in the guest: answers each line with its clock; "shift D" first moves
# the clock by D seconds (relative, so the line's transit time does not matter).
CLOCK_PEER = """
import sys, time
for line in sys.stdin:
    if line.startswith("shift "):
        time.clock_settime(time.CLOCK_REALTIME, time.time() + float(line[6:]))
    print(repr(time.time()), flush=True)
"""


def _clock_offset(peer: subprocess.Popen, rounds: int) -> tuple[float, float]:
    """(guest clock - ours, round trip) in seconds, from the fastest exchange."""
    best = None
    for _ in range(rounds):
        sent = time.time()
        peer.stdin.write("ping\n")
        guest = float(peer.stdout.readline())
        back = time.time()
        if best is None or back - sent < best[1]:
            best = (guest - (sent + back) / 2, back - sent)
    return best


def _read_state(directory: Path) -> dict:
    try:
        return json.loads((directory / STATE_FILE).read_text())
    except (OSError, ValueError):
        return {}


def _is_our_qemu(pid: int, pidfile: str) -> bool:
    """Is pid a live qemu whose command line names our pidfile?"""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return sshfleet.process_alive(pid) and pidfile.encode() in argv


def _wait_exit(pid: int, pidfile: str, timeout: float) -> bool:
    """Wait until pid is no longer our qemu; True if it went within timeout."""
    deadline = time.monotonic() + timeout
    while _is_our_qemu(pid, pidfile):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


def _stop_state(directory: Path, state: dict, ssh_argv: list[str] | None) -> bool:
    """Power the guest off (or kill its qemu); True if a qemu was running."""
    pid, pidfile = state.get("pid"), state.get("pidfile", "")
    if not pid or not _is_our_qemu(pid, pidfile):
        return False
    if ssh_argv:
        try:
            subprocess.run([*ssh_argv, "systemctl", "poweroff"], timeout=20,
                           stdin=subprocess.DEVNULL, capture_output=True)
        except subprocess.TimeoutExpired:
            pass
    if not _wait_exit(pid, pidfile, POWEROFF_TIMEOUT_S if ssh_argv else 0):
        for sig, wait in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
            if _is_our_qemu(pid, pidfile):
                os.kill(pid, sig)
            if _wait_exit(pid, pidfile, wait):
                break
    return True


def stop_dir(directory: str | os.PathLike) -> bool:
    """Stop the guest recorded in directory; idempotent. True if one was running."""
    directory = Path(directory)
    state = _read_state(directory)
    argv = None
    if state.get("address"):
        argv = sshfleet.ssh_client_argv(
            directory / "id_ed25519", directory / "known_hosts",
            state["address"], state["port"])
    running = _stop_state(directory, state, argv)
    for name in ("disk.qcow2", STATE_FILE):
        (directory / name).unlink(missing_ok=True)
    return running


class VMFleet:
    """One qemu guest, vm1, reached over ssh at address:port (loopback only).

    directory: where keys, inventory, overlay disk and console log go; a fresh
        temporary directory (removed by stop()) if None.
    detach: if False (default) the guest is stopped at interpreter exit too;
        the CLI passes True so the guest outlives it.
    """

    def __init__(
        self,
        directory: str | os.PathLike | None = None,
        address: str = DEFAULT_ADDRESS,
        port: int = DEFAULT_PORT,
        image_cache: str | os.PathLike = vmimage.DEFAULT_CACHE,
        accel: str = "tcg",
        memory_mb: int = 512,
        cpus: int = 2,
        boot_timeout: float = BOOT_TIMEOUT_S,
        detach: bool = False,
        log=None,
    ) -> None:
        self._own_dir = directory is None
        self.directory = Path(directory or tempfile.mkdtemp(prefix="vmfleet-"))
        self.directory = self.directory.resolve()
        self.address = sshfleet.loopback_address(address, 0)
        self.port = int(port)
        self.image_cache = Path(image_cache)
        self.accel = accel
        self.memory_mb = memory_mb
        self.cpus = cpus
        self.boot_timeout = boot_timeout
        self.detach = detach
        self.log = log or (lambda text: print(text, file=sys.stderr))
        self.kernel: str | None = None
        self.timings: dict[str, float] = {}
        self._state: dict = {}

    # -- paths and views -------------------------------------------------------

    @property
    def inventory_path(self) -> Path:
        return self.directory / "inventory.yaml"

    @property
    def known_hosts_path(self) -> Path:
        return self.directory / "known_hosts"

    @property
    def client_key_path(self) -> Path:
        return self.directory / "id_ed25519"

    @property
    def console_path(self) -> Path:
        return self.directory / "console.log"

    @property
    def hosts(self) -> list[dict]:
        """[{"name": "vm1", "address", "port"}] while the guest runs."""
        if not self._state:
            return []
        return [{"name": HOST_NAME, "address": self.address, "port": self.port}]

    def host(self, name: str) -> dict:
        """{name, address, port} of the named host."""
        for h in self.hosts:
            if h["name"] == name:
                return h
        raise KeyError(name)

    def ssh_argv(self, host: str | dict, *command: str) -> list[str]:
        """argv for the OpenSSH client to run command in the guest as root."""
        h = self.host(host) if isinstance(host, str) else host
        return sshfleet.ssh_client_argv(self.client_key_path, self.known_hosts_path,
                                        h["address"], h["port"], *command)

    def ssh(
        self, host: str | dict, *command: str, timeout: float = 60
    ) -> subprocess.CompletedProcess:
        """Run command in the guest with the real OpenSSH client; capture text."""
        return subprocess.run(self.ssh_argv(host, *command), stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=timeout)

    # -- lifecycle -------------------------------------------------------------

    def start(self) -> VMFleet:
        """Build the image if needed, boot the guest, wait for its sshd."""
        if self._state:
            raise sshfleet.FleetError("guest already started; stop() it first")
        why = check_prerequisites(self.image_cache)
        if why:
            raise sshfleet.FleetError(why)
        self.directory.mkdir(parents=True, exist_ok=True)
        stop_dir(self.directory)  # a guest left by an earlier start in this dir
        if sshfleet.accepting(self.address, self.port):
            raise sshfleet.FleetError(
                f"{self.address}:{self.port} is already in use (another guest "
                "still running? `python3 scripts/vmfleet.py stop --dir DIR`)")
        started = time.monotonic()
        image = vmimage.ensure_image(self.image_cache, self.log)
        self.timings["image_s"] = round(time.monotonic() - started, 1)
        self._write_client_files(image)
        if not self.detach:
            import atexit

            atexit.register(self.stop)
        try:
            self._boot(image)
            self._wait_sshd()
            self._after_boot()
        except BaseException:
            self.stop()
            raise
        return self

    def _write_client_files(self, image: vmimage.Image) -> None:
        """Client key, known_hosts and inventory in the fleet directory."""
        shutil.copy(image.client_key, self.client_key_path)
        shutil.copy(image.client_key.with_name("id_ed25519.pub"),
                    self.client_key_path.with_name("id_ed25519.pub"))
        self.client_key_path.chmod(0o600)
        name = sshfleet.known_hosts_name(self.address, self.port)
        key = sshfleet.public_key(image.host_key_pub.with_suffix(""))
        self.known_hosts_path.write_text(f"{name} {key}\n")
        self.inventory_path.write_text(self._inventory_text())

    def _inventory_text(self) -> str:
        """The Ansible YAML inventory: group vm, host vm1."""
        return "\n".join([
            "# Written by scripts/vmfleet.py: a Debian 12 qemu guest on loopback.",
            "all:",
            "  children:",
            f"    {GROUP}:",
            "      hosts:",
            f"        {HOST_NAME}:",
            f"          ansible_host: {self.address}",
            f"          ansible_port: {self.port}",
            "          ansible_user: root",
            "          ansible_ssh_private_key_file: "
            + sshfleet.yaml_str(self.client_key_path),
            "          ansible_python_interpreter: /usr/bin/python3",
            "      vars:",
            f"        fleet_known_hosts: {sshfleet.yaml_str(self.known_hosts_path)}",
            "",
        ])

    def _qemu_argv(self, image: vmimage.Image, disk: Path, pidfile: Path) -> list:
        """qemu's command line: direct kernel boot, virtio disk, loopback ssh."""
        accel = "tcg,tb-size=256" if self.accel == "tcg" else self.accel
        forward = f"tcp:{self.address}:{self.port}-:22"
        return [
            QEMU, "-name", f"fleet-{HOST_NAME}",
            "-accel", accel, "-cpu", "max",
            "-m", str(self.memory_mb), "-smp", str(self.cpus),
            "-kernel", str(image.kernel), "-initrd", str(image.initrd),
            "-append", KERNEL_ARGS,
            "-drive", f"file={disk},format=qcow2,if=virtio,cache=unsafe",
            "-netdev", f"user,id=net0,restrict=on,hostfwd={forward}",
            "-device", "virtio-net-pci,netdev=net0",
            "-display", "none", "-monitor", "none", "-no-reboot",
            "-serial", f"file:{self.console_path}",
            "-daemonize", "-pidfile", str(pidfile),
        ]  # fmt: skip

    def _boot(self, image: vmimage.Image) -> None:
        """Make a fresh overlay over the cached image and start qemu detached."""
        disk = self.directory / "disk.qcow2"
        disk.unlink(missing_ok=True)
        subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-F", "raw",
                        "-b", str(image.rootfs), str(disk)], check=True)
        pidfile = self.directory / "qemu.pid"
        pidfile.unlink(missing_ok=True)
        self._booted_at = time.monotonic()
        done = subprocess.run(self._qemu_argv(image, disk, pidfile),
                              stdin=subprocess.DEVNULL, capture_output=True,
                              text=True)
        if done.returncode != 0:
            raise sshfleet.FleetError(f"qemu failed: {done.stderr.strip()}")
        self._state = {
            "pid": int(pidfile.read_text().split()[0]),
            "pidfile": str(pidfile),
            "address": self.address,
            "port": self.port,
            "image": str(image.directory),
        }
        self._write_state()

    def _write_state(self) -> None:
        (self.directory / STATE_FILE).write_text(json.dumps(self._state) + "\n")

    def _wait_sshd(self) -> None:
        """Wait for the guest's SSH banner through the forwarded port."""
        deadline = self._booted_at + self.boot_timeout
        pid, pidfile = self._state["pid"], self._state["pidfile"]
        while not sshfleet.ssh_banner(self.address, self.port):
            if not _is_our_qemu(pid, pidfile):
                raise sshfleet.FleetError(
                    f"qemu exited during boot: {self._console_tail()}")
            if time.monotonic() > deadline:
                raise sshfleet.FleetError(
                    f"guest sshd not up after {self.boot_timeout:g}s: "
                    f"{self._console_tail()}")
            time.sleep(0.5)
        self.timings["boot_to_sshd_s"] = round(time.monotonic() - self._booted_at, 1)

    def _after_boot(self) -> None:
        """Set the guest's clock, learn its kernel and record both."""
        done = self.ssh(HOST_NAME, "uname", "-r", timeout=60)
        if done.returncode != 0:
            raise sshfleet.FleetError(f"ssh to the guest failed: {done.stderr}")
        self.kernel = done.stdout.strip()
        self.timings["clock_offset_ms"] = self._sync_clock()
        self._state.update(kernel=self.kernel, timings=self.timings)
        self._write_state()

    def _sync_clock(self) -> float:
        """Set the guest's wall clock from ours; return the offset left, in ms.

        The guest starts from its emulated RTC (whole seconds) and has no
        network time: a few hundred ms off, which would shift its tracing
        window and event times against the other hosts'.
        """
        argv = self.ssh_argv(HOST_NAME, "python3", "-u", "-c", shlex.quote(CLOCK_PEER))
        with subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True, bufsize=1) as peer:
            try:
                offset, _ = _clock_offset(peer, rounds=16)
                for _ in range(5):  # each shift leaves a few ms; repeat until fine
                    if abs(offset) < CLOCK_TOLERANCE_S:
                        break
                    peer.stdin.write(f"shift {-offset!r}\n")
                    peer.stdout.readline()
                    offset, _ = _clock_offset(peer, rounds=16)
            finally:
                peer.stdin.close()
                peer.wait(timeout=30)
        return round(offset * 1000, 2)

    def _console_tail(self, lines: int = 8) -> str:
        try:
            text = self.console_path.read_text(errors="replace")
        except OSError:
            return "(no console log)"
        return " | ".join(text.strip().splitlines()[-lines:]) or "(empty console)"

    def stop(self) -> bool:
        """Power the guest off and remove its overlay; idempotent."""
        running = stop_dir(self.directory)
        self._state = {}
        if self._own_dir:
            shutil.rmtree(self.directory, ignore_errors=True)
        return running

    def __enter__(self) -> VMFleet:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


# ---------------------------------------------------------------------------
# CLI


def _status(directory: Path) -> int:
    state = _read_state(directory)
    if not state:
        print(f"no guest recorded in {directory}")
        return 1
    up = _is_our_qemu(state["pid"], state["pidfile"])
    print(f"{HOST_NAME}\tpid {state['pid']}\t{'running' if up else 'gone'}\t"
          f"{state['address']}:{state['port']}\t{state.get('kernel', '?')}")
    return 0 if up else 1


def main(argv: list[str] | None = None) -> int:
    """vmfleet.py start|stop|status."""
    parser = argparse.ArgumentParser(
        prog="vmfleet.py",
        description="Run a Debian 12 (kernel 6.1, kprobes) qemu guest as a test "
        "host, ssh forwarded to loopback (needs root).")
    sub = parser.add_subparsers(dest="cmd", required=True)
    p_start = sub.add_parser("start", help="boot the guest; print the inventory path")
    p_start.add_argument("--dir", required=True, type=Path)
    p_start.add_argument("--address", default=DEFAULT_ADDRESS,
                         help="loopback address for ssh (default %(default)s)")
    p_start.add_argument("--port", type=int, default=DEFAULT_PORT,
                         help="port for ssh (default %(default)s)")
    p_start.add_argument("--image-cache", type=Path, default=vmimage.DEFAULT_CACHE,
                         help="where built images are kept (default %(default)s)")
    p_start.add_argument("--accel", default="tcg", choices=("tcg", "kvm"),
                         help="qemu accelerator (default %(default)s; kvm only "
                         "on real hardware: nested kvm is slower than tcg here)")
    p_start.add_argument("--memory", type=int, default=512, help="MiB")
    for name in ("stop", "status"):
        sub.add_parser(name).add_argument("--dir", required=True, type=Path)
    args = parser.parse_args(argv)

    if args.cmd == "stop":
        running = stop_dir(args.dir)
        print("stopped the guest" if running else "no guest was running",
              file=sys.stderr)
        return 0
    if args.cmd == "status":
        return _status(args.dir)
    vm = VMFleet(args.dir, args.address, args.port, args.image_cache,
                 accel=args.accel, memory_mb=args.memory, detach=True)
    try:
        vm.start()
    except (sshfleet.FleetError, vmimage.ImageError) as e:
        print(f"vmfleet: {e}", file=sys.stderr)
        return 1
    print(f"{HOST_NAME}\t{vm.address}:{vm.port}\t{vm.kernel}\t"
          f"boot to sshd {vm.timings['boot_to_sshd_s']:g}s", file=sys.stderr)
    print(vm.inventory_path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
