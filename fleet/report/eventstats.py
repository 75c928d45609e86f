"""One pass over an events output: top values, results by errno, figures, first N.

The terminal and the HTML report summarise events the same way from this.
Memory stays bounded whatever the number of events: counters of distinct
values are pruned to their most common ones past ``MAX_DISTINCT``.
"""

from __future__ import annotations

import errno
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from fleet.merge import hist_stats, slot_of
from fleet.report.text import is_number

__all__ = ["ERRNO_FIELDS", "EventStats", "errno_text", "event_stats"]

# Fields that carry a return value: negative means -errno (the kernel's way).
ERRNO_FIELDS = frozenset({"ret", "retval", "rc", "err", "errno", "error"})
MAX_DISTINCT = 50_000
KEEP_DISTINCT = 10_000


def errno_text(value: Any) -> Any:
    """``-2`` as ``ENOENT``; other values unchanged."""
    if is_number(value) and value < 0 and int(value) == value:
        return errno.errorcode.get(-int(value), value)
    return value


@dataclass
class EventStats:
    """What one pass over an events timeline found."""

    first: list[dict] = field(default_factory=list)
    seen: int = 0
    text: dict[str, Counter] = field(default_factory=dict)  # field -> value counts
    results: dict[str, Counter] = field(default_factory=dict)  # errno fields
    slots: dict[str, list[int]] = field(default_factory=dict)  # numeric with unit
    pruned: set[str] = field(default_factory=set)  # fields whose tail was dropped

    def figures(self, name: str) -> dict[str, Any]:
        """count, p50, p90, p99, max (log2 slot bounds) of a numeric field."""
        return hist_stats(self.slots.get(name) or [])


def event_stats(events: Iterable[Mapping], columns: list[Mapping],
                keep: int) -> EventStats:
    """Summarise ``events`` in one pass, keeping the first ``keep`` of them."""
    stats = EventStats()
    units = {c["field"] for c in columns if c.get("unit")}
    names = [c["field"] for c in columns]
    for event in events:
        if stats.seen < keep:
            stats.first.append(dict(event))
        stats.seen += 1
        for name in names:
            _count(stats, name, event.get(name), name in units)
    return stats


def _count(stats: EventStats, name: str, value: Any, has_unit: bool) -> None:
    """Count one field of one event where it belongs."""
    if value is None:
        return
    if name in ERRNO_FIELDS and is_number(value):
        key = errno_text(value) if value < 0 else "ok"
        stats.results.setdefault(name, Counter())[key] += 1
    elif isinstance(value, str):
        counter = stats.text.setdefault(name, Counter())
        counter[value] += 1
        if len(counter) > MAX_DISTINCT:
            stats.text[name] = Counter(dict(counter.most_common(KEEP_DISTINCT)))
            stats.pruned.add(name)
    elif has_unit and is_number(value):
        slots = stats.slots.setdefault(name, [])
        slot = slot_of(max(int(value), 0))
        if slot >= len(slots):
            slots.extend([0] * (slot + 1 - len(slots)))
        slots[slot] += 1
