"""Format results for people and programs: a terminal report and streamed JSON."""

from fleet.report.json import dump_results
from fleet.report.terminal import render_report, render_text

__all__ = ["dump_results", "render_report", "render_text"]
