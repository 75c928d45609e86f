"""YAML loading that remembers the line of every mapping key and list item.

Loaded mappings are ``LineDict`` and sequences ``LineList``: ordinary dict and
list subclasses with a ``line`` (1-based line of the node) and ``lines`` (line
of each key or item), so validation errors can name file:line.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import yaml

from .errors import InputError, brief


class LineDict(dict):
    """A dict that knows its own line and the line of each key."""

    line: int = 0
    lines: dict


class LineList(list):
    """A list that knows its own line and the line of each item."""

    line: int = 0
    lines: list


# Bounds on what a file may make us build: inventories and playbooks are small,
# and an alias bomb or a deep nest must end in an error, not a hang or a crash.
MAX_FILE_BYTES = 16 * 1024 * 1024
MAX_DEPTH = 64  # nested mappings and lists
MAX_NODES = 200_000  # values once every alias is expanded


class _Loader(yaml.SafeLoader):
    """SafeLoader that builds LineDict/LineList with line numbers, within bounds."""

    depth = 0

    def compose_node(self, parent, index):
        """Compose one node, refusing nests deeper than MAX_DEPTH."""
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                line = self.peek_event().start_mark.line + 1
                why = f"values nested more than {MAX_DEPTH} deep"
                raise InputError(why, None, line)
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1

    def construct_object(self, node, deep=False):
        """Construct one value; one Python cannot hold (a huge int) names its line."""
        try:
            return super().construct_object(node, deep)
        except ValueError as err:
            line = node.start_mark.line + 1
            why = f"value cannot be read: {str(err)[:70]}"
            raise InputError(why, None, line) from None

    def get_single_node(self):
        """The document's node, once its size with aliases expanded is known."""
        node = super().get_single_node()
        if node is not None:
            _check_expanded_size(node)
        return node


def _check_expanded_size(root: yaml.Node) -> None:
    """Refuse a document whose aliases expand to more than MAX_NODES values.

    Sizes are summed bottom-up once per distinct node, so the check itself
    stays linear in the file however far the aliases would expand.
    """
    sizes: dict[int, int] = {}
    todo = [(root, False)]
    while todo:
        node, children_done = todo.pop()
        if id(node) in sizes:
            continue
        kids = _children(node)
        if not children_done:
            todo.append((node, True))
            todo.extend((kid, False) for kid in kids if id(kid) not in sizes)
            continue
        size = 1 + sum(sizes[id(kid)] for kid in kids)
        if size > MAX_NODES:
            raise InputError(
                f"values here expand to more than {MAX_NODES} items once YAML "
                "aliases (*name) are expanded", None, node.start_mark.line + 1
            )
        sizes[id(node)] = size


def _children(node: yaml.Node) -> list:
    """The child nodes of a mapping (keys and values) or sequence."""
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


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
                f"duplicate key {brief(key)} (first on line {result.lines[key]})",
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
    except ValueError as err:  # e.g. an integer past Python's digit limit
        raise InputError(f"a value cannot be read: {str(err)[:80]}", path) from None
    except RecursionError:
        raise InputError(f"values nested more than {MAX_DEPTH} deep", path) from None


def read_input_text(path: str | Path, limit: int = MAX_FILE_BYTES) -> str:
    """A user's input file as text: a regular file, at most limit bytes, UTF-8.

    A device (/dev/zero), a FIFO or a huge file is refused before reading it.
    """
    where = str(path)
    try:
        with open(path, "rb") as source:
            info = os.fstat(source.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise InputError("not a regular file (a device, FIFO or socket?): "
                                 "name a file", where)
            if info.st_size > limit:
                raise InputError(f"file is {info.st_size} bytes; at most {limit} "
                                 "are read", where)
            data = source.read(limit + 1)
    except OSError as err:
        raise InputError(f"cannot read file: {err.strerror}", where) from None
    if len(data) > limit:
        raise InputError(f"file is larger than {limit} bytes", where)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError("file is not UTF-8 text", where) from None


def load_file(path: str | Path) -> Any:
    """Read and parse a YAML file; a missing or unreadable file is an InputError."""
    return load_text(read_input_text(path), str(path))
