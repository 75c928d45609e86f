"""Render table and stacks outputs for a terminal: top rows, hottest stacks."""

from __future__ import annotations

from collections.abc import Mapping

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from fleet.report.text import WIDTH, ReportOptions, add_row, cell, plain

__all__ = ["DEFAULT_TABLE_ROWS", "print_stacks", "print_table"]

DEFAULT_TABLE_ROWS = 10


def print_table(entry: Mapping, results: Mapping, console: Console,
                options: ReportOptions) -> None:
    """Print the top rows of a merged table with the hosts contributing most."""
    rows = entry.get("rows") or []
    top = entry.get("top") or DEFAULT_TABLE_ROWS
    unit = entry.get("unit") or ""
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    table.add_column("KEY", overflow="fold")
    table.add_column(Text(f"TOTAL\n{unit}".rstrip()), justify="right")
    table.add_column("TOP HOSTS", overflow="fold")
    for row in rows[:top]:
        add_row(table, cell(row["key"]), str(row["total"]), _top_hosts(row["hosts"]))
    if rows:
        console.print(table)
    console.print(plain(f"{len(rows)} keys total, top {min(top, len(rows))} shown"))


def _top_hosts(hosts: Mapping[str, int], n: int = 3) -> str:
    """The hosts contributing most to a row, e.g. ``db1=40 db2=3 +2``."""
    ranked = sorted(hosts.items(), key=lambda item: -item[1])
    text = " ".join(f"{h}={v}" for h, v in ranked[:n])
    return text + (f" +{len(ranked) - n}" if len(ranked) > n else "")


def print_stacks(entry: Mapping, results: Mapping, console: Console,
                 options: ReportOptions) -> None:
    """Print the hottest stacks: comm, then the innermost frames that fit."""
    rows = entry.get("rows") or []
    top = entry.get("top") or DEFAULT_TABLE_ROWS
    total = sum(row["total"] for row in rows) or 1
    width = min(console.width, WIDTH)
    for row in rows[:top]:
        frames = row["key"].split(";")
        head = f"{row['total']:>7} {100 * row['total'] / total:5.1f}% {frames[0]}: "
        tail = " < ".join(reversed(frames[1:])) or "(no frames)"
        console.print(plain((head + tail)[:width]))
    console.print(plain(f"{len(rows)} distinct stacks, {total if rows else 0} samples;"
                        f" folded stacks in {entry['name']}.folded, flame graph in "
                        "report.html"))
