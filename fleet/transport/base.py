"""The transport seam: connect, keep a content-addressed cache, run the agent."""

from __future__ import annotations

import asyncio
import shlex
from abc import ABC, abstractmethod
from dataclasses import dataclass, field

from .become import SudoPromptReader, resolve_become, sudo_argv

CACHE_DIR = ".cache/fleet"  # relative to the login user's home directory
DEFAULT_PYTHON = "/usr/bin/python3"


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
    extra: dict = field(default_factory=dict)


class AgentProcess:
    """A running agent: write lines to its stdin, read lines from stdout/stderr."""

    def __init__(self, stdin, stdout, stderr, waiter, killer):
        self._stdin = stdin
        self.stdout = stdout
        self.stderr = stderr
        self._waiter = waiter
        self._killer = killer

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
        return AgentProcess(stdin, stdout, stderr, waiter, killer)

    @abstractmethod
    async def connect(self) -> None:
        """Open the connection; raise HostFailure on failure."""

    @abstractmethod
    async def cached_names(self) -> set[str]:
        """Create the 0700 cache dir if needed and list the files it holds."""

    @abstractmethod
    async def upload(self, name: str, data: bytes) -> None:
        """Write a file into the cache dir atomically."""

    @abstractmethod
    async def start(self, command: str) -> AgentProcess:
        """Start a shell command on the host (the agent)."""

    @abstractmethod
    async def close(self) -> None:
        """Close the connection."""

    async def push(self, files: dict[str, bytes]) -> int:
        """Upload the files the host's cache lacks; return bytes sent."""
        present = await self.cached_names()
        sent = 0
        for name, data in files.items():
            if name not in present:
                await self.upload(name, data)
                sent += len(data)
        self.bytes_pushed += sent
        return sent

    def agent_command(self, bundle_name: str) -> str:
        """Shell command running the agent, every user value quoted."""
        python = self.host.python or DEFAULT_PYTHON
        if python.startswith("auto"):  # Ansible's interpreter discovery modes
            python = DEFAULT_PYTHON  # the agent itself finds a Python with bcc
        parts = [shlex.quote(python), shlex.quote(f"{CACHE_DIR}/{bundle_name}")]
        parts = [shlex.quote(word) for word in sudo_argv(self.become)] + parts
        return "cd && exec " + " ".join(parts)


def _quiet(text: str) -> None:
    """A log that keeps nothing (a transport used outside a run)."""


def list_command() -> str:
    """Shell command: make the private cache dir, list its files."""
    d = shlex.quote(CACHE_DIR)
    return f"cd && umask 077 && mkdir -p {d} && chmod 700 {d} && ls -1A {d}"


def upload_command(name: str) -> str:
    """Shell command: write stdin into the cache under name, atomically."""
    final = shlex.quote(f"{CACHE_DIR}/{name}")
    tmp = shlex.quote(f"{CACHE_DIR}/.tmp-{name}") + "-$$"
    return f"cd && umask 077 && cat > {tmp} && mv -f {tmp} {final}"
