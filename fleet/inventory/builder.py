"""Building an Inventory: groups, hosts and vars collected, linked and merged."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..errors import InputError, brief
from .layers import EMPTY, Layer, Origin, host_layers, merge
from .model import Group, Host, Inventory
from .patterns import MAX_HOSTS


class Builder:
    """Collects groups, hosts and vars while sources are parsed, then links them.

    ``path`` is the file being parsed (None for a host list): readers set it
    before each file, so every var remembers where it was set.
    """

    def __init__(self, path: str | None = None):
        self.path = path
        # As in Ansible, ungrouped is all's first child from the start.
        self.groups = {"all": Group("all", children=["ungrouped"]),
                       "ungrouped": Group("ungrouped", parents=["all"])}
        self.host_groups: dict[str, list[str]] = {}
        self.host_vars: dict[str, dict[str, Any]] = {}
        self.host_origins: dict[str, dict[str, Origin]] = {}

    def group(self, name: str) -> Group:
        """The named group, created on first mention."""
        return self.groups.setdefault(name, Group(name))

    def add_host(self, name: str, group: str) -> None:
        """Declare a host (first mention fixes its inventory order) in a group."""
        if name not in self.host_vars and len(self.host_vars) >= MAX_HOSTS:
            message = f"more than {MAX_HOSTS} hosts: an inventory may hold at most that"
            raise InputError(message, self.path)
        self.host_vars.setdefault(name, {})
        self.host_origins.setdefault(name, {})
        if group not in self.host_groups.setdefault(name, []):
            self.host_groups[name].append(group)
            self.group(group).hosts.append(name)

    def set_host_var(self, host: str, key: str, value: Any, line: int | None) -> None:
        """Set a host var; a later setting replaces an earlier one."""
        self.host_vars[host][key] = value
        self.host_origins[host][key] = (self.path, line)

    def set_group_var(self, name: str, key: str, value: Any, line: int | None) -> None:
        """Set a group var; ``ansible_group_priority`` sets the group's priority."""
        group = self.group(name)
        if key != "ansible_group_priority":
            group.vars[key] = value
            group.origins[key] = (self.path, line)
            return
        try:
            if isinstance(value, (bool, float)):
                raise ValueError
            group.priority = int(value)
        except (TypeError, ValueError):
            message = f"ansible_group_priority of group '{name}' must be a whole number"
            got = f"{message}, got {brief(value)}"
            raise InputError(got, self.path, line) from None

    def add_child(self, parent: str, child: str, line: int | None) -> None:
        """Make child a child group of parent, refusing loops as Ansible does."""
        if child == "all":
            message = "group 'all' cannot be a child of another group"
            raise InputError(message, self.path, line)
        if child == parent or parent in self._descendants(child):
            message = f"adding group '{child}' as a child of '{parent}' makes a loop"
            raise InputError(message, self.path, line)
        if child not in self.group(parent).children:
            self.groups[parent].children.append(child)
            self.group(child).parents.append(parent)

    def _descendants(self, name: str) -> set[str]:
        """Every group below the named one."""
        seen: set[str] = set()
        todo = list(self.group(name).children)
        while todo:
            current = todo.pop()
            if current not in seen:
                seen.add(current)
                todo.extend(self.groups[current].children)
        return seen

    def build(
        self, dirs: Sequence = (), extra: Layer = EMPTY, source: str | None = None
    ) -> Inventory:
        """Link groups under ``all``, settle ``ungrouped``, merge each host's vars.

        ``dirs`` are the sources' group_vars/host_vars folders (VarsDir) and
        ``extra`` the -e vars, both merged as layers.py describes.
        """
        for group in list(self.groups.values()):
            if group.name != "all" and not group.parents:
                self.add_child("all", group.name, None)
        depths: dict[str, int] = {}
        for group in self.groups.values():
            group.depth = self._depth(group.name, depths)
        self._settle_ungrouped()
        memberships = {h: self._lineage(g) for h, g in self.host_groups.items()}
        hosts = {
            h: self._merged_host(h, memberships[h], dirs, extra) for h in memberships
        }

        def implicit(name: str) -> Host:
            # Ansible's implicit localhost: not in "all", but it gets all's vars.
            return self._merged_host(name, ["all"], dirs, extra)

        return Inventory(hosts, self.groups, memberships, source or self.path, implicit)

    def _depth(self, name: str, known: dict[str, int]) -> int:
        """Longest path from ``all`` down to the group, as Ansible counts depth."""
        if name not in known:
            parents = self.groups[name].parents
            below = [self._depth(parent, known) + 1 for parent in parents]
            known[name] = max(below, default=0)
        return known[name]

    def _settle_ungrouped(self) -> None:
        """Put hosts only in ``all`` into ``ungrouped``; take grouped hosts out."""
        ungrouped = self.groups["ungrouped"]
        for host, direct in self.host_groups.items():
            grouped = any(g not in ("all", "ungrouped") for g in direct)
            if grouped and "ungrouped" in direct:
                direct.remove("ungrouped")
                ungrouped.hosts.remove(host)
            elif not grouped and "ungrouped" not in direct:
                direct.append("ungrouped")
                ungrouped.hosts.append(host)

    def _lineage(self, direct: list[str]) -> list[str]:
        """The given groups and all their ancestors, in precedence order."""
        found: set[str] = set()
        todo = list(direct)
        while todo:
            name = todo.pop()
            if name not in found:
                found.add(name)
                todo.extend(self.groups[name].parents)
        groups = sorted((self.groups[name] for name in found), key=_precedence)
        return [group.name for group in groups]

    def _merged_host(
        self, name: str, lineage: list[str], dirs: Sequence, extra: Layer
    ) -> Host:
        """A host whose vars are merged from every layer, lowest first."""
        groups = [Layer(self.groups[g].vars, self.groups[g].origins) for g in lineage]
        own = Layer(self.host_vars.get(name, {}), self.host_origins.get(name, {}))
        merged = merge(host_layers(groups, own, dirs, lineage, name, extra))
        return Host(name, merged.vars, merged.origins)


def _precedence(group: Group) -> tuple[int, int, str]:
    """Ansible's order for merging group vars: shallow first, then priority, name."""
    return (group.depth, group.priority, group.name)


def localhost_inventory(extra: Layer = EMPTY) -> Inventory:
    """The inventory used when none is given: ``localhost``, local transport, with
    the -e vars (``extra``) applied as they would be to any host."""
    builder = Builder(None)
    builder.add_host("localhost", "ungrouped")
    builder.set_host_var("localhost", "ansible_connection", "local", None)
    return builder.build(extra=extra)
