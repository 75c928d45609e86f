"""Local transport: the agent runs as a subprocess on the controller's machine."""

from __future__ import annotations

import asyncio
import errno
import os
from pathlib import Path

from .base import CACHE_DIR, HostFailure, Transport


def _cache_error(err: OSError) -> HostFailure:
    """cache-error naming the path and the errno."""
    name = errno.errorcode.get(err.errno, str(err.errno))
    return HostFailure(
        "cache-error", f"cache {err.filename}: {err.strerror} ({name})"
    )


class LocalTransport(Transport):
    """Reach localhost without SSH (the default when no inventory is given)."""

    def _cache(self) -> Path:
        return Path.home() / CACHE_DIR

    async def connect(self) -> None:
        """Nothing to connect."""

    async def cached_names(self) -> set[str]:
        """Create the 0700 cache dir and list it."""
        cache = self._cache()
        try:
            cache.mkdir(mode=0o700, parents=True, exist_ok=True)
            os.chmod(cache, 0o700)
            return {p.name for p in cache.iterdir()}
        except OSError as err:
            raise _cache_error(err) from None

    async def upload(self, name: str, data: bytes) -> None:
        """Write the file atomically (temp + rename)."""
        tmp = self._cache() / f".tmp-{name}-{os.getpid()}"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, self._cache() / name)
        except OSError as err:
            raise _cache_error(err) from None

    async def start(self, command: str):
        """Run the agent command through /bin/sh in the home directory."""
        try:
            proc = await asyncio.create_subprocess_shell(
                command,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                cwd=str(Path.home()),
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
