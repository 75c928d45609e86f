"""SSH transport (asyncssh): host keys checked against known_hosts, never accepted."""

from __future__ import annotations

import asyncio
import os

import asyncssh

from .base import KEEPALIVE_COUNT_MAX, AgentProcess, HostFailure, Transport


class _LossWatch(asyncssh.SSHClient):
    """Remembers why the connection ended (keepalive timeout, reset, ...)."""

    def __init__(self, transport: SSHTransport):
        self.transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        if exc is not None:
            self.transport.lost_reason = str(exc) or type(exc).__name__


class SSHTransport(Transport):
    """Reach a host over SSH with one connection for the whole run."""

    conn: asyncssh.SSHClientConnection | None = None
    lost_reason: str | None = None

    def _known_hosts(self) -> str:
        """The known_hosts file: inventory var, then --known-hosts, then ~/.ssh."""
        for path in (
            self.host.vars.get("fleet_known_hosts"),
            self.options.known_hosts,
            os.path.expanduser("~/.ssh/known_hosts"),
        ):
            if path:
                path = os.path.expanduser(str(path))
                if os.path.isfile(path):
                    return path
                raise HostFailure(
                    "host-key-failed", f"known_hosts file {path} not found"
                )
        raise HostFailure("host-key-failed", "no known_hosts file")  # pragma: no cover

    def _client_keys(self):
        """Explicit key from the inventory, else asyncssh's defaults (~/.ssh/id_*)."""
        key = self.host.key_file
        return [os.path.expanduser(key)] if key else ()

    async def connect(self) -> None:
        """Connect and authenticate; map failures to host outcomes."""
        address, port = self.host.address, self.host.port
        where = f"{address}:{port}"
        try:
            self.conn = await asyncio.wait_for(
                asyncssh.connect(
                    address,
                    port=port,
                    username=self.host.user or None,
                    known_hosts=self._known_hosts(),
                    client_keys=self._client_keys() or None,
                    password=None,
                    kbdint_auth=False,
                    keepalive_interval=self.options.keepalive_s,
                    keepalive_count_max=KEEPALIVE_COUNT_MAX,
                    client_factory=lambda: _LossWatch(self),
                    connect_timeout=self.options.connect_timeout,
                ),
                self.options.connect_timeout + 5,
            )
        except asyncssh.HostKeyNotVerifiable as err:
            raise HostFailure(
                "host-key-failed",
                f"{where}: host key not verified against known_hosts ({err.reason})",
            ) from None
        except asyncssh.PermissionDenied as err:
            raise HostFailure(
                "auth-failed", f"{where}: permission denied ({err.reason})"
            ) from None
        except asyncssh.DisconnectError as err:
            raise HostFailure(
                "unreachable", f"{where}: disconnected ({err.reason})"
            ) from None
        except asyncio.TimeoutError:
            raise HostFailure(
                "unreachable",
                f"{where}: connect timed out after {self.options.connect_timeout:g}s",
            ) from None
        except (OSError, asyncssh.Error, ValueError) as err:  # (a NUL in a name)
            text = getattr(err, "strerror", None) or str(err) or type(err).__name__
            raise HostFailure("unreachable", f"{where}: {text}") from None

    async def run_short(self, command: str, data: bytes | None = None) -> bytes:
        """Run a short command; raise HostFailure if it fails."""
        try:
            result = await self.conn.run(
                command, input=data, encoding=None, check=False
            )
        except (OSError, asyncssh.Error) as err:
            raise HostFailure("unreachable", f"connection lost: {err}") from None
        if result.exit_status != 0:
            err = (result.stderr or b"").decode("utf-8", "replace").strip()
            raise HostFailure("agent-crashed", f"'{command[:60]}' failed: {err[-300:]}")
        return result.stdout or b""

    async def start(self, command: str) -> AgentProcess:
        """Start the agent on one exec channel."""
        try:
            proc = await self.conn.create_process(command, encoding=None)
        except (OSError, asyncssh.Error) as err:
            raise HostFailure("unreachable", f"cannot start agent: {err}") from None

        async def waiter():
            await proc.wait_closed()
            return proc.exit_status

        return AgentProcess(
            proc.stdin, proc.stdout, proc.stderr, waiter, proc.terminate,
            lambda: self.lost_reason,
        )

    async def close(self) -> None:
        """Close the SSH connection."""
        if self.conn is not None:
            self.conn.close()
            try:
                await asyncio.wait_for(self.conn.wait_closed(), 5)
            except (asyncio.TimeoutError, OSError, asyncssh.Error):
                pass
            self.conn = None
