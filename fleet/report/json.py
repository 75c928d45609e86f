"""Stream a results document as JSON, without materialising its event timelines."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any, TextIO

__all__ = ["dump_results"]


def dump_results(results: Mapping[str, Any], stream: TextIO, indent: int = 2) -> None:
    """Write ``results`` to ``stream`` as JSON, streaming any lazy iterable in it.

    Lists, tuples and mappings are written as usual; any other iterable (such as
    the event timeline built by ``fleet.results``) is consumed one element at a
    time and written as an array, one element per line. Containers holding only
    scalars (slot lists, events), and small ones that fit a line, are written on
    one line to keep the file compact and readable.
    """
    _write(stream, results, 0, indent)
    stream.write("\n")


def _is_scalar(value: Any) -> bool:
    """Tell whether ``value`` is written by json.dumps alone (no nesting)."""
    return value is None or isinstance(value, (str, int, float, bool))


def _is_flat(value: Any) -> bool:
    """Tell whether a materialised container holds scalars only."""
    if isinstance(value, Mapping):
        return all(_is_scalar(v) for v in value.values())
    return isinstance(value, (list, tuple)) and all(_is_scalar(v) for v in value)


# A small nested container (an attach record, a window) goes on one line when it
# fits this many characters; bigger ones are laid out one member per line.
ONE_LINE = 76
SMALL_NODES = 16


def _small(value: Any, budget: int = SMALL_NODES) -> int:
    """Return the budget left after counting ``value``'s nodes; negative if too big.

    Lazy iterables count as too big: they must never be consumed just to measure.
    """
    budget -= 1
    if _is_scalar(value) or budget < 0:
        return budget
    if isinstance(value, Mapping):
        members = value.values()
    elif isinstance(value, (list, tuple)):
        members = value
    else:
        return -1
    for member in members:
        budget = _small(member, budget)
        if budget < 0:
            break
    return budget


def _one_line(value: Any) -> bool:
    """Tell whether ``value`` is written on one line."""
    if _is_scalar(value) or _is_flat(value):
        return True
    return _small(value) >= 0 and len(_compact(value)) <= ONE_LINE


_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(", ", ": "))


def _compact(value: Any) -> str:
    """Return ``value`` as one line of JSON."""
    return _ENCODER.encode(value)


def _write(out: TextIO, value: Any, depth: int, indent: int) -> None:
    """Write any value, dispatching on its shape."""
    if _one_line(value):
        out.write(_compact(value))
    elif isinstance(value, Mapping):
        _write_object(out, value, depth, indent)
    elif isinstance(value, Iterable) and not isinstance(value, (bytes, bytearray)):
        _write_array(out, value, depth, indent)
    else:
        raise TypeError(f"cannot write {type(value).__name__} as JSON")


def _write_object(out: TextIO, value: Mapping, depth: int, indent: int) -> None:
    """Write a mapping, one member per line."""
    pad = "\n" + " " * (indent * (depth + 1))
    out.write("{")
    for i, (key, member) in enumerate(value.items()):
        out.write(("," if i else "") + pad + json.dumps(str(key), ensure_ascii=False))
        out.write(": ")
        _write(out, member, depth + 1, indent)
    out.write("\n" + " " * (indent * depth) + "}")


def _write_array(out: TextIO, value: Iterable, depth: int, indent: int) -> None:
    """Write an iterable element by element, so a lazy one is never held whole."""
    pad = "\n" + " " * (indent * (depth + 1))
    # A lazy stream (an event timeline) is long and uniform: one line per element,
    # encoded directly, keeps the writer fast.
    lazy = not isinstance(value, (list, tuple))
    empty = True
    out.write("[")
    for element in value:
        out.write(("" if empty else ",") + pad)
        if lazy:
            out.write(_compact(element))
        else:
            _write(out, element, depth + 1, indent)
        empty = False
    out.write("]" if empty else "\n" + " " * (indent * depth) + "]")
