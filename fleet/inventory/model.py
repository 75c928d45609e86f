"""Inventory model: hosts, groups, and selecting hosts with patterns.

Precedence follows Ansible: the ``all`` group's vars, then each group's by
depth below ``all`` (siblings by ``ansible_group_priority``, then by name),
then host vars (merged by builder.py). Patterns (``hosts:`` and ``--limit``)
live in patterns.py.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Callable

from ..errors import InputError, brief
from ..yamlsrc import read_input_text
from .layers import Origin
from .patterns import Selection, evaluate, split_pattern

_TRUE = {"y", "yes", "on", "1", "true", "t"}
_FALSE = {"n", "no", "off", "0", "false", "f"}
_SSH_CONNECTIONS = (None, "ssh", "smart", "paramiko")
_CONNECTION_PROPERTIES = (
    "address", "port", "user", "key_file", "python", "become", "connection"
)


@dataclass
class Host:
    """One inventory host with its merged vars and the connection settings they give."""

    name: str
    vars: dict[str, Any] = field(default_factory=dict)
    origins: dict[str, Origin] = field(default_factory=dict, repr=False, compare=False)

    @property
    def address(self) -> str:
        """Where to connect: ``ansible_host``, else the host's name."""
        return self._text("ansible_host") or self.name

    @property
    def port(self) -> int:
        """SSH port from ``ansible_port``; 22 when unset."""
        value = self.vars.get("ansible_port", 22)
        if isinstance(value, str) and re.fullmatch(r"[0-9]{1,5}", value.strip()):
            value = int(value)
        if type(value) is not int or not 0 < value < 65536:  # bool is no port
            raise self._bad("ansible_port", "a whole number from 1 to 65535")
        return value

    @property
    def user(self) -> str | None:
        """Login user from ``ansible_user``, or None for the SSH default."""
        return self._text("ansible_user")

    @property
    def key_file(self) -> str | None:
        """Private key path from ``ansible_ssh_private_key_file``, or None."""
        return self._text("ansible_ssh_private_key_file")

    @property
    def python(self) -> str | None:
        """Interpreter for the agent from ``ansible_python_interpreter``, or None."""
        return self._text("ansible_python_interpreter")

    @property
    def become(self) -> bool:
        """Whether to run the agent with sudo, read like Ansible's booleans."""
        value = self.vars.get("ansible_become", False)
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower() if isinstance(value, (str, int)) else None
        if text in _TRUE or text in _FALSE:
            return text in _TRUE
        raise self._bad("ansible_become", "yes/no, true/false, on/off or 1/0")

    @property
    def connection(self) -> str:
        """Transport name: "local" for ``ansible_connection=local``, else "ssh"."""
        value = self.vars.get("ansible_connection")
        if value == "local":
            return "local"
        if value in _SSH_CONNECTIONS:
            return "ssh"
        raise self._bad("ansible_connection", "'ssh' or 'local' (fleet has no other)")

    def check(self) -> None:
        """Read every connection setting so a bad one fails before any network I/O."""
        for name in _CONNECTION_PROPERTIES:
            getattr(self, name)

    def _text(self, key: str) -> str | None:
        """A var that must be text (a number is taken as its digits), or None."""
        value = self.vars.get(key)
        if value is None or isinstance(value, str):
            return value
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        raise self._bad(key, "text")

    def _bad(self, key: str, expected: str) -> InputError:
        """An error naming the host, the var, where it was set and what was wanted."""
        path, line = self.origins.get(key, (None, None))
        value = self.vars.get(key)
        message = f"host '{self.name}': {key} must be {expected}, got {brief(value)}"
        return InputError(message, path, line)


@dataclass
class Group:
    """One inventory group: its own vars, direct hosts and child groups."""

    name: str
    vars: dict[str, Any] = field(default_factory=dict)
    origins: dict[str, Origin] = field(default_factory=dict, repr=False)
    hosts: list[str] = field(default_factory=list)
    children: list[str] = field(default_factory=list)
    parents: list[str] = field(default_factory=list)
    priority: int = 1
    depth: int = 0


class Inventory:
    """Hosts and groups with resolved vars, queried with Ansible host patterns."""

    def __init__(
        self,
        hosts: dict[str, Host],
        groups: dict[str, Group],
        memberships: dict[str, list[str]],
        source: str | None = None,
        implicit: Callable[[str], Host] | None = None,
    ):
        self.hosts = hosts
        self.groups = groups
        self.source = source
        self._implicit = implicit
        self._memberships = memberships
        self._members: dict[str, list[str]] = {name: [] for name in groups}
        for host, names in memberships.items():  # hosts are in inventory order
            for name in names:
                self._members[name].append(host)


    def groups_of(self, host: Host | str) -> list[str]:
        """Sorted names of every group a host is in (ancestors too), but not ``all``."""
        name = host.name if isinstance(host, Host) else host
        return sorted(g for g in self._memberships.get(name, []) if g != "all")

    def resolve(self, pattern: str) -> list[Host]:
        """Hosts a pattern selects, in inventory order; empty when none match."""
        names = self._evaluate(_pattern_terms(pattern)).names
        return [self._host(name) for name in names]

    def unmatched(self, pattern: str, limit: str | None = None) -> list[str]:
        """Terms of a pattern (and of a limit) that match no host on their own."""
        missing = self._evaluate(_pattern_terms(pattern)).unmatched
        if limit is not None:
            missing += self._evaluate(_limit_terms(limit)).unmatched
        return missing

    def select(
        self, pattern: str, limit: str | None = None, check: bool = True
    ) -> list[Host]:
        """Hosts matching pattern and limit, each checked for bad connection vars
        (unless ``check`` is False: a listing shows hosts fleet cannot reach)."""
        hosts = self.resolve(pattern)
        if limit is not None:
            allowed = set(self._evaluate(_limit_terms(limit)).names)
            hosts = [host for host in hosts if host.name in allowed]
        for host in hosts if check else ():
            host.check()
        return hosts

    def target(
        self, pattern: str, limit: str | None = None, check: bool = True
    ) -> tuple[list[Host], list[str]]:
        """Hosts a command reaches and a warning per pattern term matching none.

        No host left at all is an InputError naming the pattern, the limit
        and the inventory, as Ansible refuses a run with no hosts to target.
        """
        hosts = self.select(pattern, limit, check)
        warnings = [f"could not match supplied host pattern, ignoring: {term}"
                    for term in self.unmatched(pattern, limit)]
        if not hosts:
            what = f"the host pattern '{pattern}'"
            what += f" limited by '{limit}'" if limit is not None else ""
            raise InputError(f"no host matches {what} in {self.describe_source()}")
        return hosts, warnings

    def describe_source(self) -> str:
        """The inventory's sources, for messages."""
        if self.source:
            return f"inventory {self.source}"
        return ("the implicit localhost inventory (no -i, ANSIBLE_INVENTORY or "
                "ansible.cfg inventory was given)")

    def describe(self, hosts: Iterable[Host]) -> list[dict[str, Any]]:
        """Plain records (name, groups, vars) of hosts, for listings and JSON."""
        return [
            {"name": h.name, "groups": self.groups_of(h), "vars": dict(h.vars)}
            for h in hosts
        ]

    def _evaluate(self, terms: list[str]) -> Selection:
        """Run the pattern algebra over this inventory's names."""
        return evaluate(terms, list(self.hosts), self._members)

    def _host(self, name: str) -> Host:
        """The named host, or Ansible's implicit localhost for a local name."""
        if name in self.hosts:
            return self.hosts[name]
        # Ansible's implicit localhost: not in "all", but it gets all's vars.
        everyone = self.groups["all"]
        host = (self._implicit(name) if self._implicit
                else Host(name, dict(everyone.vars), dict(everyone.origins)))
        host.vars["ansible_connection"] = "local"
        return host


def _pattern_terms(pattern: str) -> list[str]:
    """A pattern's terms; an empty pattern is an error, not "all"."""
    terms = split_pattern(pattern)
    if not terms:
        raise InputError("the host pattern is empty: name hosts or groups, or 'all'")
    return terms


def _limit_terms(limit: str) -> list[str]:
    """A limit's terms, with each ``@file`` replaced by the names in that file."""
    terms: list[str] = []
    for term in split_pattern(limit):
        terms += _read_limit_file(term[1:]) if term.startswith("@") else [term]
    if not terms:
        raise InputError("--limit is empty: name hosts or groups to keep")
    return terms


def _read_limit_file(path: str) -> list[str]:
    """Host names or patterns from a limit file, one a line."""
    try:
        text = read_input_text(path)
    except InputError as err:
        raise InputError(f"cannot read limit file: {err.message}", path) from None
    return [line.strip() for line in text.splitlines() if line.strip()]
