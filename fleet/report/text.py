"""Pieces every part of the terminal report shares: width, plain cells, clocks, cuts."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from rich.table import Table
from rich.text import Text

WIDTH = 80  # the whole terminal report fits this many columns
ELLIPSIS = "…"
LABEL_W = 10  # the summary's labels: "outliers  ", "lost      "


def plain(text: str) -> Text:
    """Return ``text`` as a Text, so brackets are never read as rich markup."""
    return Text(text)


def add_row(table: Table, *cells: str | Text, **options: Any) -> None:
    """Add a row of plain cells: host names, keys and event fields are not markup."""
    table.add_row(*(c if isinstance(c, Text) else Text(c) for c in cells), **options)


def pairs(values: Mapping[str, Any], sep: str = ", ") -> str:
    """Return ``a=1, b=2`` (params, or counts per host)."""
    return sep.join(f"{k}={v}" for k, v in values.items())


def clock(ns: int, date: bool = False) -> str:
    """Return wall-clock ns as local HH:MM:SS.mmm (with the date if asked)."""
    fmt = "%Y-%m-%d %H:%M:%S" if date else "%H:%M:%S"
    return (
        time.strftime(fmt, time.localtime(ns // 10**9)) + f".{ns // 10**6 % 1000:03d}"
    )


def cell(value: Any) -> str:
    """Return a field as one line of text, control characters escaped."""
    if value is None:
        return "-"
    text = str(value)
    if any(ch < " " or ch == "\x7f" for ch in text):
        text = text.encode("unicode_escape").decode("ascii")
    return text


def plural(n: int, noun: str) -> str:
    """``1 host``, ``3 hosts``."""
    return f"{n} {noun}" + ("" if n == 1 else "s")


def is_number(value: Any) -> bool:
    """True for ints and floats, not for bools."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def middle_cut(text: str, width: int) -> str:
    """Shorten ``text`` to ``width`` by cutting its middle, keeping both ends.

    A path keeps its first directories and its last components
    (``/usr/lib/…/LC_IDENTIFICATION``): where a file lives and what it is are
    at the two ends. Other text keeps its head and its tail.
    """
    if len(text) <= width:
        return text
    if width < 3:
        return text[:width]
    if "/" in text.strip("/"):
        cut = _path_cut(text, width)
        if cut:
            return cut
    head = width // 2
    tail = width - 1 - head
    return text[:head] + ELLIPSIS + (text[-tail:] if tail else "")


def _path_cut(path: str, width: int) -> str | None:
    """``head/…/tail`` with as many whole components at both ends as fit."""
    parts = path.split("/")
    head, tail = [parts[0]], [parts[-1]]
    if len(parts[0]) + 2 + len(parts[-1]) > width:
        return None  # not even first/…/last fits: cut as plain text
    left, right = 1, len(parts) - 2
    # Alternate: one more leading directory, then one more trailing one.
    while left <= right:
        grown = False
        for side in ("head", "tail"):
            if left > right:
                break
            piece = parts[left] if side == "head" else parts[right]
            trial = _joined(head + [piece], tail) if side == "head" \
                else _joined(head, [piece] + tail)
            if len(trial) <= width:
                if side == "head":
                    head.append(piece)
                    left += 1
                else:
                    tail.insert(0, piece)
                    right -= 1
                grown = True
        if not grown:
            break
    return _joined(head, tail)


def _joined(head: list[str], tail: list[str]) -> str:
    return "/".join(head) + "/" + ELLIPSIS + "/" + "/".join(tail)


@dataclass
class ReportOptions:
    """How much a terminal report shows (``fleet report`` options)."""

    events: int = 15  # first events shown per events output
    all_hosts: bool = False  # a row for every host, however many
    sort: str = "p99"  # side-by-side order: p99, p50, count or name
