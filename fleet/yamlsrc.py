"""YAML loading that remembers the line of every mapping key and list item.

Loaded mappings are ``LineDict`` and sequences ``LineList``: ordinary dict and
list subclasses with a ``line`` (1-based line of the node) and ``lines`` (line
of each key or item), so validation errors can name file:line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from .errors import InputError


class LineDict(dict):
    """A dict that knows its own line and the line of each key."""

    line: int = 0
    lines: dict


class LineList(list):
    """A list that knows its own line and the line of each item."""

    line: int = 0
    lines: list


class _Loader(yaml.SafeLoader):
    """SafeLoader that builds LineDict/LineList with line numbers."""


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> LineDict:
    loader.flatten_mapping(node)
    result = LineDict()
    result.line = node.start_mark.line + 1
    result.lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError:
            raise InputError(
                "a mapping key must be a plain value",
                None,
                key_node.start_mark.line + 1,
            ) from None
        if key in result:
            raise InputError(
                f"duplicate key {key!r} (first on line {result.lines[key]})",
                None,
                key_node.start_mark.line + 1,
            )
        result[key] = loader.construct_object(value_node, deep=True)
        result.lines[key] = key_node.start_mark.line + 1
    return result


def _construct_sequence(loader: _Loader, node: yaml.SequenceNode) -> LineList:
    result = LineList(loader.construct_object(n, deep=True) for n in node.value)
    result.line = node.start_mark.line + 1
    result.lines = [n.start_mark.line + 1 for n in node.value]
    return result


_Loader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping
)
_Loader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence
)


def line_of(container: Any, key: Any = None, default: int = 0) -> int:
    """Return the line of ``container[key]`` (or of the container itself)."""
    if key is not None:
        lines = getattr(container, "lines", None)
        try:
            return lines[key] if lines is not None else default
        except (KeyError, IndexError, TypeError):
            pass
    return getattr(container, "line", default) or default


def load_text(text: str, path: str) -> Any:
    """Parse YAML text; syntax errors become InputError naming path:line."""
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - SafeLoader subclass
    except InputError as err:
        raise InputError(err.message, path, err.line) from None
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line = mark.line + 1 if mark else None
        what = err.problem or "invalid YAML"
        raise InputError(f"YAML syntax error: {what}", path, line) from None
    except yaml.YAMLError as err:
        raise InputError(f"YAML syntax error: {err}", path) from None


def load_file(path: str | Path) -> Any:
    """Read and parse a YAML file; a missing or unreadable file is an InputError."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as err:
        raise InputError(f"cannot read file: {err.strerror}", str(path)) from None
    except UnicodeDecodeError:
        raise InputError("file is not UTF-8 text", str(path)) from None
    return load_text(text, str(path))
