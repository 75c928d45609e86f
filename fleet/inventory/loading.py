"""Loading an inventory: a YAML or INI file, a host list, or localhost."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .. import yamlsrc
from ..errors import InputError
from .inifmt import parse_hostlist, parse_ini
from .model import Inventory
from .yamlfmt import parse_yaml

_YAML_SUFFIXES = (".yaml", ".yml", ".json")


def load_inventory(path_or_hostlist: str | None) -> Inventory:
    """Load an inventory file, a ``host1,host2,`` list, or localhost when None."""
    if path_or_hostlist is None:
        return Inventory.localhost()
    source = path_or_hostlist
    path = Path(source)
    if path.is_dir():
        raise InputError("inventory directories are not supported: name a file", source)
    if path.exists():
        return _load_file(source)
    if "," in source:
        return parse_hostlist(source)
    hint = f"for a list of hosts, end it with a comma: -i '{source},'"
    raise InputError(f"no such inventory file ({hint})", source)


def _load_file(path: str) -> Inventory:
    """Parse a file as YAML or INI, by extension or else by what it contains."""
    if path.lower().endswith(_YAML_SUFFIXES):
        return parse_yaml(yamlsrc.load_file(path), path)
    text = yamlsrc.read_input_text(path)
    try:
        data = yamlsrc.load_text(text, path)
    except InputError:
        data = None  # not YAML at all: INI is the only other format
    if _looks_like_yaml_groups(data):
        return parse_yaml(data, path)
    return parse_ini(text, path)


def _looks_like_yaml_groups(data: Any) -> bool:
    """True for a YAML mapping that is not just INI ``name:port`` lines."""
    return isinstance(data, dict) and any(
        value is None or isinstance(value, (dict, list)) for value in data.values()
    )
