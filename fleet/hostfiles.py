"""A host's files in a run folder: names safe for any host name, private modes.

A host name comes from an inventory and may hold ``/``, ``..``, NUL or
control characters; its files are named by an escaped form of it (the real
name stays in results.json). Folders are 0700 and files 0600: host logs and
event files carry the same command lines and paths as results.json.
"""

from __future__ import annotations

import errno
import hashlib
import os
import string
from pathlib import Path

HOSTS_DIR = "hosts"
_KEEP = frozenset(string.ascii_letters + string.digits + "._-")
_MAX_STEM = 120  # file names stay well under the 255-byte limit
SEPARATOR = "~"  # between host, job and output in an event file name; escaped in each


def file_stem(name: str) -> str:
    """An escaped, path-safe form of name: one file name, never hidden, injective.

    Bytes outside ``[A-Za-z0-9._-]`` become ``%XX``; a leading dot too, so
    ``.`` and ``..`` cannot name a directory. Long names are cut and end in a
    hash of the whole name.
    """
    raw = str(name).encode("utf-8", "surrogatepass")
    stem = "".join(
        chr(b) if chr(b) in _KEEP and not (i == 0 and b == ord(".")) else f"%{b:02X}"
        for i, b in enumerate(raw)
    )
    if not stem:
        return "%00empty"
    if len(stem) > _MAX_STEM:
        digest = hashlib.sha256(raw).hexdigest()[:16]
        stem = f"{stem[:_MAX_STEM - 18]}~~{digest}"
    return stem


def log_name(host: str) -> str:
    """A host's log, relative to the run folder."""
    return f"{HOSTS_DIR}/{file_stem(host)}.log"


def events_name(host: str, job: str, output: str) -> str:
    """A host's event file for one output, relative to the run folder."""
    parts = SEPARATOR.join(file_stem(p) for p in (host, job, output))
    return f"{HOSTS_DIR}/{parts}.jsonl"


def make_private_dir(path: Path) -> None:
    """Create path (and missing parents) and make it 0700; raise OSError."""
    for above in (path.parent, *path.parent.parents):
        if above.exists() or above.is_symlink():
            if not above.is_dir():  # mkdir would say EEXIST, which misleads
                raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR),
                                         str(above))
            break
    path.parent.mkdir(parents=True, exist_ok=True)
    path.mkdir(exist_ok=True, mode=0o700)
    os.chmod(path, 0o700)  # an existing folder too: the umask may have widened it


def open_private(path: Path, append: bool = False):
    """Open a text file for writing, 0600, never through a symlink."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
    flags |= os.O_APPEND if append else os.O_TRUNC
    fd = os.open(path, flags, 0o600)
    return os.fdopen(fd, "a" if append else "w", encoding="utf-8")
