"""Per-interval counts of a histogram read every interval, in a few terminal lines.

The fleet's count per interval, grouped into coarser steps when a long window
would need more than a few lines, and the busiest interval with its p99: the
burst an SRE looks for.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Mapping, Sequence
from typing import Any

from fleet.merge import hist_stats, sum_slots
from fleet.report.text import WIDTH, plural

__all__ = ["interval_counts", "interval_lines"]

MAX_LINES = 3  # the counts never take more than this many lines


def interval_counts(entry: Mapping[str, Any]) -> list[int]:
    """The fleet's sample count in each interval."""
    return [sum(slots) for slots in (entry.get("intervals") or {}).get("fleet", [])]


def _seconds(value: float) -> str:
    return f"{value:g}s"


def _grouped(counts: Sequence[int], step: int) -> list[int]:
    return [sum(counts[i:i + step]) for i in range(0, len(counts), step)]


def interval_lines(entry: Mapping[str, Any]) -> list[str]:
    """Lines showing the per-interval counts; [] for a histogram without intervals."""
    interval = entry.get("interval_s")
    counts = interval_counts(entry)
    if not interval or not counts:
        return []
    step = 1
    while True:
        grouped = _grouped(counts, step)
        head = (f"count per {_seconds(interval * step)} "
                f"({len(counts)} intervals of {_seconds(interval)}): ")
        text = head + " ".join(str(c) for c in grouped)
        lines = textwrap.wrap(text, WIDTH, subsequent_indent="  ")
        if len(lines) <= MAX_LINES:
            break
        step = max(step + 1, math.ceil(step * len(lines) / MAX_LINES))
    return lines + [_busiest_line(entry, interval)]


def _busiest_line(entry: Mapping[str, Any], interval: float) -> str:
    """The interval with the most samples, with its p99 next to the window's."""
    fleet = entry["intervals"]["fleet"]
    counts = [sum(slots) for slots in fleet]
    i = max(range(len(counts)), key=lambda k: (counts[k], -k))
    stats = hist_stats(sum_slots([fleet[i]]), entry.get("scale") or "log2")
    unit = f" {entry['unit']}" if entry.get("unit") else ""
    start, end = i * interval, (i + 1) * interval
    return (f"busiest {_seconds(start)}-{_seconds(end)}: "
            f"{plural(counts[i], 'sample')}, "
            f"p99 {stats['p99']}{unit} (window p99 {entry['fleet'].get('p99')})")
