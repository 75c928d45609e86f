"""Fold host names into ranges: db001..db116, db118..db162 -> ``db[001-116,118-162]``.

The inverse of an inventory's ``db[001:162]`` range, for people: recaps,
summaries and folded answers list hundreds of hosts in one short line. Names
that share a prefix and suffix around a number fold together (zero-padded
numbers only with numbers of their width); other names stay as they are.
Groups keep the order in which their first name came.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["fold_names"]

_NUMBERED = re.compile(r"(.*?)(\d+)([^\d]*)")


def fold_names(names: Iterable[str]) -> str:
    """Return ``names`` folded into ``prefix[a-b,c]suffix`` groups, comma-joined."""
    names = list(names)
    parsed = {name: _NUMBERED.fullmatch(name) for name in names}
    padded = {(m[1], m[3], len(m[2])) for m in parsed.values()
              if m and _is_padded(m[2])}
    groups: dict[tuple[str, int, str], list[int]] = {}
    order: list[tuple[str, int, str] | str] = []
    for name in names:
        match = parsed[name]
        if not match:
            order.append(name)
            continue
        prefix, digits, suffix = match.groups()
        # db100 belongs with db001..db099; web10 with web1..web9.
        width = len(digits) if (prefix, suffix, len(digits)) in padded else 0
        key = (prefix, width, suffix)
        if key not in groups:
            groups[key] = []
            order.append(key)
        groups[key].append(int(digits))
    return ",".join(
        item if isinstance(item, str) else _fold_group(item, groups[item])
        for item in order
    )


def _is_padded(digits: str) -> bool:
    """True for a zero-padded number such as ``007``."""
    return len(digits) > 1 and digits[0] == "0"


def _fold_group(key: tuple[str, int, str], numbers: list[int]) -> str:
    """One prefix/width/suffix group: ``db[001-003,007]`` or ``db007`` alone."""
    prefix, width, suffix = key
    spans = _spans(sorted(set(numbers)))
    if len(spans) == 1 and spans[0][0] == spans[0][1]:
        return f"{prefix}{spans[0][0]:0{width}d}{suffix}"
    text = ",".join(
        f"{lo:0{width}d}" if lo == hi else f"{lo:0{width}d}-{hi:0{width}d}"
        for lo, hi in spans
    )
    return f"{prefix}[{text}]{suffix}"


def _spans(numbers: list[int]) -> list[tuple[int, int]]:
    """Consecutive runs of sorted numbers as (first, last) pairs."""
    spans: list[tuple[int, int]] = []
    for n in numbers:
        if spans and n == spans[-1][1] + 1:
            spans[-1] = (spans[-1][0], n)
        else:
            spans.append((n, n))
    return spans
