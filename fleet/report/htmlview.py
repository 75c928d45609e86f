"""The HTML report's view of a results document: what each section draws.

Pure data for the jinja2 templates (and the JSON the page's script reads):
heatmap cells, timeline bins, flame graph stacks, capped event rows. Every
figure comes from the per-host data, ordered as the terminal orders it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from fleet.merge import slot_range
from fleet.report.eventstats import ERRNO_FIELDS, errno_text, event_stats
from fleet.report.findings import outliers_of
from fleet.report.flamediff import StackBaseline, diff_view
from fleet.report.hostrows import natural_key, order_hosts
from fleet.report.text import cell, is_number
from fleet.results import iter_events

__all__ = ["EVENT_ROWS", "LEVELS", "TIME_BINS", "job_view"]

LEVELS = 8  # colour steps of a heatmap cell (CSS classes c1..c8)
TIME_BINS = 120  # columns of an events timeline
EVENT_ROWS = 1000  # events listed per output; the rest are counted, not embedded
TABLE_ROWS = 25  # rows of a table output
MAX_KEYS = 5  # heatmaps per keyed histogram


def level(share: float) -> int:
    """Colour step 1..LEVELS of a cell holding ``share`` (0-1] of its row."""
    return max(1, min(LEVELS, int(share * LEVELS + 0.999)))


def slot_label(k: int, scale: str) -> str:
    """``16-31`` for a log2 slot, ``7`` for a linear one."""
    low, high = slot_range(k, scale)
    return str(low) if low == high else f"{low}-{high}"


def heatmap(hosts: Mapping[str, Mapping], flagged: Sequence[str],
            scale: str) -> dict[str, Any]:
    """Hosts x slots: one row per host (outliers, then by p99), cells by share."""
    used = [k for stats in hosts.values()
            for k, n in enumerate(stats.get("slots") or []) if n]
    first, last = (min(used), max(used)) if used else (0, 0)
    rows = []
    for name in order_hosts(hosts, flagged, "p99"):
        stats = hosts[name]
        total = stats.get("count") or 0
        cells = [(k, n, level(n / total)) for k, n in
                 enumerate(stats.get("slots") or []) if n]
        rows.append({"host": name, "count": total, "flagged": name in flagged,
                     "p99": stats.get("p99"), "cells": cells})
    columns = [{"slot": k, "label": slot_label(k, scale)}
               for k in range(first, last + 1)]
    return {"first": first, "columns": columns, "rows": rows}


def _histogram_view(entry: Mapping) -> dict[str, Any]:
    scale = entry.get("scale") or "log2"
    flagged = {o["host"]: o["why"] for o in entry.get("outliers") or []}
    slots = entry["fleet"].get("slots") or []
    peak = max(slots or [1]) or 1
    used = [k for k, n in enumerate(slots) if n]
    bars = [{"label": slot_label(k, scale), "count": slots[k],
             "height": slots[k] / peak}
            for k in range(used[0], used[-1] + 1)] if used else []
    keys = [{"label": label, "heat": heatmap(per_key["hosts"],
                                             [o["host"] for o in per_key["outliers"]],
                                             scale)}
            for label, per_key in list((entry.get("keys") or {}).items())[:MAX_KEYS]]
    view = {"bars": bars, "heat": heatmap(entry["hosts"], list(flagged), scale),
            "flags": flagged, "outliers": outliers_of(entry), "key_maps": keys,
            "more_keys": max(len(entry.get("keys") or {}) - MAX_KEYS, 0),
            "hosts": [dict(entry["hosts"][h], host=h) for h in
                      order_hosts(entry["hosts"], flagged, "p99")],
            "intervals": None}
    if entry.get("interval_s"):
        view["intervals"] = {"interval_s": entry["interval_s"], "scale": scale,
                             "unit": entry.get("unit"), **entry["intervals"]}
    return view


def _value_field(columns: Sequence[Mapping]) -> str | None:
    """The field that colours timeline marks: the first one with a unit."""
    return next((c["field"] for c in columns if c.get("unit")), None)


class Timeline:
    """Per host, events counted in TIME_BINS bins of the window, and the highest
    value of the colouring field per bin; fed every event of the output."""

    def __init__(self, hosts: Sequence[str], window: Mapping, value: str | None):
        self.hosts = list(hosts)
        self.index = {h: i for i, h in enumerate(self.hosts)}
        self.start, self.end = window.get("start_ns"), window.get("end_ns")
        self.value = value
        self.bins: dict[tuple[int, int], list] = {}
        ok = self.start is not None and self.end is not None and self.end > self.start
        self.width = (self.end - self.start) / TIME_BINS if ok else None

    def add(self, event: Mapping) -> None:
        """Count one event in its host's bin."""
        if self.width is None:
            return
        b = min(max(int((event["ts_ns"] - self.start) / self.width), 0),
                TIME_BINS - 1)
        mark = self.bins.get((self.index.get(event["host"], 0), b))
        if mark is None:
            mark = self.bins[(self.index.get(event["host"], 0), b)] = [0, None]
        mark[0] += 1
        v = event.get(self.value) if self.value else None
        if type(v) in (int, float) and (mark[1] is None or v > mark[1]):
            mark[1] = v

    def view(self) -> dict[str, Any]:
        """``{hosts, bins: [[host index, bin, count, highest]], ...}``."""
        flat = [[h, b, n, v] for (h, b), (n, v) in sorted(self.bins.items())]
        return {"hosts": self.hosts, "bins": flat, "start_ns": self.start,
                "end_ns": self.end, "nbins": TIME_BINS, "value": self.value}


def _events_view(entry: Mapping, results: Mapping) -> dict[str, Any]:
    columns = entry.get("columns") or []
    value = _value_field(columns)
    window = (results.get("run") or {}).get("window") or {}
    timeline = Timeline(list(entry.get("hosts") or {}), window, value)
    stats = event_stats(iter_events(entry), columns, EVENT_ROWS, timeline.add)
    rows = [[e["host"], e["ts_ns"]] + [cell(errno_text(e.get(c["field"]))
                                            if c["field"] in ERRNO_FIELDS
                                            else e.get(c["field"]))
                                       for c in columns] for e in stats.first]
    tops = {name: counter.most_common(5) for name, counter in
            {**stats.text, **stats.results}.items()}
    hosts = sorted(entry.get("hosts") or {}, key=natural_key)
    return {"columns": columns, "rows": rows, "tops": tops, "value": value,
            "timeline": timeline.view(), "shown": len(stats.first),
            "per_host": [{"host": h, **entry["hosts"][h]} for h in hosts]}


def _table_view(entry: Mapping) -> dict[str, Any]:
    rows = (entry.get("rows") or [])[:TABLE_ROWS]
    totals: dict[str, int] = {}
    for row in entry.get("rows") or []:
        for host, v in row["hosts"].items():
            totals[host] = totals.get(host, 0) + (v if is_number(v) else 0)
    hosts = sorted(totals, key=lambda h: (-totals[h], natural_key(h)))
    return {"rows": rows, "hosts": hosts, "total_rows": len(entry.get("rows") or [])}


def _stacks_view(entry: Mapping, baseline: StackBaseline | None) -> dict[str, Any]:
    """Folded stacks with per-host counts, hosts as indexes (the script's input),
    and the baseline's counts for the differential flame graph when there is one."""
    hosts: list[str] = []
    index: dict[str, int] = {}
    stacks = []
    for row in entry.get("rows") or []:
        counts = []
        for host, n in row["hosts"].items():
            if host not in index:
                index[host] = len(hosts)
                hosts.append(host)
            counts += [index[host], n]
        stacks.append([row["key"], counts])
    flame = {"hosts": hosts, "stacks": stacks}
    diff = diff_view(entry["name"], entry.get("rows") or [], flame, baseline)
    return {"flame": flame, "diff": diff}


def job_view(entry: Mapping, results: Mapping,
             baseline: StackBaseline | None = None) -> dict[str, Any]:
    """What one job output's section shows (stacks: against ``baseline``)."""
    kind = entry["kind"]
    if kind == "histogram":
        return _histogram_view(entry)
    if kind == "events":
        return _events_view(entry, results)
    if kind == "stacks":
        return _stacks_view(entry, baseline)
    return _table_view(entry)
