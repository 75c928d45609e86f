"""Merge per-host results: log2 histogram sums and percentiles, event timelines, tables.

Histograms use BCC's log2 slots: slot 0 holds the value 0, slot k >= 1 holds the
values in [2**(k-1), 2**k - 1]. Slot counts are all the controller ever sees, so a
percentile is known only to the slot: we report the *upper bound* of the slot holding
the requested rank ("p99 <= 1023 usecs"), never an interpolated guess. ``max`` is the
upper bound of the highest non-empty slot for the same reason.

A histogram with ``scale="linear"`` (a program that counts each value in its own
slot) has slot k holding exactly the value k, so its percentiles are exact.
"""

from __future__ import annotations

import heapq
import itertools
import json
import math
import statistics
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, Callable

PERCENTILES = (50, 90, 99)

# A host needs this many samples before its percentiles are compared with the
# fleet's: with fewer, one slow request moves p99 by whole slots.
MIN_SAMPLES = 20

# Two log2 slots apart means a factor of about 4: far beyond the jitter between
# healthy identical hosts, which normally sit in the same or the adjacent slot.
OUTLIER_SLOTS = 2

# Comparing with "the fleet" needs a fleet: with two hosts nobody can say which one
# is the odd one.
MIN_PEERS = 3


SCALES = ("log2", "linear")


def slot_range(k: int, scale: str = "log2") -> tuple[int, int]:
    """Return the inclusive (low, high) value range held by slot ``k``."""
    if k < 0:
        raise ValueError(f"slot index must be >= 0, got {k}")
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {', '.join(SCALES)}, got {scale!r}")
    if scale == "linear":
        return (k, k)
    if k == 0:
        return (0, 0)
    return (1 << (k - 1), (1 << k) - 1)


def slot_of(value: int) -> int:
    """Return the log2 slot index that holds ``value`` (inverse of slot_range)."""
    return int(value).bit_length() if value > 0 else 0


def sum_slots(slot_lists: Iterable[Sequence[int]]) -> list[int]:
    """Sum slot lists slot-wise; lengths may differ; trailing zeros are trimmed."""
    total: list[int] = []
    for slots in slot_lists:
        if len(slots) > len(total):
            total.extend([0] * (len(slots) - len(total)))
        for i, count in enumerate(slots):
            total[i] += count
    return trim_slots(total)


def trim_slots(slots: Sequence[int]) -> list[int]:
    """Return ``slots`` as a list without its trailing empty slots."""
    end = len(slots)
    while end and not slots[end - 1]:
        end -= 1
    return list(slots[:end])


def percentile(slots: Sequence[int], pct: float, scale: str = "log2") -> int | None:
    """Return the upper bound of the slot holding the ``pct`` rank, None if empty."""
    count = sum(slots)
    if count == 0:
        return None
    # Nearest-rank definition: the smallest value with at least pct% of samples
    # at or below it; rank 1 at least, so p0 is the minimum's slot.
    rank = max(1, math.ceil(pct / 100.0 * count))
    seen = 0
    for k, n in enumerate(slots):
        seen += n
        if seen >= rank:
            return slot_range(k, scale)[1]
    raise AssertionError("unreachable: rank <= count")


def hist_stats(slots: Sequence[int], scale: str = "log2") -> dict[str, int | None]:
    """Return count, p50, p90, p99 and max (slot upper bounds) of a histogram."""
    trimmed = trim_slots(slots)
    stats: dict[str, int | None] = {"count": sum(trimmed)}
    for pct in PERCENTILES:
        stats[f"p{pct}"] = percentile(trimmed, pct, scale)
    stats["max"] = slot_range(len(trimmed) - 1, scale)[1] if trimmed else None
    return stats


def ts_ns(event: Mapping[str, Any]) -> int:
    """Return the wall-clock timestamp of an event (the default merge key)."""
    return event.get("ts_ns", 0)


def iter_jsonl(path: str, batch: int = 0) -> Iterator[dict]:
    """Yield one object per non-blank line of a JSON Lines file, lazily.

    With ``batch`` > 0 the file is reopened for every ``batch`` lines and closed in
    between, so merging thousands of files never holds thousands of descriptors.
    """
    if batch <= 0:
        with open(path, "rb") as source:
            yield from _decode_lines(source, path, 1)
        return
    offset, first_line = 0, 1
    while True:
        with open(path, "rb") as source:
            source.seek(offset)
            lines = list(itertools.islice(source, batch))
            offset = source.tell()
        if not lines:
            return
        yield from _decode_lines(lines, path, first_line)
        first_line += len(lines)


def _decode_lines(lines: Iterable[bytes], path: str, first_line: int) -> Iterator[dict]:
    """Decode JSON lines, skipping blank ones and naming path:line on a bad one."""
    for lineno, line in enumerate(lines, first_line):
        if line.strip():
            try:
                yield json.loads(line)
            except ValueError as exc:
                raise ValueError(f"{path}:{lineno}: bad JSON line: {exc}") from None


def merge_events(
    iterators: Iterable[Iterable[Any]], key: Callable[[Any], Any] = ts_ns
) -> Iterator[Any]:
    """Merge already-sorted event streams into one sorted stream, lazily.

    Memory holds one pending event per stream (the heap), whatever the number of
    events. Equal keys keep the order of the input streams.
    """
    return heapq.merge(*iterators, key=key)


def outliers(per_host_stats: Mapping[str, Mapping[str, Any]]) -> list[dict[str, str]]:
    """Return ``[{"host", "why"}]`` for hosts whose distribution stands apart.

    Rule: among hosts with at least MIN_SAMPLES samples (and at least MIN_PEERS of
    them), a host is flagged when its p50 or p99 sits OUTLIER_SLOTS or more log2
    slots (about 4x) above or below the median host's. A host with no samples is
    flagged when the median host has at least MIN_SAMPLES.
    """
    reasons: dict[str, list[str]] = {}
    for host, why in _empty_hosts(per_host_stats):
        reasons.setdefault(host, []).append(why)
    for pct in ("p50", "p99"):
        for host, why in _apart_on(per_host_stats, pct):
            reasons.setdefault(host, []).append(why)
    # Report in the caller's host order (inventory order), not discovery order.
    return [
        {"host": host, "why": "; ".join(reasons[host])}
        for host in per_host_stats
        if host in reasons
    ]


def median_host(per_host_stats: Mapping[str, Mapping[str, Any]], pct: str) -> Any:
    """The median host's ``pct`` (a real host's value), among the hosts the
    outlier rule compares: those with at least MIN_SAMPLES samples."""
    values = sorted(
        stats[pct]
        for stats in per_host_stats.values()
        if stats["count"] >= MIN_SAMPLES and stats.get(pct) is not None
    )
    return statistics.median_low(values) if values else None


def _empty_hosts(per_host_stats: Mapping[str, Mapping[str, Any]]) -> Iterator[tuple]:
    """Yield (host, why) for hosts with zero samples in a busy fleet."""
    if len(per_host_stats) < MIN_PEERS:
        return
    median_count = statistics.median(s["count"] for s in per_host_stats.values())
    if median_count < MIN_SAMPLES:
        return
    for host, stats in per_host_stats.items():
        if stats["count"] == 0:
            yield host, f"no samples (median host {int(median_count)})"


def _apart_on(per_host_stats: Mapping[str, Mapping[str, Any]], pct: str) -> Iterator:
    """Yield (host, why) for hosts whose ``pct`` is OUTLIER_SLOTS from the median."""
    slots = {
        host: slot_of(stats[pct])
        for host, stats in per_host_stats.items()
        if stats["count"] >= MIN_SAMPLES and stats[pct] is not None
    }
    if len(slots) < MIN_PEERS:
        return
    median_slot = statistics.median(slots.values())
    for host, slot in slots.items():
        apart = slot - median_slot
        if abs(apart) >= OUTLIER_SLOTS:
            # The median of an even number of hosts may fall between two slots.
            factor = 2 ** abs(apart)
            side = "above" if apart > 0 else "below"
            yield host, f"{pct} ~{factor:.0f}x {side} fleet"


def merge_tables(rows_by_host: Mapping[str, Iterable[Mapping[str, Any]]]) -> list[dict]:
    """Merge per-host ``[{key, value}]`` rows into ``[{key, total, hosts}]``.

    Rows are sorted by total, largest first, then by key; ``hosts`` maps each host
    that reported the key to its value, in the caller's host order.
    """
    merged: dict[Any, dict] = {}
    for host, rows in rows_by_host.items():
        for row in rows:
            entry = merged.setdefault(
                row["key"], {"key": row["key"], "total": 0, "hosts": {}}
            )
            entry["total"] += row["value"]
            entry["hosts"][host] = entry["hosts"].get(host, 0) + row["value"]
    return sorted(merged.values(), key=lambda e: (-e["total"], str(e["key"])))


def median_slots(slot_lists: Sequence[Sequence[int]]) -> list[int]:
    """Slot-wise median (the lower middle value) of several histograms.

    The baseline of a host over several runs: one run with a burst moves no slot,
    and ``median_low`` keeps every count a count some run really had.
    """
    if not slot_lists:
        return []
    width = max((len(s) for s in slot_lists), default=0)
    padded = [list(s) + [0] * (width - len(s)) for s in slot_lists]
    return trim_slots([statistics.median_low(col) for col in zip(*padded)])


def slot_distance(a: Sequence[int], b: Sequence[int]) -> float | None:
    """Earth mover's distance between two histograms, in slots; None if one is empty.

    Both are scaled to one sample in total first, so the distance says how far
    the shape moved (1.0: every sample one slot further), not how many samples
    came. In one dimension it is the area between the two cumulative curves.
    """
    total_a, total_b = sum(a), sum(b)
    if not total_a or not total_b:
        return None
    distance, cum_a, cum_b = 0.0, 0.0, 0.0
    for k in range(max(len(a), len(b))):
        cum_a += (a[k] if k < len(a) else 0) / total_a
        cum_b += (b[k] if k < len(b) else 0) / total_b
        distance += abs(cum_a - cum_b)
    return round(distance, 3)


def slot_midpoint(k: int, scale: str = "log2") -> float:
    """The middle of slot ``k``'s value range: the best guess for its samples."""
    low, high = slot_range(k, scale)
    return (low + high) / 2


def approx_sum(slots: Sequence[int], scale: str = "log2") -> float:
    """Approximate sum of a histogram's samples, each taken at its slot's midpoint."""
    return sum(n * slot_midpoint(k, scale) for k, n in enumerate(slots) if n)
