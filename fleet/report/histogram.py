"""Render a merged histogram: bcc-style bars, then the hosts' stats side by side.

Bars fit 80 columns (bcc's rule for tools). Past ~20 hosts the side-by-side
table shows the outliers, the top and bottom few and one line for the rest.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from fleet.hostranges import fold_names
from fleet.merge import slot_range
from fleet.report.hostrows import select_rows
from fleet.report.intervals import interval_lines
from fleet.report.text import WIDTH, ReportOptions, add_row, plain

# Past this many hosts, a keyed histogram lists only the fleet and flagged hosts
# per key: keys x hosts rows would bury the outliers.
KEYED_HOST_ROWS = 8
MAX_KEYS = 10
# A linear histogram spanning more values than this lists only its non-empty ones.
LINEAR_ROWS = 40

STATS = ("count", "p50", "p90", "p99", "max")


def log2_lines(slots: Sequence[int], unit: str) -> list[str]:
    """Return bcc-style log2 histogram lines, first to last non-empty slot."""
    used = [k for k, n in enumerate(slots) if n]
    if not used:
        return []
    first, last = used[0], used[-1]
    # bcc widens the value columns past slot 32 and halves the bar to make room.
    wide = last > 32
    value_w, bar_w = (20, 20) if wide else (10, 40)
    count_w = max(8, len(str(max(slots))))
    bar_w = min(bar_w, WIDTH - 2 - (2 * value_w + 4 + 3 + count_w + 2))
    header_pad = " " * (value_w - 5)
    lines = [f"{header_pad}{unit or 'value':<{value_w + 9}} : count     distribution"]
    peak = max(slots)
    for k in range(first, last + 1):
        low, high = slot_range(k)
        bar = "*" * (bar_w * slots[k] // peak)
        lines.append(
            f"{low:>{value_w}} -> {high:<{value_w}} : {slots[k]:<{count_w}} "
            f"|{bar:<{bar_w}}|"
        )
    return lines


def linear_lines(slots: Sequence[int], unit: str) -> list[str]:
    """Return bcc-style linear histogram lines: slot k holds the value k."""
    used = [k for k, n in enumerate(slots) if n]
    if not used:
        return []
    rows = range(used[0], used[-1] + 1)
    if len(rows) > LINEAR_ROWS:
        rows = used  # a long empty stretch says nothing
    count_w = max(8, len(str(max(slots))))
    bar_w = WIDTH - 2 - (10 + 3 + count_w + 2)
    lines = [f"{unit or 'value':>10} : count     distribution"]
    for k in rows:
        bar = "*" * (bar_w * slots[k] // max(slots))
        lines.append(f"{k:>10} : {slots[k]:<{count_w}} |{bar:<{bar_w}}|")
    if len(rows) < used[-1] + 1 - used[0]:
        lines.append(f"{'':>10}   (values with no samples are left out)")
    return lines


def _stats_cells(stats: Mapping[str, Any] | None) -> list[str]:
    """Return count, p50, p90, p99 and max as cells; '-' where unknown."""
    stats = stats or {}
    return ["-" if stats.get(s) is None else str(stats[s]) for s in STATS]


def _stats_table(first: Sequence[str], unit: str) -> Table:
    """Return an empty table: the ``first`` columns, then the stats, then FLAG."""
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    for name in first:
        table.add_column(name, overflow="fold")
    table.add_column("COUNT", justify="right", overflow="fold")
    for name in STATS[1:]:
        header = Text(f"{name.upper()}\n{unit}".rstrip())
        table.add_column(header, justify="right")
    table.add_column("FLAG", overflow="fold", style="red")
    return table


def _flags(found: Sequence[Mapping[str, str]]) -> dict[str, str]:
    """Map each flagged host to its reason, short: ``! p50,p99 ~16x above``."""
    return {item["host"]: "! " + short_why(item["why"]) for item in found}


def short_why(why: str) -> str:
    """``p50 ~16x above fleet; p99 ~16x above fleet`` -> ``p50,p99 ~16x above``."""
    grouped: dict[str, list[str]] = {}
    for part in why.split("; "):
        match = re.fullmatch(r"(p\d+) (~\d+x (?:above|below)) fleet", part)
        if match:
            grouped.setdefault(match[2], []).append(match[1])
        else:
            grouped.setdefault(part, [])
    return "; ".join(f"{','.join(pcts)} {what}" if pcts else what
                     for what, pcts in grouped.items())


def print_histogram(entry: Mapping, results: Mapping, console: Console,
                    options: ReportOptions) -> None:
    """Print the fleet histogram, the hosts side by side, and the keys if any."""
    fleet = entry["fleet"]
    linear = entry.get("scale") == "linear"
    if not fleet["count"]:
        console.print("no samples on any host")
    lines = linear_lines if linear else log2_lines
    for line in lines(fleet["slots"], entry.get("unit") or ""):
        console.print(plain(line), overflow="ignore", crop=False)
    for line in interval_lines(entry):
        console.print(plain(line), overflow="ignore", crop=False)
    console.print()
    what = "exact values" if linear else "slot upper bounds"
    console.print(plain(f"hosts side by side (percentiles are {what}):"))
    table, rest = _host_stats_table(entry, results, options)
    console.print(table)
    for line in rest:
        console.print(plain(line))
    if entry.get("keys"):
        console.print(_keys_table(entry))


def _host_stats_table(entry: Mapping, results: Mapping,
                      options: ReportOptions) -> tuple[Table, list[str]]:
    """Return the fleet row and the chosen host rows, and lines for the others."""
    table = _stats_table(["HOST"], entry.get("unit") or "")
    add_row(table, "(fleet)", *_stats_cells(entry["fleet"]), "", end_section=True)
    flags = _flags(entry.get("outliers") or [])
    rows = select_rows(entry["hosts"], flags, options.sort, options.all_hosts)
    for name in rows.shown:
        add_row(table, name, *_stats_cells(entry["hosts"][name]), flags.get(name, ""))
    notes = [rows.rest_line()] if rows.rest else []
    # Hosts without data are named too, so a missing host is never silent.
    missing = {name: host["outcome"] for name, host in
               (results.get("hosts") or {}).items() if name not in entry["hosts"]}
    if len(missing) <= 3 or options.all_hosts:
        for name, outcome in missing.items():
            add_row(table, name, *_stats_cells(None), f"no data: {outcome}")
    else:
        notes.append(f"{len(missing)} hosts without data (failed): "
                     f"{fold_names(missing)}")
    return table, notes


def _keys_table(entry: Mapping) -> Table:
    """Return one fleet row per key, with its host rows (or only flagged ones)."""
    table = _stats_table(["KEY", "HOST"], entry.get("unit") or "")
    keys = entry["keys"]
    for label in list(keys)[:MAX_KEYS]:
        per_key = keys[label]
        flags = _flags(per_key.get("outliers") or [])
        rows = [
            (name, stats)
            for name, stats in per_key["hosts"].items()
            if len(per_key["hosts"]) <= KEYED_HOST_ROWS or name in flags
        ]
        add_row(table, label, "(fleet)", *_stats_cells(per_key["fleet"]), "",
                end_section=not rows)
        for i, (name, stats) in enumerate(rows):
            add_row(table, "", name, *_stats_cells(stats), flags.get(name, ""),
                    end_section=i == len(rows) - 1)
    if len(keys) > MAX_KEYS:
        table.caption = f"{len(keys) - MAX_KEYS} more keys in results.json"
    return table
