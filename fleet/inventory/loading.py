"""Loading inventory sources: YAML or INI files, folders of them, host lists.

Several sources (``-i`` given more than once) make one inventory, read in
order as Ansible does; each file or folder source brings the group_vars/ and
host_vars/ beside it (or inside it, for a folder). With no source at all the
inventory is localhost over the local transport.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .. import yamlsrc
from ..errors import InputError
from .builder import Builder, localhost_inventory
from .folders import inventory_files
from .inifmt import read_hostlist, read_ini
from .layers import EMPTY, Layer
from .model import Inventory
from .varsdirs import VarsDir
from .yamlfmt import read_yaml

_YAML_SUFFIXES = (".yaml", ".yml", ".json")


def load_inventory(
    sources: str | os.PathLike | Sequence[str] | None, extra: Layer = EMPTY
) -> Inventory:
    """One inventory from files, folders and ``host1,host2,`` lists, in order;
    localhost when there is none. ``extra`` is the -e layer (extravars.py)."""
    if isinstance(sources, (str, os.PathLike)):
        sources = [sources]
    sources = [os.fspath(source) for source in sources or ()]
    if not sources:
        return localhost_inventory(extra)
    builder = Builder()
    dirs = [d for source in sources if (d := _add_source(builder, source))]
    return builder.build(dirs, extra, ", ".join(sources))


def _add_source(builder: Builder, source: str) -> VarsDir | None:
    """Read one source into builder; its group_vars/host_vars folder, if any."""
    path = Path(source)
    if path.is_dir():
        for file in inventory_files(path):
            _add_file(builder, str(file))
        return VarsDir(path)
    if path.exists():
        _add_file(builder, source)
        return VarsDir(path.resolve().parent)
    if "," in source:
        read_hostlist(builder, source)
        return None
    hint = f"for a list of hosts, end it with a comma: -i '{source},'"
    raise InputError(f"no such inventory file or folder ({hint})", source)


def _add_file(builder: Builder, path: str) -> None:
    """Read a file as YAML or INI, by extension or else by what it contains."""
    if path.lower().endswith(_YAML_SUFFIXES):
        read_yaml(builder, yamlsrc.load_file(path), path)
        return
    text = yamlsrc.read_input_text(path)
    if text.startswith("#!"):
        raise InputError("this looks like an inventory script (it starts with #!); "
                         "fleet reads static YAML and INI inventories only: save "
                         "the script's --list output as a .json file", path, 1)
    try:
        data = yamlsrc.load_text(text, path)
    except InputError:
        data = None  # not YAML at all: INI is the only other format
    if _looks_like_yaml_groups(data):
        read_yaml(builder, data, path)
    else:
        read_ini(builder, text, path)


def _looks_like_yaml_groups(data: Any) -> bool:
    """True for a YAML mapping that is not just INI ``name:port`` lines."""
    return isinstance(data, dict) and any(
        value is None or isinstance(value, (dict, list)) for value in data.values()
    )
