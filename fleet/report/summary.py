"""The report's head: what ran, where, when, and everything that stands out.

One block before any job: hosts by outcome (failed ones folded), the outlier
hosts per job with their figure, events lost and probe runs skipped per job
and host, the window. At 200 hosts it is still a screenful.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from typing import Any

from rich.console import Console

from fleet.report.findings import (
    lost_by_job,
    missed_by_job,
    outcome_groups,
    outliers_of,
)
from fleet.report.text import ELLIPSIS, LABEL_W, WIDTH, clock, pairs, plain

__all__ = ["print_summary", "summary_lines"]

MAX_OUTLIERS = 12  # summary lines naming outliers; the jobs below list them all
MAX_HOSTS_NAMED = 4  # per lost/missed line; the rest are counted


def print_summary(results: Mapping[str, Any], console: Console) -> None:
    """Print the head block of the report."""
    for line in summary_lines(results):
        console.print(plain(line), overflow="ignore", crop=False)


def summary_lines(results: Mapping[str, Any]) -> list[str]:
    """The head block as lines of at most 80 columns."""
    run = results.get("run") or {}
    playbook = results.get("playbook") or {}
    hosts = results.get("hosts") or {}
    title = f"PLAY [{playbook.get('name') or '?'}] {playbook.get('path') or ''}"
    tally = ", ".join(f"{n} {o}" for o, n in (results.get("outcomes") or {}).items())
    selected = selection_text(playbook.get("hosts"), run.get("limit"))
    flag = "  INTERRUPTED" if run.get("interrupted") else ""
    lines = [title.rstrip()]
    lines += _item("hosts", f"{len(hosts)}{selected}: {tally or 'none'}")
    lines += _item("window", window_text(run.get("window")))
    lines += _item("run", f"{run.get('id')}, exit {run.get('exit_code')}{flag}")
    lines += _failed_lines(results)
    lines += _outlier_lines(results)
    lines += _per_job_lines("lost", "events", lost_by_job(results),
                            "; raise buffer_pages")
    lines += _per_job_lines("skipped", "probe runs", missed_by_job(results),
                            " (another BPF program held the CPU)")
    return lines


def _item(label: str, text: str, first: bool = True) -> list[str]:
    """``label     text``, wrapped under the text's column."""
    lead = f"{label:<{LABEL_W}}" if first else " " * LABEL_W
    return textwrap.wrap(text, WIDTH, initial_indent=lead,
                         subsequent_indent=" " * (LABEL_W + 2)) or [lead.rstrip()]


def selection_text(pattern: Any, limit: str | None) -> str:
    """`` (pattern, limit L)`` naming how the hosts were chosen, or ""."""
    if isinstance(pattern, (list, tuple)):
        pattern = ":".join(str(p) for p in pattern)
    parts = [str(pattern)] if pattern else []
    if limit:
        parts.append(f"limit {limit}")
    return f" ({', '.join(parts)})" if parts else ""


def window_text(window: Mapping[str, int] | None) -> str:
    """The fleet's tracing window in local time."""
    if not window:
        return "none (no host started tracing)"
    start, end = window["start_ns"], window["end_ns"]
    seconds = (end - start) / 1e9
    return f"{clock(start, date=True)} -> {clock(end)} local ({seconds:.1f} s)"


def _failed_lines(results: Mapping[str, Any]) -> list[str]:
    """``failed    unreachable: web[03-09] (Connect call failed)`` per group."""
    lines: list[str] = []
    for group in outcome_groups(results):
        if group.outcome == "ok":
            continue
        # One line per group: the recap at the end has the whole reason.
        text = f"{group.outcome}: {group.folded}"
        lines += _item("failed", text, first=not lines)
        if group.reason:
            room = WIDTH - len(lines[-1]) - 3
            if room >= 12:
                cut = group.reason if len(group.reason) <= room \
                    else group.reason[:room - 1] + ELLIPSIS
                lines[-1] += f" ({cut})"
    return lines


def _outlier_lines(results: Mapping[str, Any]) -> list[str]:
    """One line per outlier: host, job (and key), figure; ``none`` if none."""
    found = [o for entry in results.get("jobs") or []
             if entry["kind"] == "histogram" for o in outliers_of(entry)]
    if not found:
        return _item("outliers", "none")
    width = max(len(o.host) for o in found[:MAX_OUTLIERS])
    lines: list[str] = []
    for outlier in found[:MAX_OUTLIERS]:
        what = outlier.job + (f"[{outlier.key}]" if outlier.key else "")
        lines += _item("outliers", f"{outlier.host:<{width}} {what} {outlier.text}",
                       first=not lines)
    if len(found) > MAX_OUTLIERS:
        lines += _item("", f"+{len(found) - MAX_OUTLIERS} more, listed under "
                       "their jobs below", first=False)
    return lines


def _per_job_lines(label: str, noun: str, per_job: list, hint: str) -> list[str]:
    """``lost      opens: 1200 events, db004=1000 db005=200; raise buffer_pages``."""
    lines: list[str] = []
    for job, per_host in per_job:
        ranked = dict(sorted(per_host.items(), key=lambda kv: -kv[1]))
        named = dict(list(ranked.items())[:MAX_HOSTS_NAMED])
        more = len(ranked) - len(named)
        text = (f"{job}: {sum(per_host.values())} {noun}, {pairs(named, ' ')}"
                + (f" +{more} hosts" if more else "") + hint)
        lines += _item(label, text, first=not lines)
    return lines
