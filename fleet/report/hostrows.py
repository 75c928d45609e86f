"""Which hosts a side-by-side table shows, in which order: outliers first.

Past ``HOST_ROWS`` hosts a table shows the flagged hosts, the top and bottom
few by the sort figure, and one line for the rest; ``all_hosts`` shows every
row. The HTML report orders its rows the same way.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["HOST_ROWS", "SORTS", "HostRows", "natural_key", "order_hosts",
           "select_rows"]

SORTS = ("p99", "p50", "count", "name")
HOST_ROWS = 20  # up to this many hosts, every host gets a row
TOP_ROWS, BOTTOM_ROWS = 5, 3


def natural_key(name: str) -> list:
    """Sort key putting db2 before db10."""
    return [int(part) if part.isdigit() else part
            for part in re.split(r"(\d+)", name)]


def _figure(stats: Mapping[str, Any] | None, sort: str) -> float:
    """The sort figure of a host; hosts without one sort last."""
    value = (stats or {}).get(sort)
    return -1 if value is None else value


def order_hosts(hosts: Mapping[str, Mapping], flagged: Collection[str],
                sort: str = "p99") -> list[str]:
    """Host names: flagged first, then by ``sort`` (largest first; names A-Z)."""
    def key(name: str) -> tuple:
        if sort == "name":
            return (name not in flagged, natural_key(name))
        return (name not in flagged, -_figure(hosts[name], sort), natural_key(name))

    return sorted(hosts, key=key)


@dataclass
class HostRows:
    """The hosts given a row, and the ones summed up in one line."""

    shown: list[str]
    rest: list[str] = field(default_factory=list)
    band: tuple[Any, Any] | None = None  # (lowest, highest) figure of the rest
    figure: str = "p99"

    def rest_line(self) -> str:
        """``187 more hosts within the fleet's band: p99 1023-2047``."""
        if not self.rest:
            return ""
        low, high = self.band or (None, None)
        span = f"{low}" if low == high else f"{low}-{high}"
        return (f"{len(self.rest)} more hosts within the fleet's band: "
                f"{self.figure} {span} (--all-hosts lists them)")


def select_rows(hosts: Mapping[str, Mapping], flagged: Collection[str],
                sort: str = "p99", all_hosts: bool = False) -> HostRows:
    """Pick and order the rows of a side-by-side table."""
    figure = sort if sort != "name" else "p99"
    if all_hosts or len(hosts) <= HOST_ROWS:
        return HostRows(order_hosts(hosts, flagged, sort), figure=figure)
    ranked = [h for h in order_hosts(hosts, (), figure) if h not in flagged]
    picked = set(flagged) | set(ranked[:TOP_ROWS]) | set(ranked[-BOTTOM_ROWS:])
    rest = [h for h in ranked if h not in picked]
    values = [(hosts[h] or {}).get(figure) for h in rest]
    known = [v for v in values if v is not None]
    band = (min(known), max(known)) if known else ("-", "-")
    shown = [h for h in order_hosts(hosts, flagged, sort) if h in picked]
    return HostRows(shown, rest, band, figure)
