"""The HTML report: one self-contained file (no CDN, works offline) from results.

jinja2 templates under ``templates/`` draw the summary, the hosts x slots
heatmaps and histograms as SVG; a small script written here (report.js) adds
hover, sorting, the host filter, timelines, time heatmaps and the flame graph
(coloured by frame, or by the change against a baseline from the history).
Events past a cap are counted, not embedded, so 200 hosts x 5 jobs stay small.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import jinja2

from fleet.report.findings import (
    host_warnings,
    lost_by_job,
    missed_by_job,
    outcome_groups,
    outliers_of,
)
from fleet.report.flamediff import StackBaseline
from fleet.report.htmlview import EVENT_ROWS, LEVELS, job_view
from fleet.report.summary import selection_text, window_text

__all__ = ["render_html"]

TEMPLATES = Path(__file__).parent / "templates"


@cache
def _environment() -> jinja2.Environment:
    """Autoescaping everywhere: host names and event fields are untrusted text.

    Missing optional fields (a column without a unit) render empty.
    """
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        trim_blocks=True, lstrip_blocks=True)
    env.filters["anchor"] = anchor
    return env


def anchor(name: str) -> str:
    """A section id from a job name: ``job-disk_latency``."""
    return "job-" + re.sub(r"[^A-Za-z0-9_.-]", "-", str(name))


def _asset(name: str) -> str:
    return (TEMPLATES / name).read_text(encoding="utf-8")


def render_html(results: Mapping[str, Any],
                baseline: StackBaseline | None = None) -> str:
    """Return the whole report as one HTML document.

    ``baseline``: earlier runs' stacks for the differential flame graphs
    (fleet/flamebaseline.py); None when no history was looked at.
    """
    run = results.get("run") or {}
    playbook = results.get("playbook") or {}
    jobs = [{"entry": entry, "view": job_view(entry, results, baseline)}
            for entry in results.get("jobs") or []]
    outliers = [o for entry in results.get("jobs") or []
                if entry["kind"] == "histogram" for o in outliers_of(entry)]
    context = {
        "run": run,
        "playbook": playbook,
        "hosts": results.get("hosts") or {},
        "outcomes": results.get("outcomes") or {},
        "selection": selection_text(playbook.get("hosts"), run.get("limit")),
        "window": window_text(run.get("window")),
        "groups": outcome_groups(results),
        "outliers": outliers,
        "lost": lost_by_job(results),
        "missed": missed_by_job(results),
        "warnings": host_warnings(results),
        "jobs": jobs,
        "levels": LEVELS,
        "event_rows": EVENT_ROWS,
        "css": _asset("report.css"),
        "script": _asset("report.js"),
    }
    return _environment().get_template("report.html.j2").render(context)
