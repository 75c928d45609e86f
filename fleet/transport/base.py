"""The transport seam: connect, keep a content-addressed cache, run the agent."""

from __future__ import annotations

import asyncio
import shlex
from abc import ABC, abstractmethod
from dataclasses import dataclass, field

from ..resources import data_dir
from .become import SudoPromptReader, resolve_become, sudo_argv
from .cache import (
    CACHE_DIR,
    check_command,
    parse_check,
    problem_reason,
    sha256_hex,
    stale_note,
    upload_command,
)

DEFAULT_PYTHON = "/usr/bin/python3"
# Keepalives left unanswered before a session counts as lost: a dead or frozen
# session is dropped about keepalive interval * (KEEPALIVE_COUNT_MAX + 1) after the
# host last sent anything.
KEEPALIVE_COUNT_MAX = 2


class HostFailure(Exception):
    """A host-level failure with its outcome (unreachable, auth-failed, ...)."""

    def __init__(self, outcome: str, reason: str):
        super().__init__(reason)
        self.outcome = outcome
        self.reason = reason


@dataclass
class TransportOptions:
    """Settings every transport gets from the CLI, ansible.cfg and inventory.

    Host vars (``ansible_user``, ``ansible_ssh_private_key_file``, ...) win over
    these; these win over ssh_config and the SSH defaults.
    """

    known_hosts: str | None = None
    connect_timeout: float | None = None  # -T; None: ssh_config ConnectTimeout, 10s
    user: str | None = None  # -u, else ansible.cfg remote_user
    private_key: str | None = None  # --private-key, else ansible.cfg private_key_file
    become: bool | None = None  # -b (None: each host's ansible_become decides)
    become_password: str | None = field(default=None, repr=False)  # -K; never logged
    accept_new_host_keys: bool = False  # --accept-new-host-keys
    verbosity: int = 0  # -v count
    keepalive_s: float | None = None  # playbook `keepalive:`; None: ssh_config's
    extra: dict = field(default_factory=dict)


class AgentProcess:
    """A running agent: write lines to its stdin, read lines from stdout/stderr."""

    def __init__(self, stdin, stdout, stderr, waiter, killer, lost=None):
        self._stdin = stdin
        self.stdout = stdout
        self.stderr = stderr
        self._waiter = waiter
        self._killer = killer
        self._lost = lost or (lambda: None)

    def lost(self) -> str | None:
        """Why the connection under this process was lost, or None if it was not."""
        return self._lost()

    async def send(self, data: bytes) -> None:
        """Write one encoded message; a closed channel is ignored (host is gone)."""
        try:
            self._stdin.write(data)
            await self._stdin.drain()
        except (ConnectionError, BrokenPipeError, OSError, RuntimeError):
            pass

    def close_stdin(self) -> None:
        """Send EOF: the agent detaches and exits."""
        try:
            self._stdin.write_eof()
        except (OSError, RuntimeError, AttributeError):
            pass

    async def wait(self, timeout: float) -> int | None:
        """Wait for exit; return the exit status, or None if still running."""
        try:
            return await asyncio.wait_for(self._waiter(), timeout)
        except asyncio.TimeoutError:
            return None

    def kill(self) -> None:
        """Last resort: terminate the agent (its probes go with its fds)."""
        try:
            self._killer()
        except (OSError, ProcessLookupError, RuntimeError):
            pass


class Transport(ABC):
    """How the controller reaches one host."""

    def __init__(self, host, options: TransportOptions, log=None, note=None):
        self.host = host
        self.options = options
        self.bytes_pushed = 0
        self.log = log or _quiet  # connection steps, for the host log
        self.note = note or self.log  # what the user should hear about this host
        self._become = None
        self.notes: list[str] = []  # things the host's report should mention

    @property
    def become(self):
        """The host's become settings (sudo or not, as whom, with a password)."""
        if self._become is None:
            self._become = resolve_become(self.host, self.options)
        return self._become

    def lost_reason(self) -> str | None:
        """Why the connection broke mid-run, or None while it is fine."""
        return None

    def agent_process(self, stdin, stdout, stderr, waiter, killer) -> AgentProcess:
        """The agent's process; its stderr answers sudo's prompt when become has one."""
        password = self.become.password
        if self.become.enabled and password is not None:
            stderr = SudoPromptReader(stderr, stdin, password)
        return AgentProcess(stdin, stdout, stderr, waiter, killer, self.lost_reason)

    @abstractmethod
    async def connect(self) -> None:
        """Open the connection; raise HostFailure on failure."""

    @abstractmethod
    async def run_short(self, command: str, data: bytes | None = None) -> bytes:
        """Run a short shell command in the login user's home; return its stdout."""

    @abstractmethod
    async def start(self, command: str) -> AgentProcess:
        """Start a shell command on the host (the agent)."""

    @abstractmethod
    async def close(self) -> None:
        """Close the connection."""

    @property
    def cache_dir(self) -> str:
        """The host's cache dir (inventory var fleet_cache_dir), relative to home."""
        value = self.host.vars.get("fleet_cache_dir") or CACHE_DIR
        if not isinstance(value, str) or not value.strip() or any(
            c in value for c in "\0\n\r"
        ):
            raise HostFailure(
                "cache-error", f"fleet_cache_dir must be a path, got {value!r:.40}"
            )
        value = value.strip()
        return value[2:] if value.startswith("~/") else value

    async def push(self, files: dict[str, bytes]) -> int:
        """Upload the files the host's cache lacks or holds altered; return bytes sent.

        A cache dir that is not a private directory of the login user is a
        cache-error: nothing is pushed to it and nothing from it runs.
        """
        cache = self.cache_dir
        output = await self.run_short(check_command(cache, list(files)))
        problem, cached = parse_check(output)
        if problem:
            user = getattr(getattr(self, "target", None), "user", None)
            raise HostFailure("cache-error", problem_reason(cache, problem, user))
        sent = 0
        for name, data in files.items():
            have = cached.get(name)
            if have == sha256_hex(data):
                continue
            if have is not None:
                self.notes.append(stale_note(name, have))
            await self.run_short(upload_command(cache, name), data)
            sent += len(data)
        self.bytes_pushed += sent
        return sent

    def agent_command(self, bundle_name: str, digest: str) -> str:
        """Shell command running the agent through the verifying loader.

        The loader's text travels on the command line; it runs the bundle only
        from bytes whose sha256 is ``digest``. Every user value is quoted.
        """
        python = self.host.python or DEFAULT_PYTHON
        if python.startswith("auto"):  # Ansible's interpreter discovery modes
            python = DEFAULT_PYTHON  # the agent itself finds a Python with bcc
        bundle = f"{self.cache_dir}/{bundle_name}"
        parts = [python, "-I", "-c", loader_source(), bundle, digest]
        parts = [shlex.quote(p) for p in parts]
        parts = [shlex.quote(word) for word in sudo_argv(self.become)] + parts
        return "cd && exec " + " ".join(parts)

    async def kill_agent(self, pid: int, bundle_name: str) -> None:
        """Last resort for an agent deaf to EOF (stopped, stuck): SIGKILL by pid.

        Only while that pid still runs our bundle (pids are reused).
        """
        check = f"grep -qsF -- {shlex.quote(bundle_name)} /proc/{int(pid)}/cmdline"
        command = f"{check} && kill -KILL {int(pid)}"
        if self.become.enabled:  # best effort: sudo -n (no password prompt here)
            command = f"sudo -n -- sh -c {shlex.quote(command)}"
        try:
            await self.run_short(command + "; true")
        except HostFailure:
            pass


def _quiet(text: str) -> None:
    """A log that keeps nothing (a transport used outside a run)."""


def loader_source() -> str:
    """The agent's verifying bootstrap (agent/loader.py), sent with ``-c``."""
    return (data_dir("agent") / "loader.py").read_text(encoding="utf-8")
