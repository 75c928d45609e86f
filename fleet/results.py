"""Build a run's results document from per-host raw results; write and read it back.

The document is described in docs/results.md. Event timelines stay lazy
(``EventStream``) until they are written, so a run with millions of events never
holds them in memory.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Callable

from fleet import wire
from fleet.errors import InputError
from fleet.merge import (
    hist_stats,
    iter_jsonl,
    merge_events,
    merge_tables,
    outliers,
    sum_slots,
)

__all__ = [
    "OUTCOMES",
    "SCHEMA",
    "UNREACHABLE",
    "EventStream",
    "build_results",
    "exit_code",
    "iter_events",
    "load_results",
    "load_run",
    "rederive",
]

SCHEMA = 1

# Every outcome a host can end with, in the order reports list them.
OUTCOMES = wire.OUTCOMES

# Ansible counts a host it could not log in to as unreachable, not as failed.
UNREACHABLE = frozenset({"unreachable", "auth-failed", "host-key-failed"})

EXIT_OK, EXIT_FAILED, EXIT_UNREACHABLE, EXIT_INTERRUPTED = 0, 2, 4, 99

# Each host's event file is reopened every this many lines, so merging thousands
# of hosts never holds thousands of file descriptors open at once.
EVENT_BATCH = 512


class EventStream:
    """A lazy, re-iterable timeline merging per-host event files by ``ts_ns``."""

    def __init__(self, sources: Sequence[tuple[str, str]]):
        """Keep ``(host, path)`` pairs; each file is sorted by ``ts_ns``."""
        self.sources = list(sources)

    def __iter__(self) -> Iterator[dict]:
        """Yield ``{"host", "ts_ns", ...fields}`` for every event, oldest first."""
        return merge_events(self._tagged(host, path) for host, path in self.sources)

    def __repr__(self) -> str:
        return f"EventStream({len(self.sources)} hosts)"

    @staticmethod
    def _tagged(host: str, path: str) -> Iterator[dict]:
        """Yield one host's events with the host name first."""
        for event in iter_jsonl(path, EVENT_BATCH):
            tagged = {"host": host, **event}
            tagged["host"] = host  # a decoded field named "host" must not win
            yield tagged


def exit_code(host_raws: Iterable[Mapping[str, Any]], interrupted: bool) -> int:
    """Return the run's exit code: 99 interrupted, 4 unreachable, 2 failed, else 0."""
    if interrupted:
        return EXIT_INTERRUPTED
    outcomes = {raw["outcome"] for raw in host_raws}
    if outcomes & UNREACHABLE:
        return EXIT_UNREACHABLE
    if outcomes - {"ok"}:
        return EXIT_FAILED
    return EXIT_OK


def build_results(
    meta: Mapping[str, Any],
    jobs: Sequence[Mapping[str, Any]],
    host_raws: Sequence[Mapping[str, Any]],
) -> dict[str, Any]:
    """Return the results document of a run (events stay lazy, see EventStream)."""
    playbook = meta.get("playbook") or {}
    return {
        "schema": SCHEMA,
        "fleet_version": meta.get("fleet_version"),
        "run": _run_section(meta, host_raws),
        "playbook": {key: playbook.get(key) for key in ("name", "path", "hosts")},
        "outcomes": _count_outcomes(host_raws),
        "hosts": {raw["name"]: _host_entry(raw) for raw in host_raws},
        "jobs": [
            _job_entry(job, out, host_raws) for job in jobs for out in job["outputs"]
        ],
    }


def _run_section(meta: Mapping[str, Any], host_raws: Sequence[Mapping]) -> dict:
    """Return the ``run`` section: identity, timing, options and exit code."""
    run = {
        key: meta.get(key)
        for key in ("id", "dir", "started_ns", "ended_ns", "duration_s", "start_at_ns")
    }
    run.update(
        limit=meta.get("limit"),
        forks=meta.get("forks"),
        interrupted=bool(meta.get("interrupted")),
        exit_code=exit_code(host_raws, bool(meta.get("interrupted"))),
        window=_fleet_window(host_raws),
    )
    return run


def _fleet_window(host_raws: Sequence[Mapping]) -> dict | None:
    """Return the span covering every host's tracing window, or None if none ran."""
    windows = [raw["window"] for raw in host_raws if raw.get("window")]
    if not windows:
        return None
    return {
        "start_ns": min(w["start_ns"] for w in windows),
        "end_ns": max(w["end_ns"] for w in windows),
    }


def _count_outcomes(host_raws: Sequence[Mapping]) -> dict[str, int]:
    """Count hosts per outcome, known outcomes first in a fixed order."""
    counts = Counter(raw["outcome"] for raw in host_raws)
    order = [o for o in OUTCOMES if o in counts] + sorted(set(counts) - set(OUTCOMES))
    return {outcome: counts[outcome] for outcome in order}


def _host_entry(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Return one host's entry: outcome, where and when it traced, what it used."""
    return {
        "outcome": raw["outcome"],
        "reason": raw.get("reason") or "",
        "address": raw.get("address"),
        "window": raw.get("window"),
        "bytes_pushed": raw.get("bytes_pushed", 0),
        "facts": raw.get("facts"),
        "jobs": raw.get("jobs") or {},
        "agent": raw.get("agent") or {},
        "log": raw.get("log"),
        "notes": list(raw.get("notes") or []),
    }


# bpf_trace_printk lines (a "trace" output) arrive as events with these fields.
TRACE_COLUMNS = ({"field": "comm"}, {"field": "pid"}, {"field": "message"})


def _as_reported(out: Mapping) -> Mapping:
    """Trace lines, series rows and interval tables (read every interval) arrive
    as events."""
    if out["kind"] == "trace":
        return dict(out, kind="events",
                    columns=out.get("columns") or [dict(c) for c in TRACE_COLUMNS])
    if out["kind"] == "table" and out.get("interval"):  # top rows per interval
        return dict(out, kind="events", columns=list(out.get("columns") or [])
                    + [{"field": "secs", "unit": "s"}])
    if out["kind"] == "series":
        columns = out.get("columns") or [
            {"field": f, "unit": out.get("unit")} for f in out["fields"]
        ] + [{"field": r, "unit": "%"} for r in out.get("ratios") or {}]
        return dict(out, kind="events",
                    columns=columns + [{"field": "secs", "unit": "s"}])
    return out


def _job_entry(job: Mapping, out: Mapping, host_raws: Sequence[Mapping]) -> dict:
    """Return the merged entry for one output of one job."""
    out = _as_reported(out)
    single = len(job["outputs"]) == 1
    entry = {
        "name": job["id"] if single else f"{job['id']}.{out['name']}",
        "job": job.get("job", job["id"]),
        "output": out["name"],
        "kind": out["kind"],
        "unit": out.get("unit"),
        "params": job.get("params") or {},
        "summary": job.get("summary") or "",
    }
    found = _participants(host_raws, job["id"], out["name"])
    builders: dict[str, Callable[[Mapping, dict], dict]] = {
        "histogram": _histogram_fields,
        "events": _events_fields,
        "table": _table_fields,
        "stacks": _table_fields,
    }
    entry.update(builders[out["kind"]](out, found))
    entry["missed_runs"] = _missed_runs(host_raws, job["id"])
    return entry


def _missed_runs(host_raws: Sequence[Mapping], job_id: str) -> dict[str, int]:
    """Per host, the job's probe runs its kernel skipped (another BPF program
    was running on that CPU): events or counts the job never saw."""
    missed = {}
    for raw in host_raws:
        runs = ((raw.get("jobs") or {}).get(job_id) or {}).get("missed_runs")
        if runs:
            missed[raw["name"]] = runs
    return missed


def _participants(host_raws: Sequence[Mapping], job_id: str, name: str) -> dict:
    """Map each host that has data for this output to its raw output, in order."""
    found = {}
    for raw in host_raws:
        out = ((raw.get("outputs") or {}).get(job_id) or {}).get(name)
        if out is None and raw["outcome"] == "ok":
            out = {}  # an ok host that saw nothing has zero samples, not no data
        if out is not None:
            found[raw["name"]] = out
    return found


def _stats(slots: list[int], scale: str = "log2") -> dict[str, Any]:
    """Return slots with their count, percentiles and max."""
    return {"slots": slots, **hist_stats(slots, scale)}


def _histogram_fields(out: Mapping, found: Mapping[str, Mapping]) -> dict:
    """Return fleet, per-host and (when keyed) per-key histogram statistics."""
    scale = out.get("scale") or "log2"
    keyed = {host: raw.get("slots") or {} for host, raw in found.items()}
    hosts = {
        host: _stats(sum_slots(slots.values()), scale) for host, slots in keyed.items()
    }
    fields: dict[str, Any] = {
        "scale": scale,
        "fleet": _stats(sum_slots(s["slots"] for s in hosts.values()), scale),
        "hosts": hosts,
        "outliers": outliers(hosts),
    }
    labels = {label for slots in keyed.values() for label in slots}
    if labels - {""}:
        fields["keys"] = _keyed_fields(keyed, labels, scale)
    if out.get("interval"):
        fields["interval_s"] = float(out["interval"])
        fields["intervals"] = _interval_fields(found)
    return fields


def _interval_fields(found: Mapping[str, Mapping]) -> dict:
    """Per-interval slots (all keys together): each host's, and their sum.

    Interval ``i`` covers ``[i, i + 1) * interval_s`` from the host's window
    start; the hosts' windows open together, so index ``i`` is one instant
    fleet-wide. The last interval may be shorter (the window's remainder).
    """
    hosts = {
        host: [sum_slots(slots.values()) for slots in raw.get("intervals") or []]
        for host, raw in found.items()
    }
    length = max((len(series) for series in hosts.values()), default=0)
    fleet = [
        sum_slots(series[i] for series in hosts.values() if i < len(series))
        for i in range(length)
    ]
    return {"fleet": fleet, "hosts": hosts}


def _keyed_fields(keyed: Mapping[str, Mapping], labels: set, scale: str) -> dict:
    """Return ``{label: {fleet, hosts, outliers}}``, busiest label first."""
    per_label = {}
    for label in labels:
        hosts = {
            host: _stats(sum_slots([slots[label]]), scale)
            for host, slots in keyed.items()
            if label in slots
        }
        fleet = _stats(sum_slots(s["slots"] for s in hosts.values()), scale)
        per_label[label] = {"fleet": fleet, "hosts": hosts, "outliers": outliers(hosts)}
    order = sorted(per_label, key=lambda lb: (-per_label[lb]["fleet"]["count"], lb))
    return {label: per_label[label] for label in order}


def _events_fields(out: Mapping, found: Mapping[str, Mapping]) -> dict:
    """Return event counts per host and the lazy merged timeline (last: it is big)."""
    hosts = {
        host: {"count": raw.get("count", 0), "lost": raw.get("lost", 0)}
        for host, raw in found.items()
    }
    # A host that produced no file has nothing to merge; its count says so.
    sources = [
        (host, raw["file"])
        for host, raw in found.items()
        if raw.get("file") and os.path.exists(raw["file"])
    ]
    return {
        "columns": list(out.get("columns") or []),
        "count": sum(h["count"] for h in hosts.values()),
        "lost": {host: h["lost"] for host, h in hosts.items() if h["lost"]},
        "hosts": hosts,
        "events": EventStream(sources),
    }


def _table_fields(out: Mapping, found: Mapping[str, Mapping]) -> dict:
    """Return the merged table rows, largest total first."""
    rows = merge_tables({host: raw.get("rows") or [] for host, raw in found.items()})
    return {"top": out.get("top"), "rows": rows}


def rederive(results: Mapping[str, Any]) -> dict[str, Any]:
    """Recompute every derived figure of a results document from its per-host data.

    Fleet sums, percentiles, outliers, totals and outcome counts are rebuilt by
    the same functions a run uses, so an edited, merged or synthetic
    results.json reports exactly what its hosts say.
    """
    hosts = results.get("hosts") or {}
    doc = dict(results)
    doc["outcomes"] = _count_outcomes(
        [{"outcome": host["outcome"]} for host in hosts.values()]
    )
    doc["jobs"] = [_rederived_job(entry) for entry in results.get("jobs") or []]
    return doc


def _rederived_job(entry: Mapping[str, Any]) -> dict[str, Any]:
    """One job entry with its derived fields rebuilt from its per-host data."""
    kind = entry["kind"]
    out = {"kind": kind, "scale": entry.get("scale"), "top": entry.get("top"),
           "interval": entry.get("interval_s"), "columns": entry.get("columns")}
    if kind == "histogram":
        fields = _histogram_fields(out, _histogram_found(entry))
    elif kind == "events":
        fields = _events_fields(out, {h: dict(v) for h, v in entry["hosts"].items()})
        fields["events"] = entry.get("events") or []
    else:
        fields = _table_fields(out, _table_found(entry))
    return {**entry, **fields}


def _histogram_found(entry: Mapping[str, Any]) -> dict[str, dict]:
    """Each host's raw histogram (slots per key, intervals) from a job entry."""
    keys = entry.get("keys") or {}
    intervals = (entry.get("intervals") or {}).get("hosts") or {}
    found = {}
    for host, stats in (entry.get("hosts") or {}).items():
        per_key = {
            label: key["hosts"][host]["slots"]
            for label, key in keys.items()
            if host in key.get("hosts", {})
        }
        found[host] = {"slots": per_key if keys else {"": stats.get("slots") or []}}
        if host in intervals:
            found[host]["intervals"] = [{"": slots} for slots in intervals[host]]
    return found


def _table_found(entry: Mapping[str, Any]) -> dict[str, dict]:
    """Each host's raw table rows from a merged table or stacks entry."""
    rows: dict[str, list] = {}
    for row in entry.get("rows") or []:
        for host, value in row["hosts"].items():
            rows.setdefault(host, []).append({"key": row["key"], "value": value})
    return {host: {"rows": host_rows} for host, host_rows in rows.items()}


def load_results(path: str) -> dict[str, Any]:
    """Read a results.json (fleet.runfolder writes it) with events as a plain list."""
    with open(path, encoding="utf-8") as source:
        return json.load(source)


def load_run(run: str) -> tuple[Path, dict[str, Any]]:
    """Find and read a run's results.json (RUN: its folder or the file itself),
    figures rederived; bad input raises InputError naming the file."""
    path = Path(run)
    if path.is_dir():
        path = path / "results.json"
    if not path.is_file():
        raise InputError("no results.json here; RUN is a run folder (runs/<id>/) "
                         "or the path of its results.json", str(path))
    try:
        results = load_results(str(path))
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise InputError(f"cannot read results: {error}", str(path)) from None
    if not isinstance(results, dict) or not isinstance(results.get("hosts"), dict) \
            or not isinstance(results.get("jobs"), list):
        raise InputError("not a fleet results.json: expected an object with "
                         "'hosts' (an object) and 'jobs' (a list); see "
                         "docs/results.md", str(path))
    for i, entry in enumerate(results["jobs"]):
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str) \
                or entry.get("kind") not in ("histogram", "events", "table", "stacks"):
            raise InputError(f"jobs[{i}] needs a name and a kind (histogram, events, "
                             "table or stacks); see docs/results.md", str(path))
    try:
        return path, rederive(results)
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise InputError(f"results.json does not follow docs/results.md "
                         f"({type(error).__name__}: {error})", str(path)) from None


def iter_events(entry: Mapping[str, Any]) -> Iterator[dict]:
    """Iterate an events job's timeline, whether lazy or loaded from results.json."""
    return iter(entry.get("events") or ())
