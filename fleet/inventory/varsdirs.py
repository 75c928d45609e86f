"""``group_vars/`` and ``host_vars/`` beside an inventory, as Ansible reads them.

For a group or host NAME, Ansible's host_group_vars plugin takes the first
of ``NAME``, ``NAME.yml``, ``NAME.yaml``, ``NAME.json`` that exists. If that
is a folder, every file in it (and in its subfolders) with no extension or
one of those three is read, sorted by name, hidden names and ``~`` backups
skipped, later files replacing earlier files' values.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .. import yamlsrc
from ..errors import InputError
from .layers import EMPTY, Layer, merge

VARS_SUFFIXES = (".yml", ".yaml", ".json")


class VarsDir:
    """The group_vars/ and host_vars/ folders of one inventory source."""

    def __init__(self, base: Path):
        self.base = base
        self._cache: dict[tuple[str, str], Layer] = {}

    def group(self, name: str) -> Layer:
        """Vars of group_vars/NAME (empty when there is none)."""
        return self._layer("group_vars", name)

    def host(self, name: str) -> Layer:
        """Vars of host_vars/NAME (empty when there is none)."""
        return self._layer("host_vars", name)

    def _layer(self, kind: str, name: str) -> Layer:
        key = (kind, name)
        if key not in self._cache:
            files = vars_files(self.base / kind, name)
            self._cache[key] = merge(load_vars_file(path) for path in files)
        return self._cache[key]


def vars_files(folder: Path, name: str) -> list[Path]:
    """The files holding NAME's vars under folder, in the order they apply."""
    if "/" in name or name.startswith(".") or not folder.is_dir():
        return []
    for suffix in ("", *VARS_SUFFIXES):
        path = folder / f"{name}{suffix}"
        if path.is_dir():
            return _folder_files(path)
        if path.exists():
            return [path]
    return []


def _folder_files(folder: Path) -> list[Path]:
    """Vars files in a NAME/ folder: sorted, recursive, valid extensions only."""
    found: list[Path] = []
    for path in sorted(folder.iterdir(), key=lambda p: p.name):
        if path.name.startswith(".") or path.name.endswith("~"):
            continue
        if path.is_dir() and not path.suffix:
            found += _folder_files(path)
        elif path.is_file() and (not path.suffix or path.suffix in VARS_SUFFIXES):
            found.append(path)
    return found


def load_vars_file(path: Path) -> Layer:
    """One vars file (YAML or JSON): a mapping of names to values, or empty."""
    data = yamlsrc.load_file(path)
    if data is None:
        return EMPTY
    if not isinstance(data, dict):
        raise InputError(
            f"a vars file must map variable names to values, got {_kind(data)}",
            str(path),
            yamlsrc.line_of(data) or None,
        )
    origins = {}
    for key in data:
        line = yamlsrc.line_of(data, key)
        if not isinstance(key, str) or not key:
            raise InputError(
                f"a variable name must be text, got {key!r}", str(path), line
            )
        origins[key] = (str(path), line)
    return Layer(dict(data), origins)


def _kind(value: Any) -> str:
    """A user-facing name for a YAML value's type."""
    return "a list" if isinstance(value, list) else f"{type(value).__name__} {value!r}"
