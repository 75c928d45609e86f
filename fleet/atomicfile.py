"""Files written whole or not at all: a temp file beside the target, then rename."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Any, Callable, TextIO


def atomic_write(path: str | os.PathLike, write: Callable[[TextIO], Any],
                 mode: int = 0o600) -> None:
    """Write ``path`` through ``write(out)`` so readers see the old file or the
    whole new one. Owner-only by default: results may carry commands and paths.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with open(fd, "w", encoding="utf-8") as out:
            write(out)
            out.flush()
            os.fchmod(out.fileno(), mode)
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
