"""Local transport: the agent runs as a subprocess on the controller's machine."""

from __future__ import annotations

import asyncio

from .base import HostFailure, Transport
from .diagnosis import command_failure


class LocalTransport(Transport):
    """Reach localhost without SSH (the default when no inventory is given)."""

    async def connect(self) -> None:
        """Nothing to connect."""

    async def run_short(self, command: str, data: bytes | None = None) -> bytes:
        """Run a short command through /bin/sh (it starts in the home directory)."""
        try:
            proc = await asyncio.create_subprocess_shell(
                command,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )  # the commands cd home themselves, and say so when they cannot
            out, err = await proc.communicate(data or b"")
        except OSError as error:
            raise HostFailure("agent-crashed", f"cannot run a shell: {error}") from None
        if proc.returncode != 0:
            raise command_failure(command[:60], err.decode("utf-8", "replace"), None)
        return out

    async def start(self, command: str):
        """Run the agent command through /bin/sh (it starts with cd)."""
        try:
            proc = await asyncio.create_subprocess_shell(
                command,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                start_new_session=True,
                limit=1 << 24,
            )
        except OSError as err:
            raise HostFailure("agent-crashed", f"cannot start agent: {err}") from None
        return self.agent_process(
            proc.stdin, proc.stdout, proc.stderr, proc.wait, proc.terminate
        )

    async def close(self) -> None:
        """Nothing to close."""
