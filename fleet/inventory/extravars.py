"""``-e/--extra-vars`` as Ansible reads them: ``k=v`` pairs, YAML/JSON, ``@file``.

Extra vars are the highest layer of every host's vars (layers.py); several
``-e`` merge left to right, a later value replacing an earlier one.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable

from .. import yamlsrc
from ..errors import InputError
from .layers import EMPTY, Layer, merge
from .varsdirs import load_vars_file

OPTION = "-e/--extra-vars"
_HELP = "expected key=value pairs, a YAML/JSON mapping like '{\"k\": 1}', or @FILE"


def parse_extra_vars(values: Iterable[str] | None) -> Layer:
    """Every -e value merged into one layer; bad text or files are InputError."""
    return merge(_one(text) for text in values or () if text)


def _one(text: str) -> Layer:
    """One -e value."""
    if text.startswith("@"):
        return _from_file(text[1:])
    if text[0] in "/.":
        raise InputError(f"{OPTION} {text!r}: to read a file, write -e @{text}")
    if text[0] in "[{":
        data = yamlsrc.load_text(text, OPTION)
        if not isinstance(data, dict):
            raise InputError(f"{OPTION} {text!r}: {_HELP}")
        return _layer(data, OPTION)
    return _layer(_key_values(text), OPTION)


def _from_file(path: str) -> Layer:
    """Extra vars from a YAML or JSON file; it must hold a mapping."""
    if not path:
        raise InputError(f"{OPTION} '@': name the file after the @")
    layer = load_vars_file(path)
    return layer if layer.vars else EMPTY


def _key_values(text: str) -> dict[str, str]:
    """``k=v k2='two words'`` into a dict of strings (no type conversion)."""
    try:
        tokens = shlex.split(text)
    except ValueError as err:
        raise InputError(f"{OPTION} {text!r}: {err} (check quotes)") from None
    pairs = {}
    for token in tokens:
        key, sep, value = token.partition("=")
        if not sep or not key.strip():
            raise InputError(f"{OPTION} {text!r}: {token!r} is not key=value; {_HELP}")
        pairs[key.strip()] = value
    return pairs


def _layer(data: dict, where: str) -> Layer:
    """A layer of vars that all came from one command-line value."""
    for key in data:
        if not isinstance(key, str) or not key:
            raise InputError(f"{OPTION}: a variable name must be text, got {key!r}")
    return Layer(dict(data), {key: (where, None) for key in data})
