"""``fleet inventory --list/--graph/--host``: the output of ``ansible-inventory``.

The same JSON (groups with ``hosts`` and ``children``, ``_meta.hostvars``
holding each host's merged vars, keys sorted, 4-space indent) and the same
``@group:`` graph, so scripts written for ansible-inventory read fleet's.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterable
from typing import Any

from ..errors import InputError
from .model import Group, Inventory

# Names ansible-inventory leaves out of hostvars: Ansible sets them itself.
INTERNAL_VARS = frozenset((
    "ansible_async_path", "ansible_collection_name", "ansible_config_file",
    "ansible_dependent_role_names", "ansible_diff_mode", "ansible_facts",
    "ansible_forks", "ansible_inventory_sources", "ansible_limit",
    "ansible_play_batch", "ansible_play_hosts", "ansible_play_hosts_all",
    "ansible_play_role_names", "ansible_playbook_python", "ansible_role_name",
    "ansible_role_names", "ansible_run_tags", "ansible_skip_tags",
    "ansible_verbosity", "ansible_version", "inventory_dir", "inventory_file",
    "inventory_hostname", "inventory_hostname_short", "groups", "group_names",
    "hostvars", "playbook_dir", "play_hosts", "role_name", "role_names",
    "role_path", "role_uuid",
))
# ansible-core 2.19 and later name the JSON's encoding profile in _meta.
PROFILE = "inventory_legacy"


def inventory_list(inventory: Inventory, names: Iterable[str]) -> dict[str, Any]:
    """The ``--list`` structure for the given hosts (all, or a limited subset)."""
    available = list(dict.fromkeys(names))
    wanted = set(available)
    result: dict[str, Any] = {}
    _list_group(inventory, inventory.groups["all"], wanted, result, set())
    hostvars = {}
    for name in available:
        host_vars = public_vars(inventory.hosts[name].vars)
        if host_vars:
            hostvars[name] = host_vars
    result["_meta"] = {"hostvars": hostvars, "profile": PROFILE}
    return result


def _list_group(
    inventory: Inventory, group: Group, wanted: set[str], out: dict, seen: set[str]
) -> None:
    """Add group and (once each) its descendants; groups left empty are dropped."""
    entry: dict[str, list[str]] = {}
    if group.name != "all":
        entry["hosts"] = [name for name in group.hosts if name in wanted]
    entry["children"] = list(group.children)
    out[group.name] = entry
    for child in group.children:
        if child not in seen:
            seen.add(child)
            _list_group(inventory, inventory.groups[child], wanted, out, seen)
    for key in ("hosts", "children"):
        if key in entry and not entry[key]:
            del entry[key]
    if not entry:
        del out[group.name]


def inventory_graph(inventory: Inventory, group: str = "all") -> str:
    """The ``--graph`` tree from a group: child groups first, then its hosts."""
    if group not in inventory.groups:
        known = ", ".join(sorted(inventory.groups))
        raise InputError(f"--graph takes a group name; no group '{group}' in "
                         f"{inventory.describe_source()} (groups: {known})")
    return "\n".join(_graph_lines(inventory, group, 0))


def _graph_lines(inventory: Inventory, name: str, depth: int) -> list[str]:
    """One group's lines at depth, its subtree below it."""
    group = inventory.groups[name]
    lines = [_graph_name(f"@{name}:", depth)]
    for child in group.children:
        lines += _graph_lines(inventory, child, depth + 1)
    if name != "all":
        lines += [_graph_name(host, depth + 1) for host in group.hosts]
    return lines


def _graph_name(text: str, depth: int) -> str:
    """ansible-inventory's indentation: ``  |`` per level, then ``--``."""
    return "  |" * depth + "--" + text if depth else text


def host_vars(inventory: Inventory, pattern: str) -> dict[str, Any]:
    """The ``--host H`` vars: the pattern must name exactly one host."""
    hosts = inventory.resolve(pattern)
    if len(hosts) != 1:
        found = f"{len(hosts)} hosts" if hosts else "no host"
        raise InputError(f"--host takes one host; '{pattern}' matches {found} "
                         f"in {inventory.describe_source()}")
    return public_vars(hosts[0].vars)


def public_vars(values: dict[str, Any]) -> dict[str, Any]:
    """A host's vars less the names Ansible keeps for itself."""
    return {k: v for k, v in values.items() if k not in INTERNAL_VARS}


def dumps(data: Any) -> str:
    """JSON as ansible-inventory prints it: sorted keys, indent 4."""
    return json.dumps(data, sort_keys=True, indent=4, default=_jsonable,
                      ensure_ascii=False)


def _jsonable(value: Any) -> Any:
    """YAML's dates and times as ISO text; anything else as its text."""
    if isinstance(value, (datetime.date, datetime.datetime, datetime.time)):
        return value.isoformat()
    return str(value)
