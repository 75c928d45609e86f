"""Ansible's variable precedence for one host: the layers merged, lowest first.

With inventory sources S1..Sn (each may have ``group_vars/`` and
``host_vars/`` beside it), a host's vars are, lowest first:

1. the ``all`` group's vars from the inventory files;
2. its other groups' vars from the inventory files, shallow groups first,
   siblings by ``ansible_group_priority``, then by name;
3. ``group_vars/all`` of S1..Sn;
4. for S1..Sn in turn: ``group_vars/GROUP`` of its groups, in the order of 2.;
5. the host's own vars from the inventory files;
6. ``host_vars/HOST`` of S1..Sn;
7. ``-e/--extra-vars``.

Each layer replaces whole top-level values, as Ansible's default
``hash_behaviour = replace`` does.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple, Optional

Origin = tuple[Optional[str], Optional[int]]  # (file, line) where a var was set


class Layer(NamedTuple):
    """Vars from one place, with the (file, line) each was set at."""

    vars: dict[str, Any]
    origins: dict[str, Origin]


EMPTY = Layer({}, {})


def merge(layers: Iterable[Layer]) -> Layer:
    """Merge layers lowest first: a later layer's value replaces an earlier one."""
    merged: dict[str, Any] = {}
    origins: dict[str, Origin] = {}
    for layer in layers:
        merged.update(layer.vars)
        origins.update(layer.origins)
    return Layer(merged, origins)


def host_layers(
    inventory_groups: Sequence[Layer],
    host: Layer,
    dirs: Sequence,
    group_names: Sequence[str],
    host_name: str,
    extra: Layer = EMPTY,
) -> list[Layer]:
    """Every layer of one host's vars in precedence order (see the module doc).

    ``inventory_groups`` are the host's groups' inventory-file vars with
    ``all`` first, ``group_names`` the same groups' names in the same order,
    ``dirs`` the sources' VarsDir objects (group_vars/ and host_vars/).
    """
    others = [name for name in group_names if name != "all"]
    return [
        *inventory_groups,
        *(d.group("all") for d in dirs),
        *(d.group(name) for d in dirs for name in others),
        host,
        *(d.host(host_name) for d in dirs),
        extra,
    ]
