#!/usr/bin/env python3
"""A simulated fleet of real OpenSSH servers on loopback addresses.

Each host is a real ``/usr/sbin/sshd`` (Debian's openssh-server) listening on its
own loopback address, ``127.0.1.K`` port 22 for host K by default, with its own
ed25519 host key and sshd_config. One client key pair is authorized for root on
every host; ``known_hosts`` and an Ansible YAML inventory are written into the
fleet directory, so the controller can be pointed at the fleet unchanged.

Stdlib only. Must run as root (sshd needs it for privilege separation and for
logging in as root). Only loopback addresses are ever used.

Library use::

    with SSHFleet("/tmp/fleet") as fl:
        fl.start(3)
        fl.inventory_path          # /tmp/fleet/inventory.yaml
        fl.hosts                   # [{"name": "host1", "address": "127.0.1.1", ...}]

CLI::

    python3 scripts/sshfleet.py start --dir DIR -n 3   # prints the inventory path
    python3 scripts/sshfleet.py status --dir DIR
    python3 scripts/sshfleet.py stop --dir DIR

Fleet directory layout::

    DIR/id_ed25519, id_ed25519.pub   the client key (no passphrase)
    DIR/authorized_keys              the client public key, for root on every host
    DIR/known_hosts                  "127.0.1.1 ssh-ed25519 AAAA..." per host
    DIR/inventory.yaml               group `fleet` (and `badkey` if any bad host)
    DIR/pids                         "PID NAME CONFIG" per sshd started, plus an id
    DIR/hosts/NAME/                  sshd_config, host key, sshd.log, sshd.pid

Stopping kills exactly the sshd listeners recorded (after checking that each pid's
command line still names our config file) and the per-connection sshd processes
they forked (sshd processes holding one of our sshd.log files open); nothing else.
"""

from __future__ import annotations

import argparse
import atexit
import ipaddress
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SSHD = "/usr/sbin/sshd"
SSH_KEYGEN = "ssh-keygen"
SFTP_SERVER = "/usr/lib/openssh/sftp-server"
PRIVSEP_DIR = "/run/sshd"
DEFAULT_BASE_ADDRESS = "127.0.1.0"
DEFAULT_PORT = 22
FLEET_GROUP = "fleet"
BADKEY_GROUP = "badkey"
PIDS_FILE = "pids"

__all__ = [
    "SSHFleet",
    "FleetError",
    "check_prerequisites",
    "pick_base_address",
    "stop_dir",
    "accepting",
    "keygen",
    "known_hosts_name",
    "loopback_address",
    "process_alive",
    "public_key",
    "ssh_banner",
    "ssh_client_argv",
    "yaml_str",
]


class FleetError(RuntimeError):
    """The fleet could not be started (the message says why)."""


# ---------------------------------------------------------------------------
# small helpers


def check_prerequisites(sshd: str = SSHD) -> str | None:
    """Return why a fleet cannot run here, or None if it can."""
    if not os.path.exists(sshd):
        return f"{sshd} not found (apt-get install openssh-server)"
    if os.geteuid() != 0:
        return "sshd fleet needs root (privilege separation, root logins)"
    if shutil.which(SSH_KEYGEN) is None:
        return "ssh-keygen not found (apt-get install openssh-client)"
    return None


def loopback_address(base: str, index: int) -> str:
    """base + index as text; FleetError unless it is an IPv4 loopback address."""
    addr = ipaddress.ip_address(base) + index
    if not (isinstance(addr, ipaddress.IPv4Address) and addr.is_loopback):
        raise FleetError(f"{addr} is not a loopback address (127.0.0.0/8 only)")
    return str(addr)


def known_hosts_name(address: str, port: int) -> str:
    """How known_hosts names a host: the address, or [address]:port off port 22."""
    return address if port == 22 else f"[{address}]:{port}"


def accepting(address: str, port: int, timeout: float = 0.3) -> bool:
    """True when something accepts TCP connections on address:port."""
    try:
        with socket.create_connection((address, port), timeout=timeout):
            return True
    except OSError:
        return False


def pick_base_address(
    n: int,
    port: int = DEFAULT_PORT,
    candidates: list[str] | None = None,
) -> str:
    """First base address (from candidates) whose n addresses are all free.

    Default candidates: 127.0.1.0, 127.0.2.0, ... 127.0.9.0. "Free" means nothing
    accepts TCP at base+1 .. base+n+2 on `port` (two spare for extra hosts).
    """
    if candidates is None:
        candidates = [f"127.0.{i}.0" for i in range(1, 10)]
    for base in candidates:
        addrs = [loopback_address(base, k) for k in range(1, n + 3)]
        if not any(accepting(a, port) for a in addrs):
            return base
    raise FleetError(f"no free loopback range for {n} hosts on port {port}")


def _read_proc(pid: int, what: str) -> bytes | None:
    try:
        with open(f"/proc/{pid}/{what}", "rb") as f:
            return f.read()
    except OSError:
        return None


def _proc_state(pid: int) -> str | None:
    """The pid's state letter (R, S, Z, ...), or None if it does not exist."""
    stat = _read_proc(pid, "stat")
    if stat is None:
        return None
    try:
        return stat.rsplit(b")", 1)[1].split()[0].decode()
    except IndexError:
        return None


def process_alive(pid: int) -> bool:
    """True when pid exists and is not a zombie."""
    state = _proc_state(pid)
    return state is not None and state not in ("Z", "X")


def _is_our_listener(pid: int, config: str) -> bool:
    """Is pid an sshd whose command line still names config?

    sshd rewrites its argv (setproctitle) into one space-separated string, so the
    path is looked for as a word delimited by NUL, space or the end.
    """
    cmdline = _read_proc(pid, "cmdline")
    if not cmdline or not _is_sshd(pid):
        return False
    text = b" " + cmdline.replace(b"\0", b" ") + b" "
    return b" " + config.encode() + b" " in text


def _is_sshd(pid: int) -> bool:
    try:
        exe = os.readlink(f"/proc/{pid}/exe")
    except OSError:
        return False
    return os.path.basename(exe.split(" (deleted)")[0]) == "sshd"


def _sshd_pids_with_open(paths: set[str]) -> set[int]:
    """Live sshd processes holding one of paths open (our sshd.log files).

    sshd -E keeps the log open in the listener and in every per-connection
    process it forks, and those rewrite both argv and environ (setproctitle), so
    an open log file is how a connection process is known to be ours, even after
    its listener died and it was re-parented.
    """
    found = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        pid = int(entry)
        if not _is_sshd(pid):
            continue
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if target in paths:
                if process_alive(pid):
                    found.add(pid)
                break
    return found


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def keygen(path: Path, comment: str) -> None:
    """Create an ed25519 key pair at path (reused if both halves exist)."""
    pub = path.with_name(path.name + ".pub")
    if path.exists() and pub.exists():
        return
    for p in (path, pub):
        if p.exists():
            p.unlink()
    subprocess.run(
        [SSH_KEYGEN, "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)],
        check=True,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
    )
    path.chmod(0o600)


def public_key(path: Path) -> str:
    """'ssh-ed25519 AAAA...' (type and key, no comment) of a key's .pub file."""
    fields = path.with_name(path.name + ".pub").read_text().split()
    return f"{fields[0]} {fields[1]}"


def ssh_banner(address: str, port: int) -> bool:
    """True when address:port answers with an SSH-2.0 banner (sshd is up)."""
    try:
        with socket.create_connection((address, port), timeout=2) as s:
            s.settimeout(2)
            data = b""
            while b"\n" not in data and len(data) < 256:
                chunk = s.recv(256)
                if not chunk:
                    break
                data += chunk
            return data.startswith(b"SSH-2.0-")
    except OSError:
        return False


def ssh_client_argv(
    key: Path, known_hosts: Path, address: str, port: int, *command: str
) -> list[str]:
    """argv for the OpenSSH client to run command as root, host key checked strictly."""
    return [
        "ssh",
        "-F", "/dev/null",
        "-i", str(key),
        "-o", "IdentitiesOnly=yes",
        "-o", f'UserKnownHostsFile="{known_hosts}"',
        "-o", "GlobalKnownHostsFile=/dev/null",
        "-o", "StrictHostKeyChecking=yes",
        "-o", "BatchMode=yes",
        "-o", "ConnectTimeout=10",
        "-p", str(port),
        f"root@{address}",
        *command,
    ]  # fmt: skip


def yaml_str(value: object) -> str:
    """value as a YAML scalar that is safe for any path."""
    # JSON strings are valid YAML scalars: safe for any path.
    return json.dumps(str(value))


# ---------------------------------------------------------------------------
# the pids file: what `stop` is allowed to kill


def _read_pids(directory: Path) -> tuple[str | None, list[tuple[int, str, str]]]:
    path = directory / PIDS_FILE
    tag = None
    entries = []
    try:
        text = path.read_text()
    except FileNotFoundError:
        return None, []
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        if line.startswith("#"):
            key, _, value = line[1:].strip().partition(" ")
            if key == "id":
                tag = value.strip()
            continue
        fields = line.split(" ", 2)
        if len(fields) == 3 and fields[0].isdigit():  # skip anything malformed
            entries.append((int(fields[0]), fields[1], fields[2]))
    return tag, entries


def _wait_gone(
    pids: set[int], popens: dict[int, subprocess.Popen], timeout: float
) -> set[int]:
    """Wait until none of pids is alive; return those still alive at timeout."""
    deadline = time.monotonic() + timeout
    pending = set(pids)
    while pending:
        for pid in list(pending):
            proc = popens.get(pid)
            gone = proc.poll() is not None if proc else not process_alive(pid)
            if gone:
                pending.discard(pid)
        if not pending or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    return pending


def _stop_pids(
    entries: list[tuple[int, str, str]],
    popens: dict[int, subprocess.Popen] | None = None,
    timeout: float = 10.0,
) -> list[int]:
    """Kill our listeners and their connection processes; return pids signalled.

    A listener counts as ours only while its cmdline names its config file; a
    connection process only while it is an sshd holding one of our logs open.
    """
    popens = popens or {}
    logs = {str(Path(cfg).parent / "sshd.log") for _, _, cfg in entries}

    def ours() -> set[int]:
        pids = {pid for pid, _, cfg in entries if _is_our_listener(pid, cfg)}
        return pids | _sshd_pids_with_open(logs)

    victims: set[int] = set()
    # A listener may fork a connection process just before it dies: look again
    # until a scan finds nothing new (listeners are gone after the first round).
    for _ in range(5):
        batch = ours() - victims
        if not batch:
            break
        victims |= batch
        for pid in batch:
            _signal(pid, signal.SIGTERM)
        left = _wait_gone(batch, popens, timeout)
        if left:
            stubborn = left & ours()
            for pid in stubborn:
                _signal(pid, signal.SIGKILL)
            _wait_gone(stubborn, popens, 5.0)
    for proc in popens.values():
        try:
            proc.wait(timeout=1)
        except subprocess.TimeoutExpired:
            pass
    return sorted(victims)


def stop_dir(directory: str | os.PathLike) -> list[int]:
    """Stop the fleet recorded in directory/pids; idempotent. Return pids killed."""
    directory = Path(directory)
    _, entries = _read_pids(directory)
    killed = _stop_pids(entries)
    pids = directory / PIDS_FILE
    if pids.exists():
        pids.unlink()
    remove_users(directory)
    return killed


# ---------------------------------------------------------------------------
# test users: created for a fleet, removed when it stops

USER_PREFIX = "sshfleet-"
SUDOERS_DIR = "/etc/sudoers.d"
# Test users' authorized keys: a fleet directory may sit under a private
# temporary directory that sshd, reading as the user, cannot enter.
USER_KEYS_DIR = "/etc/ssh/sshfleet-users"


def _run_checked(argv: list[str], data: str | None = None) -> None:
    done = subprocess.run(argv, input=data, capture_output=True, text=True)
    if done.returncode != 0:
        raise FleetError(f"{' '.join(argv)} failed: {done.stderr.strip()}")


def create_user(
    directory: Path,
    name: str,
    authorized_keys: str,
    home: bool = True,
    password: str | None = None,
    sudo: str | None = None,
) -> dict:
    """Create a local user for tests; recorded in directory/users for removal.

    authorized_keys (text) goes to USER_KEYS_DIR/NAME, which every fleet host
    reads, so the user can log in everywhere with those keys. home=False gives
    the user a home directory that does not exist. sudo is a sudoers rule
    such as "ALL=(ALL) ALL" (password needed) or "ALL=(ALL) NOPASSWD: ALL".
    """
    if not name.startswith(USER_PREFIX) or len(name) > 32:
        raise FleetError(f"test user names start with {USER_PREFIX}: {name}")
    homedir = f"/home/{name}" if home else f"/nonexistent/{name}"
    _run_checked(["useradd", "--shell", "/bin/sh", "--home-dir", homedir,
                  "--create-home" if home else "--no-create-home", name])
    with open(directory / "users", "a") as f:
        f.write(name + "\n")
    # sshd refuses a locked account ("!" in shadow); "*" is no password, unlocked.
    _run_checked(["usermod", "-p", "*", name])
    os.makedirs(USER_KEYS_DIR, mode=0o755, exist_ok=True)
    keys = Path(USER_KEYS_DIR) / name
    keys.write_text(authorized_keys)
    keys.chmod(0o644)
    if password is not None:
        _run_checked(["chpasswd"], f"{name}:{password}\n")
    if sudo:
        rule = Path(SUDOERS_DIR) / name
        tmp = rule.with_name(f".{name}.tmp")
        tmp.write_text(f"{name} {sudo}\n")
        tmp.chmod(0o440)
        _run_checked(["visudo", "-cf", str(tmp)])
        tmp.rename(rule)
    return {"name": name, "home": homedir}


def remove_users(directory: Path) -> list[str]:
    """Remove the users (and their sudoers rules) recorded in directory/users."""
    path = Path(directory) / "users"
    try:
        names = [n for n in path.read_text().split() if n.startswith(USER_PREFIX)]
    except FileNotFoundError:
        return []
    for name in names:
        (Path(SUDOERS_DIR) / name).unlink(missing_ok=True)
        (Path(USER_KEYS_DIR) / name).unlink(missing_ok=True)
        subprocess.run(["userdel", "--force", "--remove", name],
                       capture_output=True)
    path.unlink()
    try:
        os.rmdir(USER_KEYS_DIR)  # only when no other fleet's user is left
    except OSError:
        pass
    return names


# ---------------------------------------------------------------------------
# the fleet


class SSHFleet:
    """N real sshd hosts on loopback addresses base+1 .. base+N, one port.

    directory: where keys, configs, logs, known_hosts and inventory go; a fresh
        temporary directory (removed by stop()) if None.
    base_address: host K listens on base_address + K (loopback only).
    port: the port every host listens on (with one_address: host K gets port+K).
    ports: per-host ports instead, host K on ports[K-1].
    one_address: every host on base_address + 1, told apart by port.
    tcp_forwarding: names of hosts that allow TCP forwarding (ProxyJump through
        them); the others refuse it. None: sshd's default (allowed) everywhere.
    session_env: {host name: {VAR: value}} set in that host's sessions (sshd
        SetEnv), e.g. a PATH without sudo.
    detach: if False (default) the fleet is stopped at interpreter exit too; the
        CLI passes True so its sshds outlive it.
    """

    def __init__(
        self,
        directory: str | os.PathLike | None = None,
        base_address: str = DEFAULT_BASE_ADDRESS,
        port: int = DEFAULT_PORT,
        sshd: str = SSHD,
        start_timeout: float = 15.0,
        detach: bool = False,
        ports: list[int] | None = None,
        one_address: bool = False,
        tcp_forwarding: set[str] | None = None,
        session_env: dict[str, dict[str, str]] | None = None,
    ) -> None:
        self._own_dir = directory is None
        self.directory = Path(directory) if directory else None
        self.base_address = base_address
        self.port = int(port)
        self.ports = [int(p) for p in ports] if ports else None
        self.one_address = one_address
        self.tcp_forwarding = None if tcp_forwarding is None else set(tcp_forwarding)
        self.session_env = dict(session_env or {})
        self.sshd = sshd
        self.start_timeout = start_timeout
        self.detach = detach
        self.tag = secrets.token_hex(8)
        self._hosts: list[dict] = []
        self._bad_hosts: list[dict] = []
        self._popens: dict[int, subprocess.Popen] = {}
        self._launched: list[tuple[int, str, str]] = []
        self._atexit = False

    # -- paths ---------------------------------------------------------------

    def _need_dir(self) -> Path:
        if self.directory is None:
            self.directory = Path(tempfile.mkdtemp(prefix="sshfleet-"))
        return self.directory

    @property
    def inventory_path(self) -> Path:
        return self._need_dir().resolve() / "inventory.yaml"

    @property
    def known_hosts_path(self) -> Path:
        return self._need_dir().resolve() / "known_hosts"

    @property
    def client_key_path(self) -> Path:
        return self._need_dir().resolve() / "id_ed25519"

    @property
    def authorized_keys_path(self) -> Path:
        return self._need_dir().resolve() / "authorized_keys"

    @property
    def pids_path(self) -> Path:
        return self._need_dir().resolve() / PIDS_FILE

    # -- views -----------------------------------------------------------------

    @staticmethod
    def _public(host: dict) -> dict:
        return {k: host[k] for k in ("name", "address", "port")}

    @property
    def hosts(self) -> list[dict]:
        """The good hosts: [{"name", "address", "port"}], host1..hostN."""
        return [self._public(h) for h in self._hosts]

    @property
    def bad_key_hosts(self) -> list[dict]:
        """Hosts added by add_bad_key_host (known_hosts holds a wrong key)."""
        return [self._public(h) for h in self._bad_hosts]

    @property
    def pids(self) -> list[int]:
        """Pids of the sshd listeners this object started (alive or not)."""
        return [h["pid"] for h in self._hosts + self._bad_hosts]

    def host(self, name: str) -> dict:
        for h in self._hosts + self._bad_hosts:
            if h["name"] == name:
                return self._public(h)
        raise KeyError(name)

    def log_path(self, name: str) -> Path:
        return self._need_dir().resolve() / "hosts" / name / "sshd.log"

    def ssh_argv(self, host: str | dict, *command: str) -> list[str]:
        """argv for the OpenSSH client to run command on host as root, strictly."""
        h = self.host(host) if isinstance(host, str) else host
        return ssh_client_argv(self.client_key_path, self.known_hosts_path,
                               h["address"], h["port"], *command)

    def ssh(
        self, host: str | dict, *command: str, timeout: float = 30
    ) -> subprocess.CompletedProcess:
        """Run command on host with the real OpenSSH client; capture text output."""
        return subprocess.run(
            self.ssh_argv(host, *command),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    # -- lifecycle -----------------------------------------------------------

    def start(self, n: int = 3) -> SSHFleet:
        """Start host1..hostN and wait until each shows its SSH banner."""
        if n < 1:
            raise ValueError("n must be >= 1")
        if self._hosts or self._bad_hosts:
            raise FleetError("fleet already started; stop() it first")
        why = check_prerequisites(self.sshd)
        if why:
            raise FleetError(why)
        d = self._need_dir()
        d.mkdir(parents=True, exist_ok=True)
        stop_dir(d)  # a previous fleet recorded in this dir
        os.makedirs(PRIVSEP_DIR, mode=0o755, exist_ok=True)

        keygen(self.client_key_path, "sshfleet-client")
        self.authorized_keys_path.write_text(public_key(self.client_key_path) + "\n")
        self.pids_path.write_text(f"# id {self.tag}\n")
        if not self.detach and not self._atexit:
            atexit.register(self.stop)
            self._atexit = True
        try:
            new = [self._launch(f"host{k}", k) for k in range(1, n + 1)]
            self._hosts.extend(new)
            self._write_known_hosts()
            self._write_inventory()
            self._wait_ready(new)
        except BaseException:
            self.stop()
            raise
        return self

    def add_bad_key_host(self, name: str = "badhost") -> dict:
        """Start one more host whose known_hosts entry is deliberately wrong.

        The host runs with its real key, but known_hosts records a different
        ed25519 key under its address, so a strict client must refuse it. The host
        goes into the inventory's `badkey` group (not `fleet`).
        """
        if not self._hosts:
            raise FleetError("start() the fleet first")
        if any(h["name"] == name for h in self._hosts + self._bad_hosts):
            raise FleetError(f"host {name} already exists")
        index = len(self._hosts) + len(self._bad_hosts) + 1
        host = self._launch(name, index)
        decoy = self._need_dir() / "hosts" / name / "decoy_ed25519"
        keygen(decoy, f"sshfleet-decoy-{name}")
        host["known_key"] = public_key(decoy)
        self._bad_hosts.append(host)
        try:
            self._write_known_hosts()
            self._write_inventory()
            self._wait_ready([host])
        except BaseException:
            self.stop()
            raise
        return self._public(host)

    def _address_port(self, index: int) -> tuple[str, int]:
        """Where host number index listens."""
        address = loopback_address(self.base_address, 1 if self.one_address else index)
        if self.ports and index <= len(self.ports):
            return address, self.ports[index - 1]
        return address, self.port + index if self.one_address else self.port

    def _host_options(self, name: str) -> list[str]:
        """sshd_config lines particular to one host."""
        lines = []
        if self.tcp_forwarding is not None:
            allowed = "yes" if name in self.tcp_forwarding else "no"
            lines.append(f"AllowTcpForwarding {allowed}")
        env = self.session_env.get(name) or {}
        if env:
            lines.append("SetEnv " + " ".join(f'"{k}={v}"' for k, v in env.items()))
        return lines

    def _launch(self, name: str, index: int) -> dict:
        address, port = self._address_port(index)
        if accepting(address, port):
            raise FleetError(
                f"{address}:{port} is already in use (another fleet still "
                f"running? `python3 scripts/sshfleet.py stop --dir DIR`)"
            )
        hdir = self._need_dir().resolve() / "hosts" / name
        hdir.mkdir(parents=True, exist_ok=True)
        key = hdir / "ssh_host_ed25519_key"
        keygen(key, f"sshfleet-{name}")
        cfg = hdir / "sshd_config"
        log = hdir / "sshd.log"
        pidfile = hdir / "sshd.pid"
        cfg.write_text(
            "\n".join(
                [
                    f"# sshfleet host {name}",
                    f"ListenAddress {address}:{port}",
                    f'HostKey "{key}"',
                    f'PidFile "{pidfile}"',
                    f'AuthorizedKeysFile "{self.authorized_keys_path}" '
                    f'"{USER_KEYS_DIR}/%u"',
                    "PermitRootLogin prohibit-password",
                    "PubkeyAuthentication yes",
                    "PasswordAuthentication no",
                    "KbdInteractiveAuthentication no",
                    "UsePAM no",
                    "StrictModes no",
                    "MaxStartups 100:30:200",
                    "MaxSessions 50",
                    f"Subsystem sftp {SFTP_SERVER}",
                    "AcceptEnv none",
                    "X11Forwarding no",
                    "PrintMotd no",
                    "PrintLastLog no",
                    "UseDNS no",
                    "LogLevel VERBOSE",
                    *self._host_options(name),
                    "",
                ]
            )
        )
        check = subprocess.run(
            [self.sshd, "-t", "-f", str(cfg)],
            capture_output=True,
            text=True,
        )
        if check.returncode != 0:
            raise FleetError(f"sshd -t rejected {cfg}: {check.stderr.strip()}")
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}
        proc = subprocess.Popen(
            [self.sshd, "-D", "-f", str(cfg), "-E", str(log)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
            close_fds=True,
        )
        self._popens[proc.pid] = proc
        self._launched.append((proc.pid, name, str(cfg)))
        with open(self.pids_path, "a") as f:
            f.write(f"{proc.pid} {name} {cfg}\n")
        return {
            "name": name,
            "address": address,
            "port": port,
            "pid": proc.pid,
            "config": str(cfg),
            "log": str(log),
            "known_key": public_key(key),
        }

    def add_user(self, name: str, **kwargs) -> dict:
        """A test user that can log in to every host; removed by stop().

        See create_user for the keyword arguments (home, password, sudo).
        """
        keys = self.authorized_keys_path.read_text()
        return create_user(self._need_dir().resolve(), name, keys, **kwargs)

    def _wait_ready(self, hosts: list[dict]) -> None:
        deadline = time.monotonic() + self.start_timeout
        for h in hosts:
            while True:
                proc = self._popens[h["pid"]]
                if proc.poll() is not None:
                    raise FleetError(
                        f"sshd for {h['name']} exited with {proc.returncode}: "
                        f"{self._log_tail(h)}"
                    )
                if ssh_banner(h["address"], h["port"]):
                    break
                if time.monotonic() > deadline:
                    raise FleetError(
                        f"sshd for {h['name']} ({h['address']}:{h['port']}) not "
                        f"ready after {self.start_timeout}s: {self._log_tail(h)}"
                    )
                time.sleep(0.05)

    @staticmethod
    def _log_tail(host: dict, lines: int = 10) -> str:
        try:
            text = Path(host["log"]).read_text(errors="replace")
        except OSError:
            return "(no log)"
        return " | ".join(text.strip().splitlines()[-lines:]) or "(empty log)"

    def _write_known_hosts(self) -> None:
        lines = [
            f"{known_hosts_name(h['address'], h['port'])} {h['known_key']}"
            for h in self._hosts + self._bad_hosts
        ]
        self.known_hosts_path.write_text("\n".join(lines) + "\n")

    def _write_inventory(self) -> None:
        key = yaml_str(self.client_key_path)
        known = yaml_str(self.known_hosts_path)

        def group(name: str, hosts: list[dict]) -> list[str]:
            out = [f"    {name}:", "      hosts:"]
            for h in hosts:
                out += [
                    f"        {h['name']}:",
                    f"          ansible_host: {h['address']}",
                    f"          ansible_port: {h['port']}",
                    "          ansible_user: root",
                    f"          ansible_ssh_private_key_file: {key}",
                    "          ansible_python_interpreter: /usr/bin/python3",
                ]
            out += ["      vars:", f"        fleet_known_hosts: {known}"]
            return out

        lines = [
            "# Written by scripts/sshfleet.py: real sshd hosts on loopback.",
            "all:",
            "  children:",
            *group(FLEET_GROUP, self._hosts),
        ]
        if self._bad_hosts:
            lines += group(BADKEY_GROUP, self._bad_hosts)
        self.inventory_path.write_text("\n".join(lines) + "\n")

    def stop(self) -> list[int]:
        """Kill every sshd this fleet started (and their connections); idempotent."""
        if self.directory is None:
            return []
        killed = _stop_pids(self._launched, self._popens)
        remove_users(self.directory)
        self._popens.clear()
        self._launched.clear()
        self._hosts.clear()
        self._bad_hosts.clear()
        if self.pids_path.exists():
            tag, _ = _read_pids(self.directory)
            if tag == self.tag:
                self.pids_path.unlink()
        if self._own_dir and self.directory.exists():
            shutil.rmtree(self.directory, ignore_errors=True)
        return killed

    def __enter__(self) -> SSHFleet:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


# ---------------------------------------------------------------------------
# CLI


def _status(directory: Path) -> int:
    tag, entries = _read_pids(directory)
    if not entries:
        print(f"no fleet recorded in {directory}")
        return 1
    rc = 0
    for pid, name, cfg in entries:
        up = _is_our_listener(pid, cfg)
        rc |= 0 if up else 1
        print(f"{name}\tpid {pid}\t{'running' if up else 'gone'}")
    return rc


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="sshfleet.py",
        description="Run real sshd hosts on loopback addresses (needs root).",
    )
    sub = parser.add_subparsers(dest="cmd", required=True)
    p_start = sub.add_parser("start", help="start a fleet; print the inventory path")
    p_start.add_argument("--dir", required=True, type=Path)
    p_start.add_argument("-n", type=int, default=3, help="number of hosts")
    p_start.add_argument(
        "--base-address",
        default=DEFAULT_BASE_ADDRESS,
        help="host K listens on BASE+K (default %(default)s)",
    )
    p_start.add_argument("--port", type=int, default=DEFAULT_PORT)
    p_start.add_argument(
        "--ports",
        type=lambda text: [int(p) for p in text.split(",")],
        help="per-host ports, comma-separated (host K on the K-th)",
    )
    p_start.add_argument(
        "--one-address",
        action="store_true",
        help="every host on BASE+1, host K on port PORT+K (or its --ports entry)",
    )
    p_start.add_argument(
        "--tcp-forwarding",
        metavar="NAMES",
        help="comma-separated hosts that allow TCP forwarding (ProxyJump); "
        "the others refuse it (default: sshd's default, allowed everywhere)",
    )
    p_start.add_argument(
        "--bad-key-host",
        metavar="NAME",
        help="also start a host whose known_hosts key is wrong",
    )
    p_stop = sub.add_parser("stop", help="stop the fleet recorded in DIR/pids")
    p_stop.add_argument("--dir", required=True, type=Path)
    p_status = sub.add_parser("status", help="show the recorded sshds")
    p_status.add_argument("--dir", required=True, type=Path)
    args = parser.parse_args(argv)

    if args.cmd == "stop":
        killed = stop_dir(args.dir)
        print(f"stopped {len(killed)} sshd process(es)", file=sys.stderr)
        return 0
    if args.cmd == "status":
        return _status(args.dir)

    fleet = SSHFleet(
        args.dir.resolve(),
        base_address=args.base_address,
        port=args.port,
        detach=True,
        ports=args.ports,
        one_address=args.one_address,
        tcp_forwarding=set(args.tcp_forwarding.split(","))
        if args.tcp_forwarding is not None
        else None,
    )
    try:
        fleet.start(args.n)
        if args.bad_key_host:
            fleet.add_bad_key_host(args.bad_key_host)
    except FleetError as e:
        print(f"sshfleet: {e}", file=sys.stderr)
        return 1
    for h in fleet.hosts + fleet.bad_key_hosts:
        print(f"{h['name']}\t{h['address']}:{h['port']}", file=sys.stderr)
    print(fleet.inventory_path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
