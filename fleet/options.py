"""The settings of a command that reaches hosts: its command line first, then
ANSIBLE_* variables and ansible.cfg (ansible_config.py), then fleet's defaults.
"""

from __future__ import annotations

from typing import Any

from .ansible_config import AnsibleConfig
from .inventory import Inventory, load_inventory
from .inventory.extravars import parse_extra_vars
from .transport.base import TransportOptions


def first(*values: Any) -> Any:
    """The first value that is not None (the precedence of one setting)."""
    return next((value for value in values if value is not None), None)


def inventory_for(args, config: AnsibleConfig) -> Inventory:
    """The inventory of -i (else ANSIBLE_INVENTORY / ansible.cfg) with -e on top."""
    sources = config.inventory_sources(args.inventory)
    return load_inventory(sources, parse_extra_vars(args.extra_vars))


def transport_options(args, config: AnsibleConfig) -> TransportOptions:
    """Connection settings: -T, -u, --private-key, -b, --accept-new-host-keys
    over the environment and ansible.cfg; fleet's defaults (TransportOptions')
    for what none sets."""
    given = {
        "known_hosts": args.known_hosts,
        "connect_timeout": first(args.timeout, config.get("timeout")),
        "user": first(getattr(args, "user", None), config.get("remote_user")),
        "private_key": first(getattr(args, "private_key", None),
                             config.get("private_key_file")),
        "become": True if getattr(args, "become", False) else None,
        "accept_new_host_keys": getattr(args, "accept_new_host_keys", None),
        "verbosity": args.verbose,
    }
    return TransportOptions(**{k: v for k, v in given.items() if v is not None})


def forks_for(args, config: AnsibleConfig, playbook_forks: int) -> int:
    """-f, else ANSIBLE_FORKS / ansible.cfg forks, else the playbook's (default 50).

    ansible.cfg's forks sits above the playbook's: like Ansible's, it says how
    many hosts this controller works on at once.
    """
    return first(args.forks, config.get("forks"), playbook_forks)
