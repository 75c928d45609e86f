"""INI inventories (``[group]``, ``:vars``, ``:children``) and ``a,b,`` host lists."""

from __future__ import annotations

import ast
import re
import shlex
import warnings
from typing import Any, NamedTuple

from ..errors import InputError
from .builder import Builder
from .model import Inventory
from .patterns import parse_host_entry

_SECTION = re.compile(r"\[([^:\]\s]+)(?::(\w+))?\]\s*(?:[#;].*)?")
_GROUP_LINE = re.compile(r"([^:\]\s]+)\s*(?:[#;].*)?")
_BAD_SECTION = re.compile(r"\[.*\]\s*(?:[#;].*)?")
_SECTION_HELP = "expected [NAME], [NAME:vars] or [NAME:children] with no spaces"


def parse_ini_value(text: str) -> Any:
    """An INI value as Ansible reads it: a Python literal if it is one, else text."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. invalid escapes in quoted text
            return _plain(ast.literal_eval(text))
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return text


def _plain(value: Any) -> Any:
    """A literal as a var value, as Ansible keeps it: tuples and sets as lists,
    bytes as text, and ``...`` or complex numbers as the text they were."""
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {_plain(key): _plain(item) for key, item in value.items()}
    if isinstance(value, bytes):
        return value.decode("utf-8", "surrogateescape")
    if value is ... or isinstance(value, complex):
        return "..." if value is ... else str(value)
    return value


class _IniReader:
    """Reads an INI inventory line by line, tracking the current section."""

    def __init__(self, path: str, builder: Builder):
        self.builder = builder
        self.path = path
        self.group, self.kind = "ungrouped", "hosts"
        # As Ansible: [g] or [g:children] declares g. A child group not known
        # yet waits here (with its parents) until its section comes, and is
        # linked then, which fixes the order of children; [g:vars] of a group
        # never declared waits too. Whatever still waits at the end is an error.
        self.pending: dict[str, _Pending] = {}

    def read(self, text: str) -> None:
        """Parse every line, then refuse references to groups never declared."""
        self.builder.path = self.path
        for number, raw in enumerate(text.splitlines(), 1):
            line = raw.strip()
            if line and line[0] not in "#;":
                self._line(line, number)
        for group, wait in self.pending.items():
            if wait.kind == "vars":
                message = f"section [{group}:vars] is for a group never defined"
            else:
                message = (f"section [{wait.parents[-1]}:children] includes "
                           f"undefined group '{group}'")
            raise InputError(message, self.path, wait.line)

    def _line(self, line: str, number: int) -> None:
        """Dispatch one non-blank, non-comment line by the current section."""
        if line.startswith("[") and _SECTION.fullmatch(line):
            self._section(line, number)
        elif _BAD_SECTION.fullmatch(line):
            message = f"bad section header '{line}': {_SECTION_HELP}"
            raise InputError(message, self.path, number)
        elif self.kind == "vars":
            self._vars_line(line, number)
        elif self.kind == "children":
            self._child_line(line, number)
        else:
            self._host_line(line, number)

    def _section(self, line: str, number: int) -> None:
        """Enter a ``[group]``, ``[group:vars]`` or ``[group:children]`` section."""
        group, kind = _SECTION.fullmatch(line).groups()
        kind = kind or "hosts"
        if kind not in ("hosts", "vars", "children"):
            message = f"section [{group}:{kind}] has unknown type: {_SECTION_HELP}"
            raise InputError(message, self.path, number)
        if group not in self.builder.groups:
            if kind == "vars" and group not in self.pending:
                self.pending[group] = _Pending(number, "vars", [])
            self.builder.group(group)
        self.group, self.kind = group, kind
        wait = self.pending.get(group)
        if wait is not None and kind != "vars":
            if wait.kind == "children":
                self._link_pending(group, number)
            else:
                del self.pending[group]

    def _link_pending(self, group: str, number: int) -> None:
        """A waited-for child group is declared: link it under its parents."""
        for parent in self.pending[group].parents:
            self.builder.add_child(parent, group, number)
            if parent in self.pending and self.pending[parent].kind == "children":
                self._link_pending(parent, number)
        del self.pending[group]

    def _host_line(self, line: str, number: int) -> None:
        """A host entry (ranges and ``:port`` allowed), then ``key=value`` vars."""
        try:
            tokens = shlex.split(line, comments=True)
        except ValueError as err:
            message = f"cannot read host line: {err} (check quotes)"
            raise InputError(message, self.path, number) from None
        if not tokens:
            return
        host_vars = {}
        for token in tokens[1:]:
            key, sep, value = token.partition("=")
            if not sep or not key:
                message = f"expected key=value host variable, got '{token}'"
                raise InputError(message, self.path, number)
            host_vars[key] = parse_ini_value(value)
        names, port = parse_host_entry(tokens[0], self.path, number)
        for name in names:
            self.builder.add_host(name, self.group)
            if port is not None:
                self.builder.set_host_var(name, "ansible_port", port, number)
            for key, value in host_vars.items():
                self.builder.set_host_var(name, key, value, number)

    def _vars_line(self, line: str, number: int) -> None:
        """One ``key=value`` of a ``[group:vars]`` section (the value is the rest)."""
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            message = f"expected key=value in [{self.group}:vars], got '{line}'"
            raise InputError(message, self.path, number)
        value = parse_ini_value(value.strip())
        self.builder.set_group_var(self.group, key.strip(), value, number)

    def _child_line(self, line: str, number: int) -> None:
        """One child group name of a ``[group:children]`` section."""
        match = _GROUP_LINE.fullmatch(line)
        if match is None:
            message = f"expected a group name in [{self.group}:children], got '{line}'"
            raise InputError(message, self.path, number)
        child = match.group(1)
        if child in self.builder.groups:
            self.builder.add_child(self.group, child, number)
        elif child in self.pending:
            self.pending[child].parents.append(self.group)
        else:
            self.pending[child] = _Pending(number, "children", [self.group])


class _Pending(NamedTuple):
    """A group named before its section: where, how, and who wants it as child."""

    line: int
    kind: str  # "vars" or "children"
    parents: list[str]


def read_ini(builder: Builder, text: str, path: str) -> None:
    """Add Ansible INI text (``[group]``, ``:vars``, ``:children``) to builder."""
    _IniReader(path, builder).read(text)


def parse_ini(text: str, path: str) -> Inventory:
    """An inventory from Ansible INI text (``[group]``, ``:vars``, ``:children``)."""
    builder = Builder(path)
    read_ini(builder, text, path)
    return builder.build()


def read_hostlist(builder: Builder, text: str) -> None:
    """Add the hosts of Ansible's ``-i 'a,b:2222,web[1:3],'`` form, ungrouped."""
    builder.path = None
    entries = [piece.strip() for piece in text.split(",") if piece.strip()]
    if not entries:
        raise InputError(f"the host list -i {text!r} names no host; "
                         "give names like -i 'host1,host2' or -i 'host1,'")
    for entry in entries:
        names, port = parse_host_entry(entry)
        for name in names:
            builder.add_host(name, "ungrouped")
            if port is not None:
                builder.set_host_var(name, "ansible_port", port, None)


def parse_hostlist(text: str) -> Inventory:
    """An inventory from Ansible's ``-i 'a,b:2222,web[1:3],'`` form; all ungrouped."""
    builder = Builder(None)
    read_hostlist(builder, text)
    return builder.build()
