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
# A folder that is really something else (/proc/self, a home directory) is
# refused quickly instead of walked to the end.
MAX_FOLDER_DEPTH = 16
MAX_FOLDER_FILES = 2_000


def is_ignored(name: str) -> bool:
    """True for a folder entry Ansible does not read as an inventory source."""
    return bool(IGNORED_NAMES.search(name)) or name.endswith(IGNORED_SUFFIXES)


def inventory_files(folder: Path) -> list[Path]:
    """The inventory files of a folder, in the order Ansible reads them."""
    found = _walk(folder, set(), 0)
    if not found:
        raise InputError(
            "the inventory folder holds no inventory file (hidden names, "
            "group_vars/, host_vars/ and names ending in "
            f"{', '.join(IGNORED_SUFFIXES)} are skipped)",
            str(folder),
        )
    return found


def _walk(folder: Path, seen: set[str], depth: int) -> list[Path]:
    """Files under folder, sorted by name at each level; symlink loops cut."""
    real = os.path.realpath(folder)
    if real in seen:
        return []
    seen.add(real)
    if depth > MAX_FOLDER_DEPTH:
        raise InputError(f"inventory folders nest deeper than {MAX_FOLDER_DEPTH} "
                         "levels here: is this really an inventory?", str(folder))
    try:
        names = sorted(os.listdir(folder))
    except OSError as err:
        raise InputError(f"cannot read folder: {err.strerror}", str(folder)) from None
    found: list[Path] = []
    for name in names:
        if is_ignored(name):
            continue
        path = folder / name
        try:
            is_dir = path.is_dir()
        except OSError as err:
            raise InputError(f"cannot read: {err.strerror}", str(path)) from None
        found += _walk(path, seen, depth + 1) if is_dir else [path]
        if len(found) > MAX_FOLDER_FILES:
            raise InputError(f"the inventory folder holds more than "
                             f"{MAX_FOLDER_FILES} files: is this really an "
                             "inventory?", str(folder))
    return found
