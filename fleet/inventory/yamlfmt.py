"""YAML inventories: ``all: {hosts, vars, children}`` as yamlsrc loads it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .. import yamlsrc
from ..errors import InputError, brief
from .builder import Builder
from .model import Inventory
from .patterns import parse_host_entry

_YAML_SECTIONS = ("hosts", "vars", "children")
_SECTIONS_HELP = "expected hosts, vars or children"


def _kind(value: Any) -> str:
    """A user-facing name for a YAML value's type."""
    names = {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean",
             int: "a number", float: "a number"}
    for cls, name in names.items():
        if isinstance(value, cls):
            return name
    return "nothing" if value is None else f"a {type(value).__name__}"


def parse_yaml(data: Any, path: str) -> Inventory:
    """An inventory from YAML loaded by yamlsrc (``all: {hosts, vars, children}``)."""
    builder = Builder(path)
    read_yaml(builder, data, path)
    return builder.build()


def read_yaml(builder: Builder, data: Any, path: str) -> None:
    """Add a YAML inventory loaded by yamlsrc (``all: {hosts, vars, children}``)."""
    builder.path = path
    if data is None:
        message = "the inventory is empty: expected groups like 'all: {hosts: ...}'"
        raise InputError(message, path)
    if not isinstance(data, dict):
        message = f"an inventory must map group names to groups, got {_kind(data)}"
        raise InputError(message, path, yamlsrc.line_of(data))
    if "plugin" in data:
        message = "inventory plugin configs are not supported: give hosts and groups"
        raise InputError(message, path, yamlsrc.line_of(data, "plugin"))
    for name, body in data.items():
        _yaml_group(builder, name, body, yamlsrc.line_of(data, name))


def _yaml_group(builder: Builder, name: Any, body: Any, line: int) -> str:
    """Read one group (and, recursively, its children); return its name."""
    if not isinstance(name, str) or not name:
        message = f"a group name must be text, got {brief(name)}"
        raise InputError(message, builder.path, line)
    if body is not None and not isinstance(body, dict):
        expected = f"group '{name}' must be a mapping with hosts/vars/children"
        message = f"{expected}, got {_kind(body)}"
        raise InputError(message, builder.path, line)
    builder.group(name)
    for key, value in (body or {}).items():
        key_line = yamlsrc.line_of(body, key, line)
        if key not in _YAML_SECTIONS:
            message = f"unexpected key '{key}' in group '{name}': {_SECTIONS_HELP}"
            raise InputError(message, builder.path, key_line)
        section = _yaml_section(value, key, name, builder.path, key_line)
        if key == "vars":
            for var, var_value, var_line in _yaml_vars(section, builder.path):
                builder.set_group_var(name, var, var_value, var_line)
        elif key == "hosts":
            _yaml_hosts(builder, name, section)
        else:
            for child, child_body in section.items():
                child_line = yamlsrc.line_of(section, child, key_line)
                child = _yaml_group(builder, child, child_body, child_line)
                builder.add_child(name, child, child_line)
    return name


def _yaml_section(value: Any, key: str, group: str, path: str, line: int) -> dict:
    """A group's hosts/vars/children as a mapping; Ansible allows one bare name."""
    if value is None:
        return {}
    if isinstance(value, str) and key != "vars":
        return {value: None}
    if not isinstance(value, dict):
        what = {"vars": "variable names to values", "hosts": "host names to vars"}.get(
            key, "group names to groups"
        )
        message = f"{key} of group '{group}' must be a mapping of {what}"
        raise InputError(f"{message}, got {_kind(value)}", path, line)
    return value


def _yaml_hosts(builder: Builder, group: str, hosts: dict) -> None:
    """Declare a group's hosts (ranges expanded) with their vars."""
    for entry, host_vars in hosts.items():
        line = yamlsrc.line_of(hosts, entry)
        if isinstance(entry, bool) or not isinstance(entry, (str, int)):
            message = f"a host name must be text, got {brief(entry)}"
            raise InputError(message, builder.path, line)
        if host_vars is not None and not isinstance(host_vars, dict):
            message = f"host '{entry}' in group '{group}' must have a mapping of vars"
            raise InputError(f"{message}, got {_kind(host_vars)}", builder.path, line)
        names, port = parse_host_entry(str(entry), builder.path, line)
        for name in names:
            builder.add_host(name, group)
            if port is not None:
                builder.set_host_var(name, "ansible_port", port, line)
            for var, value, var_line in _yaml_vars(host_vars or {}, builder.path):
                builder.set_host_var(name, var, value, var_line)


def _yaml_vars(values: dict, path: str) -> Iterator[tuple[str, Any, int]]:
    """Each var of a mapping with its line, refusing names that are not text."""
    for key, value in values.items():
        line = yamlsrc.line_of(values, key)
        if not isinstance(key, str) or not key:
            message = f"a variable name must be text, got {brief(key)}"
            raise InputError(message, path, line)
        yield key, value, line
