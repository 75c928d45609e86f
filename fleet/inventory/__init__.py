"""Ansible-compatible inventory: YAML and INI files, host lists, groups and vars.

The package is split by responsibility:

- ``model``: Host, Group and Inventory (select, resolve, describe);
- ``builder``: collecting groups, hosts and vars, and merging them by precedence;
- ``yamlfmt``: YAML inventories;
- ``inifmt``: INI inventories and ``host1,host2,`` lists;
- ``loading``: ``load_inventory``, which reads every source into one inventory;
- ``folders``: inventory folders, skipping what Ansible skips;
- ``varsdirs``: ``group_vars/`` and ``host_vars/`` beside a source;
- ``layers``: the order vars are merged in (Ansible's precedence);
- ``extravars``: ``-e/--extra-vars``;
- ``ansiblejson``: ``--list``, ``--graph`` and ``--host`` as ansible-inventory;
- ``patterns``: host ranges and the host-pattern selection algebra;
- ``listing``: ``format_hosts``, the plain-text listing.
"""

from __future__ import annotations

from .inifmt import parse_hostlist, parse_ini, parse_ini_value
from .layers import Origin
from .listing import format_hosts
from .loading import load_inventory
from .model import Group, Host, Inventory
from .patterns import Selection, evaluate, parse_host_entry, split_pattern
from .yamlfmt import parse_yaml

__all__ = [
    "Group",
    "Host",
    "Inventory",
    "Origin",
    "Selection",
    "evaluate",
    "format_hosts",
    "load_inventory",
    "parse_host_entry",
    "parse_hostlist",
    "parse_ini",
    "parse_ini_value",
    "parse_yaml",
    "split_pattern",
]
