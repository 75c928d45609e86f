"""Render an events output for a terminal: a summary, then the first N events.

The summary comes first because 56,679 opens are not read line by line: top
values per text field, results by errno name, figures of the timed fields and
per-host counts when they differ. Long paths are cut in the middle.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from fleet.hostranges import fold_names
from fleet.report.eventstats import ERRNO_FIELDS, EventStats, errno_text, event_stats
from fleet.report.text import (
    LABEL_W,
    WIDTH,
    ReportOptions,
    add_row,
    cell,
    clock,
    is_number,
    middle_cut,
    pairs,
    plain,
    plural,
)
from fleet.results import iter_events

__all__ = ["print_events"]

TOP_VALUES = 3
VALUE_W = 32  # a top value is cut to this many characters
TIME_W = 12
HOST_W = 10


def print_events(entry: Mapping, results: Mapping, console: Console,
                 options: ReportOptions) -> None:
    """Print the summary of an events output, then its first events."""
    columns = entry.get("columns") or []
    stats = event_stats(iter_events(entry), columns, max(options.events, 0))
    for line in summary_lines(entry, stats):
        console.print(plain(line), overflow="ignore", crop=False)
    if stats.first:
        console.print(_events_table(columns, stats.first))
    console.print(plain(_events_total(entry, len(stats.first))))


def summary_lines(entry: Mapping, stats: EventStats) -> list[str]:
    """Lines of the per-output summary, each at most 80 columns."""
    hosts = entry.get("hosts") or {}
    lost = entry.get("lost") or {}
    lines = [f"{plural(entry['count'], 'event')} from {plural(len(hosts), 'host')}"
             + (f" ({sum(lost.values())} lost)" if lost else "")]
    for column in entry.get("columns") or []:
        name = column["field"]
        if name in stats.text:
            lines.append(_top_line(name, stats.text[name], name in stats.pruned))
        elif name in stats.results:
            lines.append(_top_line(name, stats.results[name], False))
        elif name in stats.slots:
            figures = stats.figures(name)
            lines.append(_labelled(name, f"p50 {figures['p50']}, p99 "
                                   f"{figures['p99']}, max {figures['max']} "
                                   f"{column.get('unit')}"))
    per_host = _per_host_line(hosts)
    if per_host:
        lines.append(per_host)
    return lines


def _labelled(label: str, text: str) -> str:
    return middle_cut(f"{label:<{LABEL_W - 1}} {text}", WIDTH)


def _top_line(name: str, counts: Counter, pruned: bool) -> str:
    """``comm     postgres 40123, bash 3 (+12 more)``, as many values as fit."""
    ranked = counts.most_common()
    parts: list[str] = []
    room = WIDTH - LABEL_W
    for i, (value, n) in enumerate(ranked[:TOP_VALUES]):
        part = f"{middle_cut(cell(value), VALUE_W)} {n}"
        more = len(ranked) - i - 1
        tail = f" (+{more}{'' if not pruned else '+'} more)" if more else ""
        if parts and len(", ".join(parts + [part]) + tail) > room:
            break
        parts.append(part)
    text = ", ".join(parts)
    if len(parts) < len(ranked):
        text += f" (+{len(ranked) - len(parts)}{'+' if pruned else ''} more)"
    return _labelled(name, text)


def _per_host_line(hosts: Mapping[str, Mapping]) -> str:
    """Per-host counts when they differ: all of a few hosts, else range and top."""
    counts = {host: h.get("count", 0) for host, h in hosts.items()}
    if len(set(counts.values())) <= 1:
        return ""
    ranked = sorted(counts.items(), key=lambda kv: -kv[1])
    if len(counts) <= 6:
        return _labelled("per host", pairs(dict(ranked), " "))
    low, high = ranked[-1][1], ranked[0][1]
    none = [host for host, n in counts.items() if n == 0]
    text = f"{low}-{high}; most " + pairs(dict(ranked[:3]), " ")
    if none:
        text += f"; none on {fold_names(none)}"
    return _labelled("per host", text)


def _event_cell(name: str, value) -> str:
    return cell(errno_text(value) if name in ERRNO_FIELDS else value)


def _widths(columns: Sequence[Mapping], events: Sequence[Mapping],
            host_w: int) -> list[int]:
    """Column widths that fit 80: numbers whole, text columns share the rest."""
    natural = []
    for column in columns:
        values = [_event_cell(column["field"], e.get(column["field"])) for e in events]
        header = column["field"].upper()
        natural.append(max([len(v) for v in values] + [len(header),
                                                        len(column.get("unit") or "")]))
    fixed = TIME_W + 1 + host_w + 1
    numeric = [_numeric(c, events) for c in columns]
    room = WIDTH - 1 - fixed - sum(w + 1 for w, n in zip(natural, numeric) if n)
    texts = [i for i, n in enumerate(numeric) if not n]
    widths = list(natural)
    # Short text columns (comm) keep their width; the last long one takes the rest.
    for i in texts[:-1]:
        widths[i] = min(natural[i], 16, max(room // max(len(texts), 1), 4))
    if texts:
        last = texts[-1]
        used = sum(widths[i] + 1 for i in texts[:-1])
        widths[last] = max(min(natural[last], room - used - 1), 4)
    return widths


def _numeric(column: Mapping, events: Sequence[Mapping]) -> bool:
    values = [e.get(column["field"]) for e in events]
    return (column["field"] not in ERRNO_FIELDS and bool(values)
            and all(is_number(v) or v is None for v in values))


def _events_table(columns: Sequence[Mapping], events: Sequence[Mapping]) -> Table:
    """The first events, one row each: time, host, fields cut to fit."""
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False,
                  padding=(0, 0))  # the box puts one blank between columns
    host_w = min(max(len(e["host"]) for e in events), HOST_W)
    table.add_column("TIME", no_wrap=True, width=TIME_W)
    table.add_column("HOST", no_wrap=True, width=max(host_w, 4))
    widths = _widths(columns, events, max(host_w, 4))
    numeric = [_numeric(c, events) for c in columns]
    for column, width, is_num in zip(columns, widths, numeric):
        header = column["field"].upper() + (f"\n{column['unit']}"
                                            if column.get("unit") else "")
        table.add_column(Text(header, no_wrap=True, overflow="crop"), width=width,
                         no_wrap=True, justify="right" if is_num else "left",
                         overflow="crop")
    for event in events:
        cells = [middle_cut(_event_cell(c["field"], event.get(c["field"])), w)
                 for c, w in zip(columns, widths)]
        add_row(table, clock(event["ts_ns"]), middle_cut(event["host"], HOST_W),
                *cells)
    return table


def _events_total(entry: Mapping, shown: int) -> str:
    """``N events total (M lost)``, naming hosts that lost some and the full log."""
    lost = entry.get("lost") or {}
    text = f"{entry['count']} events total ({sum(lost.values())} lost)"
    if lost:
        text += " lost on: " + pairs(lost)
    if shown < entry["count"]:
        text += f"; first {shown} shown (--events N), all in results.json"
    return text
