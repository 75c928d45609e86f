"""One pass over an events output: top values, results by errno, figures, first N.

The terminal and the HTML report summarise events the same way from this.
Memory stays bounded whatever the number of events: counters of distinct
values are pruned to their most common ones past ``MAX_DISTINCT``.
"""

from __future__ import annotations

import errno
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from fleet.merge import hist_stats, slot_of
from fleet.report.text import is_number

__all__ = ["ERRNO_FIELDS", "EventStats", "errno_text", "event_stats"]

# Fields that carry a return value: negative means -errno (the kernel's way).
ERRNO_FIELDS = frozenset({"ret", "retval", "rc", "err", "errno", "error"})
MAX_DISTINCT = 50_000
KEEP_DISTINCT = 10_000
PRUNE_EVERY = 100_000


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


def event_stats(events: Iterable[Mapping], columns: list[Mapping], keep: int,
                each: Callable[[Mapping], None] | None = None) -> EventStats:
    """Summarise ``events`` in one pass, keeping the first ``keep`` of them;
    ``each`` (if given) sees every event too, in the same pass.

    The loop is the hot path of a report with millions of events: fields
    are looked up once per column, and counters pruned every PRUNE_EVERY.
    """
    stats = EventStats()
    units = {c["field"] for c in columns if c.get("unit")}
    # kind per field: 1 errno, 2 a unit (figures), 0 anything else
    fields = [(c["field"], 1 if c["field"] in ERRNO_FIELDS
               else 2 if c["field"] in units else 0) for c in columns]
    text = {name: Counter() for name, _ in fields}
    results = {name: Counter() for name, kind in fields if kind == 1}
    slots: dict[str, list[int]] = {name: [] for name, kind in fields if kind == 2}
    first, seen = stats.first, 0
    for event in events:
        if seen < keep:
            first.append(dict(event))
        seen += 1
        if each is not None:
            each(event)
        for name, kind in fields:
            value = event.get(name)
            cls = value.__class__
            if cls is str:
                text[name][value] += 1
            elif kind and (cls is int or cls is float):  # bools are not numbers
                if kind == 1:
                    results[name][errno_text(value) if value < 0 else "ok"] += 1
                else:
                    _add_slot(slots[name], value)
        if seen % PRUNE_EVERY == 0:
            _prune(text, stats.pruned)
    _prune(text, stats.pruned)
    stats.seen = seen
    stats.text = {k: v for k, v in text.items() if v}
    stats.results = {k: v for k, v in results.items() if v}
    stats.slots = {k: v for k, v in slots.items() if v}
    return stats


def _add_slot(slots: list[int], value: float) -> None:
    slot = slot_of(max(int(value), 0))
    if slot >= len(slots):
        slots.extend([0] * (slot + 1 - len(slots)))
    slots[slot] += 1


def _prune(text: dict[str, Counter], pruned: set[str]) -> None:
    """Keep the most common values of a field with too many distinct ones."""
    for name, counter in text.items():
        if len(counter) > MAX_DISTINCT:
            text[name] = Counter(dict(counter.most_common(KEEP_DISTINCT)))
            pruned.add(name)
