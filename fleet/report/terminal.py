"""Render a results document for a terminal: summary first, then each job, a recap.

Everything fits 80 columns (bcc's rule for tools) and stays readable at 200
hosts: the summary names what stands out, tables show outliers first, events
are summarised before the first few are listed, and the recap folds names.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any, Callable

from rich.console import Console
from rich.text import Text

from fleet.report.events import print_events
from fleet.report.histogram import linear_lines, log2_lines, print_histogram
from fleet.report.recap import print_recap
from fleet.report.summary import print_summary
from fleet.report.tables import print_stacks, print_table
from fleet.report.text import WIDTH, ReportOptions, pairs, plain

__all__ = ["WIDTH", "ReportOptions", "linear_lines", "log2_lines", "render_report",
           "render_text"]


def render_report(results: Mapping[str, Any], console: Console,
                  options: ReportOptions | None = None) -> None:
    """Print the report of a run: summary, one section per job output, recap."""
    options = options or ReportOptions()
    print_summary(results, console)
    for entry in results.get("jobs") or []:
        console.print()
        _print_title(entry, console)
        _RENDERERS[entry["kind"]](entry, results, console, options)
        if entry.get("missed_runs"):
            console.print(plain(_missed_text(entry["missed_runs"])))
    console.print()
    print_recap(results, console)


def render_text(results: Mapping[str, Any],
                options: ReportOptions | None = None) -> str:
    """Return the report as plain text, 80 columns, no color (for report.txt)."""
    buffer = io.StringIO()
    console = Console(file=buffer, width=WIDTH, color_system=None,
                      force_terminal=False, no_color=True, highlight=False,
                      emoji=False)
    render_report(results, console, options)
    # rich pads table lines to the table's width; the file needs no trailing blanks.
    return "".join(line.rstrip() + "\n" for line in buffer.getvalue().splitlines())


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
        console.print(Text(f"params: {pairs(params)}", style="dim"))


def _missed_text(missed: Mapping[str, int]) -> str:
    """The warning line for probe runs the kernel skipped."""
    return (
        f"warning: the kernel skipped {sum(missed.values())} probe runs"
        f" ({pairs(missed)}) because another BPF program was running on the CPU;"
        " counts here are short by as much"
    )


_RENDERERS: dict[str, Callable[[Mapping, Mapping, Console, ReportOptions], None]] = {
    "histogram": print_histogram,
    "events": print_events,
    "table": print_table,
    "stacks": print_stacks,
}
