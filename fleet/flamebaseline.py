"""The baseline of a run's flame graphs, looked up in the history, for report.html.

The baseline is what ``fleet diff --baseline K`` compares with: the K runs of
the same playbook that started before the run, newest first; one run as it
was recorded, several as the per-host median of each stack
(diff.baseline_record). ``fleet report RUN --html [--baseline K]`` draws its
differential flame graphs against it; ``fleet run`` writes report.html before
the run is recorded, so once recorded, and only when it has a baseline, the
run's report.html is written again with it (redraw_with_baseline).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rich.console import Console

from fleet.atomicfile import atomic_write
from fleet.diff import baseline_record
from fleet.errors import FleetError
from fleet.history import History
from fleet.report.flamediff import StackBaseline

__all__ = ["DEFAULT_RUNS", "baseline_from", "load_baseline", "redraw_with_baseline"]

DEFAULT_RUNS = 1  # the previous run, as the sweep line compares with


def _stacks_jobs(results: Mapping[str, Any]) -> list[str]:
    """Names of the run's stacks outputs (profile): what a baseline is for."""
    return [entry["name"] for entry in results.get("jobs") or []
            if entry.get("kind") == "stacks"]


def load_baseline(path: str | Path | None, results: Mapping[str, Any],
                  k: int = DEFAULT_RUNS) -> StackBaseline | None:
    """The run's baseline from the history at ``path``; None without stacks jobs.

    No history, no earlier run or an unusable file give a baseline without
    runs whose ``reason`` says so: the report is written all the same.
    """
    if not _stacks_jobs(results):
        return None
    if path is None:
        return StackBaseline(asked=k, reason="the history is off (--no-history)")
    if not Path(path).exists():
        return StackBaseline(asked=k, reason=f"no history at {path} yet")
    try:
        with History(path, create=False) as history:
            return baseline_from(history, results, k)
    except FleetError as error:
        return StackBaseline(asked=k, reason=str(error).rstrip("."))


def baseline_from(history: History, results: Mapping[str, Any],
                  k: int = DEFAULT_RUNS) -> StackBaseline:
    """The baseline of the K runs of the run's playbook before it in ``history``."""
    run = results.get("run") or {}
    playbook = (results.get("playbook") or {}).get("name") or ""
    earlier = history.runs(playbook=playbook, before_ns=run.get("started_ns") or 0,
                           limit=k)
    if not earlier:
        return StackBaseline(asked=k, reason=f"no run of playbook {playbook!r} "
                             f"before this one in the history ({history.path})")
    base = baseline_record([history.load(r["id"]) for r in earlier])
    wanted = set(_stacks_jobs(results))
    stacks = {job["name"]: {host: data.get("stacks") or {}
                            for host, data in job["hosts"].items()}
              for job in base["jobs"]
              if job["kind"] == "stacks" and job["name"] in wanted}
    return StackBaseline(runs=tuple((r["id"], r["started_ns"]) for r in earlier),
                         stacks=stacks, asked=k)


def redraw_with_baseline(results: Mapping[str, Any], path: str | Path,
                         err: Console) -> None:
    """After ``fleet run`` recorded a run: its report.html again, with the
    previous run as the flame graphs' baseline, when there is one.

    A failure here leaves the first report.html (without the differential
    flame graph) and says so; the run and its record stand.
    """
    folder = (results.get("run") or {}).get("dir")
    baseline = load_baseline(path, results) if folder else None
    if baseline is None or not baseline.runs:
        return
    # Here, not at the top: `fleet history` and `fleet diff` need no jinja2.
    from fleet.report.html import render_html

    target = Path(folder) / "report.html"
    try:
        atomic_write(target, lambda out: out.write(render_html(results, baseline)))
    except OSError as error:
        err.print(f"fleet: {target} has no differential flame graph: {error}",
                  markup=False, highlight=False, soft_wrap=True)
