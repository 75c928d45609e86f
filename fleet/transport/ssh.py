"""SSH transport (asyncssh): settings resolved like OpenSSH, host keys always checked.

Where to connect, as whom and with which keys comes from sshconfig.py; this
module only connects (through ProxyJump hops if any), checks host keys against
known_hosts (recording a first-seen key only when asked to), runs the cache
commands and the agent, and maps failures to host outcomes.
"""

from __future__ import annotations

import asyncio
import os

import asyncssh

from ..errors import InputError
from . import hostkeys
from .base import KEEPALIVE_COUNT_MAX, HostFailure, Transport
from .diagnosis import command_failure
from .sshconfig import SSHTarget, default_identity_files, resolve_jump, resolve_target


class _SessionWatch(asyncssh.SSHClient):
    """Notices a connection that breaks while fleet still uses it."""

    def __init__(self, transport: SSHTransport):
        self._transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        """Keep why the connection ended, unless fleet closed it."""
        if exc is not None and not self._transport.closing:
            self._transport.lost = str(exc) or type(exc).__name__


class SSHTransport(Transport):
    """Reach a host over SSH with one connection for the whole run."""

    conn: asyncssh.SSHClientConnection | None = None

    def __init__(self, host, options, log=None, note=None):
        super().__init__(host, options, log, note)
        self.target: SSHTarget | None = None
        self.address: str | None = None
        self.jumps: list[asyncssh.SSHClientConnection] = []
        self.lost: str | None = None
        self.closing = False

    async def connect(self) -> None:
        """Resolve, connect (via jumps), authenticate; map failures to outcomes."""
        try:
            target = resolve_target(self.host, self.options)
        except InputError as err:  # plan_run checks this before any connection
            raise HostFailure("unreachable", str(err)) from None
        self.target, self.address = target, target.hostname
        self._log_target(target)
        tunnel = None
        for jump in target.proxy_jump:
            try:
                hop = resolve_jump(jump, target, self.options)
            except InputError as err:
                raise HostFailure("unreachable", str(err)) from None
            self.log(f"ssh: jump {jump}: {self._describe(hop)}")
            tunnel = await self._open(hop, tunnel, f"via ProxyJump {jump}: ")
            self.jumps.append(tunnel)
        via = ",".join(str(j) for j in target.proxy_jump)
        self.conn = await self._open(
            target, tunnel, f"via ProxyJump {via}: " if via else "", watch=True
        )
        self.log("ssh: connected")

    def _log_target(self, t: SSHTarget) -> None:
        """The resolved settings, into the host log (what -v shows)."""
        s = t.sources
        self.log(f"ssh: {t.name}: {self._describe(t)}")
        self.log(f"ssh: user from {s['user']}, address from {s['destination']}"
                 f"{' and ssh_config HostName' if t.hostname != t.destination else ''}"
                 f", port from {s['port']}; ssh_config: {s['config']}")
        self.log(f"ssh: identities: {self._identities(t)}")
        if t.proxy_jump:
            self.log(f"ssh: proxy jump {','.join(str(j) for j in t.proxy_jump)}")
        self.log(f"ssh: known_hosts {', '.join(t.known_hosts)} ({s['known_hosts']})"
                 f"{'; first-seen keys recorded' if self._accepts(t) else ''}")
        if t.strict_host_key_checking in ("no", "off"):
            self.log(f"ssh: StrictHostKeyChecking {t.strict_host_key_checking} is "
                     "not honoured: host keys are always checked (accept-new or "
                     "--accept-new-host-keys records unknown ones)")
        for note in t.notes:
            self.log(f"ssh: {note}")

    @staticmethod
    def _describe(t: SSHTarget) -> str:
        return f"{t.user}@{t.hostname}:{t.port}, connect timeout {t.connect_timeout:g}s"

    def _accepts(self, t: SSHTarget) -> bool:
        return hostkeys.accepts_new(t, self.options)

    @staticmethod
    def _identities(t: SSHTarget) -> str:
        """The keys this target will offer, in order, for logs and auth failures."""
        parts = []
        for path in t.identity_files or default_identity_files():
            missing = "" if os.path.isfile(path) else " (missing)"
            parts.append(f"key {path}{missing}")
        if not t.identity_files:
            parts.append("(defaults ~/.ssh/id_*)")
        if t.agent_path:
            only = ", only those keys" if t.identities_only else ""
            parts.append(f"ssh-agent {t.agent_path}{only}")
        return "; ".join(parts) or "none"

    def _connect_args(self, t: SSHTarget, tunnel, known, watch: bool) -> dict:
        """asyncssh.connect arguments: everything explicit, no config re-read."""
        keys = [p for p in t.identity_files if os.path.isfile(p)]
        agent_ids = None
        if t.identities_only:
            agent_ids = keys or default_identity_files()
        args = dict(
            host=t.hostname, port=t.port, tunnel=tunnel or (), config=None,
            username=t.user, known_hosts=known,
            client_keys=keys or (), ignore_encrypted=True,
            agent_path=t.agent_path, agent_identities=agent_ids,
            password=None, kbdint_auth=False,
            keepalive_interval=(t.keepalive_interval if self.options.keepalive_s
                                is None else self.options.keepalive_s),
            connect_timeout=t.connect_timeout,
        )
        args["keepalive_count_max"] = (KEEPALIVE_COUNT_MAX if t.keepalive_count_max
                                       is None else t.keepalive_count_max)
        if t.proxy_command:
            args["proxy_command"] = t.proxy_command
        if watch:
            args["client_factory"] = lambda: _SessionWatch(self)
        return args

    async def _open(self, t: SSHTarget, tunnel, prefix: str, watch=False):
        """One SSH connection with host key checking; HostFailure on failure."""
        known = hostkeys.lookup(t)
        accept = not known.listed and self._accepts(t)
        where = f"{prefix}{t.user}@{t.hostname}:{t.port}"
        try:
            conn = await asyncio.wait_for(
                asyncssh.connect(**self._connect_args(
                    t, tunnel, None if accept else known.trusted, watch)),
                t.connect_timeout + 5,
            )
        except asyncssh.HostKeyNotVerifiable:
            offered = await hostkeys.offered_key(t, tunnel)
            explain = (hostkeys.changed_reason if known.listed
                       else hostkeys.unknown_reason)
            reason = prefix + explain(t, known, offered)
            raise HostFailure("host-key-failed", reason) from None
        except asyncssh.PermissionDenied as err:
            raise HostFailure(
                "auth-failed", f"{where}: permission denied ({err.reason}); "
                f"offered: {self._identities(t)}") from None
        except asyncssh.DisconnectError as err:
            raise HostFailure("unreachable", f"{where}: disconnected ({err.reason})") \
                from None
        except asyncio.TimeoutError:
            raise HostFailure(
                "unreachable", f"{where}: connect timed out after "
                f"{t.connect_timeout:g}s") from None
        except asyncssh.ChannelOpenError as err:
            raise HostFailure(
                "unreachable", f"{where}: the jump host did not forward the "
                f"connection ({err.reason}; its sshd may forbid it: "
                "AllowTcpForwarding)") from None
        except (OSError, asyncssh.Error, ValueError) as err:
            text = getattr(err, "strerror", None) or str(err) or type(err).__name__
            raise HostFailure("unreachable", f"{where}: {text}") from None
        if accept:
            fp = hostkeys.record(known, conn.get_server_host_key())
            self.note(f"recorded the new host key of {known.name} ({fp}) "
                      f"in {known.record_to}")
        return conn

    async def run_short(self, command: str, data: bytes | None = None) -> bytes:
        """Run a short command; raise HostFailure if it fails."""
        try:
            result = await self.conn.run(
                command, input=data, encoding=None, check=False
            )
        except (OSError, asyncssh.Error) as err:
            raise HostFailure("connection-lost", f"connection lost: {err}") from None
        if result.exit_status != 0:
            err = (result.stderr or b"").decode("utf-8", "replace")
            user = self.target.user if self.target else None
            raise command_failure(command[:60], err, user)
        return result.stdout or b""

    async def start(self, command: str):
        """Start the agent on one exec channel."""
        try:
            proc = await self.conn.create_process(command, encoding=None)
        except (OSError, asyncssh.Error) as err:
            raise HostFailure("connection-lost", f"cannot start agent: {err}") \
                from None

        async def waiter():
            await proc.wait_closed()
            return proc.exit_status

        return self.agent_process(
            proc.stdin, proc.stdout, proc.stderr, waiter, proc.terminate
        )

    def lost_reason(self) -> str | None:
        """Why the SSH connection broke mid-run, or None."""
        return self.lost

    async def close(self) -> None:
        """Close the SSH connection and any jump connections under it."""
        self.closing = True
        for conn in [self.conn, *reversed(self.jumps)]:
            if conn is None:
                continue
            conn.close()
            try:
                await asyncio.wait_for(conn.wait_closed(), 5)
            except (asyncio.TimeoutError, OSError, asyncssh.Error):
                pass
        self.conn, self.jumps = None, []
