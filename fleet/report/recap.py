"""The PLAY RECAP: hosts folded by outcome and reason, Ansible style, 80 columns.

``db[001-116,118-162] : ok``; identical reasons fold after the host's own
address is taken out (``web[03-09] : unreachable - Connect call failed``).
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from typing import Any

from rich.console import Console
from rich.text import Text

from fleet.report.findings import Group, outcome_groups
from fleet.report.text import WIDTH, plain

__all__ = ["print_recap"]

# Reasons wrap under the outcome, but never indent past this column.
MAX_INDENT = 32


def print_recap(results: Mapping[str, Any], console: Console) -> None:
    """Print every host's outcome, folded, then the tally and the exit code."""
    width = min(console.width, WIDTH)
    console.print(plain("PLAY RECAP " + "*" * (width - 11)))
    groups = outcome_groups(results)
    # Labels align on the widest short one; a long folded list stands apart anyway.
    labels = [len(g.folded) for g in groups]
    pad = max([n for n in labels if n <= MAX_INDENT - 3] or [min(labels or [0])])
    pad = min(pad, MAX_INDENT - 3)
    for group in groups:
        for line in _recap_lines(group, pad, width):
            console.print(line, overflow="ignore", crop=False)
    run = results.get("run") or {}
    hosts = results.get("hosts") or {}
    tally = ", ".join(f"{n} {o}" for o, n in (results.get("outcomes") or {}).items())
    console.print(
        plain(f"{len(hosts)} hosts: {tally or 'none'} (exit {run.get('exit_code')})")
    )


def _recap_lines(group: Group, pad: int, width: int) -> list[Text]:
    """A group's line(s), its outcome green when ok, else red."""
    label = group.folded
    head: list[str] = []
    if len(label) + len(group.outcome) + 3 > width:
        # A list too long for one line wraps at its commas, above the outcome.
        *head, label = textwrap.wrap(label.replace(",", ", "), width - 1)
        head = [h.replace(", ", ",") for h in head]
        label = label.replace(", ", ",")
    prefix = f"{label:<{pad}} : "
    text = prefix + group.outcome + (f" - {group.reason}" if group.reason else "")
    indent = " " * min(len(prefix), MAX_INDENT)
    wrapped = textwrap.wrap(text, width=width, subsequent_indent=indent) or [text]
    lines = [Text(line) for line in wrapped]
    if wrapped[0].startswith(prefix + group.outcome):
        style = "bold green" if group.outcome == "ok" else "bold red"
        lines[0].stylize(style, len(prefix), len(prefix) + len(group.outcome))
    return [Text(line) for line in head] + lines
