"""Render a results document for a terminal: the fleet, its hosts side by side, a recap.

Everything fits 80 columns (bcc's rule for tools): histogram rows are at most 78
characters, tables shrink and wrap their cells, and long reasons are wrapped.
"""

from __future__ import annotations

import io
import textwrap
import time
from collections.abc import Mapping, Sequence
from itertools import islice
from typing import Any, Callable

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from fleet.report.histogram import (  # noqa: F401  (re-exported)
    KEYED_HOST_ROWS,
    LINEAR_ROWS,
    MAX_KEYS,
    STATS,
    WIDTH,
    _add_row,
    _flags,
    _host_stats_table,
    _keys_table,
    _plain,
    _print_histogram,
    _stats_cells,
    _stats_table,
    linear_lines,
    log2_lines,
)
from fleet.results import iter_events

__all__ = ["WIDTH", "linear_lines", "log2_lines", "render_report", "render_text"]

DEFAULT_TABLE_ROWS = 10
# Recap reasons wrap under the outcome, but never indent past this column.
MAX_INDENT = 32


def render_report(
    results: Mapping[str, Any], console: Console, max_events: int = 15
) -> None:
    """Print the report of a run: header, one section per job output, recap."""
    _print_header(results, console)
    for entry in results.get("jobs") or []:
        console.print()
        _print_title(entry, console)
        _RENDERERS[entry["kind"]](entry, results, console, max_events)
        if entry.get("missed_runs"):
            console.print(_plain(_missed_text(entry["missed_runs"])))
    console.print()
    _print_recap(results, console)


def render_text(results: Mapping[str, Any], max_events: int = 15) -> str:
    """Return the report as plain text, 80 columns, no color (for report.txt)."""
    buffer = io.StringIO()
    console = Console(
        file=buffer,
        width=WIDTH,
        color_system=None,
        force_terminal=False,
        no_color=True,
        highlight=False,
        emoji=False,
    )
    render_report(results, console, max_events)
    # rich pads table lines to the table's width; the file needs no trailing blanks.
    return "".join(line.rstrip() + "\n" for line in buffer.getvalue().splitlines())


def _clock(ns: int, date: bool = False) -> str:
    """Return wall-clock ns as local HH:MM:SS.mmm (with the date if asked)."""
    fmt = "%Y-%m-%d %H:%M:%S" if date else "%H:%M:%S"
    return (
        time.strftime(fmt, time.localtime(ns // 10**9)) + f".{ns // 10**6 % 1000:03d}"
    )



def _print_header(results: Mapping[str, Any], console: Console) -> None:
    """Print what ran, on which hosts, in which window."""
    run = results.get("run") or {}
    playbook = results.get("playbook") or {}
    hosts = results.get("hosts") or {}
    title = f"PLAY [{playbook.get('name') or '?'}] {playbook.get('path') or ''}"
    console.print(_plain(title.rstrip()))
    tally = ", ".join(f"{n} {o}" for o, n in (results.get("outcomes") or {}).items())
    selected = _selection_text(playbook.get("hosts"), run.get("limit"))
    console.print(_plain(f"hosts   {len(hosts)}{selected}: {tally or 'none'}"))
    console.print(_plain(f"window  {_window_text(run.get('window'))}"))
    flag = "  INTERRUPTED" if run.get("interrupted") else ""
    console.print(_plain(f"run     {run.get('id')}, exit {run.get('exit_code')}{flag}"))


def _selection_text(pattern: Any, limit: str | None) -> str:
    """Return `` (pattern, limit L)`` naming how the hosts were chosen, or ""."""
    if isinstance(pattern, (list, tuple)):
        pattern = ":".join(str(p) for p in pattern)
    parts = [str(pattern)] if pattern else []
    if limit:
        parts.append(f"limit {limit}")
    return f" ({', '.join(parts)})" if parts else ""


def _window_text(window: Mapping[str, int] | None) -> str:
    """Describe the fleet's tracing window in local time."""
    if not window:
        return "none (no host started tracing)"
    start, end = window["start_ns"], window["end_ns"]
    seconds = (end - start) / 1e9
    return f"{_clock(start, date=True)} -> {_clock(end)} local ({seconds:.1f} s)"


def _print_title(entry: Mapping[str, Any], console: Console) -> None:
    """Print a job output's name, summary, kind and unit, and its params."""
    unit = f", {entry['unit']}" if entry.get("unit") else ""
    title = Text(f"JOB [{entry['name']}]", style="bold")
    title.append(f" {entry['kind']}{unit} ".ljust(console.width - len(title), "*"))
    console.print(title, no_wrap=True, overflow="crop")
    if entry.get("summary"):
        console.print(Text(entry["summary"]))
    params = entry.get("params") or {}
    if params:
        text = _pairs(params)
        console.print(Text(f"params: {text}", style="dim"))


# -- events and tables --------------------------------------------------------


def _cell(value: Any) -> str:
    """Return an event field as a table cell: one line, control characters escaped."""
    if value is None:
        return "-"
    text = str(value)
    if any(ch < " " or ch == "\x7f" for ch in text):
        text = text.encode("unicode_escape").decode("ascii")
    return text


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _print_events(
    entry: Mapping, results: Mapping, console: Console, limit: int
) -> None:
    """Print the first events of the merged timeline and the totals."""
    columns = entry.get("columns") or []
    events = list(islice(iter_events(entry), max(limit, 0)))
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False,
                  collapse_padding=True, padding=(0, 1, 0, 0))
    table.add_column("TIME", no_wrap=True, min_width=12)
    hosts = max((len(e["host"]) for e in events), default=4)
    table.add_column("HOST", no_wrap=True, overflow="ellipsis",
                     min_width=min(hosts, 10))
    numeric = []
    for column in columns:
        header = column["field"].upper()
        if column.get("unit"):
            header += f"\n{column['unit']}"
        values = [e.get(column["field"]) for e in events]
        is_number = bool(values) and all(_is_number(v) or v is None for v in values)
        numeric.append(is_number)
        if is_number:
            # numbers are never cut; text columns give way first
            width = max(len(_cell(v)) for v in values)
            table.add_column(Text(header), no_wrap=True, justify="right",
                             min_width=max(width, len(header.split("\n")[0]), 1))
        else:
            table.add_column(Text(header, no_wrap=True, overflow="ellipsis"),
                             no_wrap=False, overflow="ellipsis")
    for event in events:
        cells = [
            _cell(event.get(c["field"])) if num
            else Text(_cell(event.get(c["field"])), no_wrap=True, overflow="ellipsis")
            for c, num in zip(columns, numeric)
        ]
        _add_row(table, _clock(event["ts_ns"]), event["host"], *cells)
    if table.row_count:
        console.print(table)
    console.print(_plain(_events_total(entry, table.row_count)))


def _pairs(values: Mapping[str, Any]) -> str:
    """Return ``a=1, b=2`` (params, or counts per host)."""
    return ", ".join(f"{k}={v}" for k, v in values.items())


def _missed_text(missed: Mapping[str, int]) -> str:
    """Return the warning line for probe runs the kernel skipped."""
    return (
        f"warning: the kernel skipped {sum(missed.values())} probe runs"
        f" ({_pairs(missed)}) because another BPF program was running on the CPU;"
        " counts here are short by as much"
    )


def _events_total(entry: Mapping, shown: int) -> str:
    """Return the ``N events total (M lost)`` line, naming hosts that lost some."""
    lost = entry.get("lost") or {}
    text = f"{entry['count']} events total ({sum(lost.values())} lost)"
    if lost:
        text += " lost on: " + _pairs(lost)
    if shown < entry["count"]:
        text += f"; first {shown} shown"
    return text


def _print_table(entry: Mapping, results: Mapping, console: Console, _: int) -> None:
    """Print the top rows of a merged table with the hosts contributing most."""
    rows = entry.get("rows") or []
    top = entry.get("top") or DEFAULT_TABLE_ROWS
    unit = entry.get("unit") or ""
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    table.add_column("KEY", overflow="fold")
    table.add_column(Text(f"TOTAL\n{unit}".rstrip()), justify="right")
    table.add_column("TOP HOSTS", overflow="fold")
    for row in rows[:top]:
        _add_row(table, _cell(row["key"]), str(row["total"]), _top_hosts(row["hosts"]))
    if rows:
        console.print(table)
    console.print(_plain(f"{len(rows)} keys total, top {min(top, len(rows))} shown"))


def _top_hosts(hosts: Mapping[str, int], n: int = 3) -> str:
    """Return the hosts contributing most to a row, e.g. ``db1=40 db2=3 +2``."""
    ranked = sorted(hosts.items(), key=lambda item: -item[1])
    text = " ".join(f"{h}={v}" for h, v in ranked[:n])
    return text + (f" +{len(ranked) - n}" if len(ranked) > n else "")


# -- recap --------------------------------------------------------------------


def _print_recap(results: Mapping[str, Any], console: Console) -> None:
    """Print the hosts' outcomes, Ansible style, reasons wrapped under the outcome.

    Hosts with the same outcome and reason share one entry, ClusterShell style
    (``db1,db2,db3 : compile-error - prog.c:7:5: error: ...``).
    """
    width = min(console.width, WIDTH)
    console.print(_plain("PLAY RECAP " + "*" * (width - 11)))
    hosts = results.get("hosts") or {}
    groups = fold_hosts(hosts)
    # Names align on the widest short label; a long host list stands apart anyway.
    labels = [len(",".join(names)) for names, _ in groups]
    pad = max([n for n in labels if n <= MAX_INDENT - 3] or [min(labels or [0])])
    pad = min(pad, MAX_INDENT - 3)
    for names, host in groups:
        for line in _recap_lines(names, host, pad, width):
            console.print(line, overflow="ignore", crop=False)
    run = results.get("run") or {}
    tally = ", ".join(f"{n} {o}" for o, n in (results.get("outcomes") or {}).items())
    console.print(
        _plain(f"{len(hosts)} hosts: {tally or 'none'} (exit {run.get('exit_code')})")
    )


def _reason(host: Mapping) -> str:
    """A host's reason on one line, blanks collapsed."""
    return " ".join(str(host.get("reason") or "").split())


def fold_hosts(hosts: Mapping[str, Mapping]) -> list[tuple[list[str], Mapping]]:
    """Group hosts whose outcome and reason are identical, in inventory order."""
    groups: dict[tuple[str, str], tuple[list[str], Mapping]] = {}
    for name, host in hosts.items():
        key = (host["outcome"], _reason(host))
        groups.setdefault(key, ([], host))[0].append(name)
    return list(groups.values())


def _name_lines(names: Sequence[str], width: int, tail: int) -> list[str]:
    """Pack ``a,b,c`` into lines of ``width``; the last keeps ``tail`` columns free."""
    lines, current = [], ""
    for name in names:
        joined = f"{current},{name}" if current else name
        if current and len(joined) + 1 > width:
            lines.append(current + ",")
            joined = name
        current = joined
    if len(current) + tail > width and "," in current:
        head, _, last = current.rpartition(",")
        lines.append(head + ",")
        current = last
    return lines + [current]


def _recap_lines(names: Sequence[str], host: Mapping, pad: int,
                 width: int) -> list[Text]:
    """Return a group's recap line(s), its outcome green when ok, else red."""
    outcome = host["outcome"]
    *head, label = _name_lines(names, width, len(outcome) + 3)
    prefix = f"{label:<{pad}} : "
    reason = _reason(host)
    plain = prefix + outcome + (f" - {reason}" if reason else "")
    indent = " " * min(len(prefix), MAX_INDENT)
    wrapped = textwrap.wrap(plain, width=width, subsequent_indent=indent) or [plain]
    lines = [Text(line) for line in wrapped]
    if wrapped[0].startswith(prefix + outcome):
        style = "bold green" if outcome == "ok" else "bold red"
        lines[0].stylize(style, len(prefix), len(prefix) + len(outcome))
    # A name longer than the line is cut, as textwrap cuts it on the last line.
    head = [piece for line in head for piece in textwrap.wrap(line, width)]
    return [Text(line) for line in head] + lines


def _print_stacks(entry: Mapping, results: Mapping, console: Console, _: int) -> None:
    """Print the hottest stacks: comm, then the innermost frames that fit."""
    rows = entry.get("rows") or []
    top = entry.get("top") or DEFAULT_TABLE_ROWS
    total = sum(row["total"] for row in rows) or 1
    width = min(console.width, WIDTH)
    for row in rows[:top]:
        frames = row["key"].split(";")
        head = f"{row['total']:>7} {100 * row['total'] / total:5.1f}% {frames[0]}: "
        tail = " < ".join(reversed(frames[1:])) or "(no frames)"
        console.print(_plain((head + tail)[:width]))
    console.print(_plain(f"{len(rows)} distinct stacks, {total if rows else 0} samples;"
                         f" folded stacks in {entry['name']}.folded"))


_RENDERERS: dict[str, Callable[[Mapping, Mapping, Console, int], None]] = {
    "histogram": _print_histogram,
    "events": _print_events,
    "table": _print_table,
    "stacks": _print_stacks,
}
