"""Inventory folders: every inventory file inside, skipping what Ansible skips.

Ansible reads a folder given as an inventory source file by file, sorted by
name, descending into subfolders, and skips hidden names, its own
``group_vars``/``host_vars``/``vars_plugins`` folders and names ending in one
of its ignored extensions (INVENTORY_IGNORE_EXTS: editor backups, package
files, docs, retry files; ``.ini`` is read).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from ..errors import InputError

# Ansible's REJECT_EXTS plus what INVENTORY_IGNORE_EXTS adds by default.
IGNORED_SUFFIXES = (
    ".pyc", ".pyo", ".swp", ".bak", "~", ".rpm", ".md", ".txt", ".rst",
    ".orig", ".cfg", ".retry",
)
IGNORED_NAMES = re.compile(r"^\.|^host_vars$|^group_vars$|^vars_plugins$")


def is_ignored(name: str) -> bool:
    """True for a folder entry Ansible does not read as an inventory source."""
    return bool(IGNORED_NAMES.search(name)) or name.endswith(IGNORED_SUFFIXES)


def inventory_files(folder: Path) -> list[Path]:
    """The inventory files of a folder, in the order Ansible reads them."""
    found = _walk(folder, set())
    if not found:
        raise InputError(
            "the inventory folder holds no inventory file (hidden names, "
            "group_vars/, host_vars/ and names ending in "
            f"{', '.join(IGNORED_SUFFIXES)} are skipped)",
            str(folder),
        )
    return found


def _walk(folder: Path, seen: set[str]) -> list[Path]:
    """Files under folder, sorted by name at each level; symlink loops cut."""
    real = os.path.realpath(folder)
    if real in seen:
        return []
    seen.add(real)
    try:
        names = sorted(os.listdir(folder))
    except OSError as err:
        raise InputError(f"cannot read folder: {err.strerror}", str(folder)) from None
    found: list[Path] = []
    for name in names:
        if is_ignored(name):
            continue
        path = folder / name
        found += _walk(path, seen) if path.is_dir() else [path]
    return found
