"""The run record: what history keeps of a run, built from its results document.

A record is the part of results.json that comparing runs needs, per job, host
and key: raw log2 slots (histograms), values per key (tables), event counts and
lost events (never the events: they stay in the run folder), folded stacks
(profiles), missed runs; per host: outcome, facts and the attach points used.
``fleet diff`` works on records, whether they come from the history database or
straight from a run folder, so both paths give the same answer by construction.

Shape (plain dicts and lists, JSON-ready)::

    {"run": {id, playbook, playbook_path, playbook_hash, inventory, pattern,
             limit, started_ns, ended_ns, exit_code, run_dir, fleet_version},
     "hosts": {host: {outcome, reason, window_s, facts, attach: {job id: [used]}}},
     "jobs": [{name, job, kind, unit, scale, params,
               hosts: {host: data}, missed_runs: {host: n}}]}

where ``data`` is ``{"slots": {key: [counts]}}`` for a histogram (key ``""``
when the histogram is not keyed), ``{"rows": {key: value}}`` for a table,
``{"count": n, "lost": n}`` for events and ``{"stacks": {folded: count}}`` for
stacks.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from typing import Any

from fleet.results import load_results

__all__ = ["content_hash", "from_results", "load_folder", "results_path"]


def content_hash(path: str | None, fallback: Any = None) -> str | None:
    """sha256 of a playbook file's bytes, or of ``fallback`` as canonical JSON.

    ``fleet trace`` has no file: its one-job playbook is hashed from its
    description, so two traces with the same job and params share a hash.
    """
    if path and os.path.isfile(path):
        with open(path, "rb") as source:
            return hashlib.sha256(source.read()).hexdigest()
    if fallback is None:
        return None
    text = json.dumps(fallback, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def from_results(
    results: Mapping[str, Any], inventory: str | None = None,
    playbook_hash: str | None = None,
) -> dict[str, Any]:
    """Return the run record of a results document (docs/results.md)."""
    run = results.get("run") or {}
    playbook = results.get("playbook") or {}
    return {
        "run": {
            "id": run.get("id"),
            "playbook": playbook.get("name") or "",
            "playbook_path": playbook.get("path"),
            "playbook_hash": playbook_hash,
            "inventory": inventory,
            "pattern": playbook.get("hosts"),
            "limit": run.get("limit"),
            "started_ns": run.get("started_ns") or 0,
            "ended_ns": run.get("ended_ns"),
            "exit_code": run.get("exit_code"),
            "run_dir": _absolute(run.get("dir")),
            "fleet_version": results.get("fleet_version"),
        },
        "hosts": {
            name: _host_record(host)
            for name, host in (results.get("hosts") or {}).items()
        },
        "jobs": [_job_record(entry) for entry in results.get("jobs") or []],
    }


def results_path(target: str) -> str | None:
    """The results.json of a run folder (or the file itself), None if neither."""
    if os.path.isdir(target):
        path = os.path.join(target, "results.json")
        return path if os.path.isfile(path) else None
    if os.path.isfile(target) and os.path.basename(target) == "results.json":
        return target
    return None


def load_folder(target: str) -> dict[str, Any]:
    """The run record of a run folder's results.json."""
    path = results_path(target)
    if path is None:
        raise FileNotFoundError(f"{target}: no results.json there")
    record = from_results(load_results(path))
    # The folder may have moved since the run: where it is now is what counts.
    record["run"]["run_dir"] = os.path.abspath(os.path.dirname(path))
    return record


def _absolute(path: str | None) -> str | None:
    """A run folder as an absolute path: history outlives the working directory."""
    return os.path.abspath(path) if path else None


def _host_record(host: Mapping[str, Any]) -> dict[str, Any]:
    """One host's outcome, window length, facts and the attach points it used."""
    window = host.get("window") or None
    attach = {
        job_id: [a.get("used") for a in (job.get("attach") or []) if a.get("used")]
        for job_id, job in (host.get("jobs") or {}).items()
    }
    return {
        "outcome": host.get("outcome") or "unknown",
        "reason": host.get("reason") or "",
        "window_s": (window["end_ns"] - window["start_ns"]) / 1e9 if window else None,
        "facts": host.get("facts"),
        "attach": attach,
    }


def _job_record(entry: Mapping[str, Any]) -> dict[str, Any]:
    """One output of one job: its identity and the raw data of every host."""
    kind = entry["kind"]
    readers = {
        "histogram": _histogram_data,
        "table": _rows_data,
        "stacks": _rows_data,
        "events": _events_data,
    }
    return {
        "name": entry["name"],
        "job": entry.get("job"),
        "kind": kind,
        "unit": entry.get("unit"),
        "scale": entry.get("scale"),
        "params": entry.get("params") or {},
        "hosts": readers[kind](entry),
        "missed_runs": dict(entry.get("missed_runs") or {}),
    }


def _histogram_data(entry: Mapping[str, Any]) -> dict[str, dict]:
    """Per host, raw slots per key (``""`` for an unkeyed histogram)."""
    keys = entry.get("keys")
    if not keys:
        return {
            host: {"slots": {"": list(stats.get("slots") or [])}}
            for host, stats in (entry.get("hosts") or {}).items()
        }
    data: dict[str, dict] = {host: {"slots": {}} for host in entry.get("hosts") or {}}
    for label, per_key in keys.items():
        for host, stats in (per_key.get("hosts") or {}).items():
            data.setdefault(host, {"slots": {}})["slots"][label] = list(stats["slots"])
    return data


def _rows_data(entry: Mapping[str, Any]) -> dict[str, dict]:
    """Per host, the value of every row key (tables) or folded stack (stacks)."""
    field = "stacks" if entry["kind"] == "stacks" else "rows"
    data: dict[str, dict] = {}
    for row in entry.get("rows") or []:
        key = row["key"] if isinstance(row["key"], str) else json.dumps(row["key"])
        for host, value in (row.get("hosts") or {}).items():
            data.setdefault(host, {field: {}})[field][key] = value
    return data


def _events_data(entry: Mapping[str, Any]) -> dict[str, dict]:
    """Per host, how many events came and how many the kernel dropped."""
    return {
        host: {"count": int(h.get("count") or 0), "lost": int(h.get("lost") or 0)}
        for host, h in (entry.get("hosts") or {}).items()
    }
