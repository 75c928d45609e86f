"""Render recorded runs for a terminal: the run list and one run's record."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence

from fleet.merge import hist_stats, sum_slots
from fleet.report.diffview import WIDTH

_UNKNOWN = "-"


def when(ns: int | None) -> str:
    """Wall-clock ns as local ``YYYY-MM-DD HH:MM:SS``."""
    if not ns:
        return _UNKNOWN
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ns / 1e9))


def _cut(text: object, width: int) -> str:
    text = _UNKNOWN if text is None else str(text)
    return text if len(text) <= width else text[: width - 1] + "…"


def render_runs(runs: Sequence[Mapping]) -> str:
    """``fleet history``: one line per run, newest first; run ids are never cut."""
    if not runs:
        return "no runs recorded\n"
    lines = [f"{'WHEN':<19}  {'OK':>4} {'FAIL':>4} {'EXIT':>4}  {'PLAYBOOK':<14}  RUN"]
    for run in runs:
        exit_code = _UNKNOWN if run["exit_code"] is None else run["exit_code"]
        lines.append(
            f"{when(run['started_ns']):<19}  {run['hosts_ok']:>4} "
            f"{run['hosts_failed']:>4} {exit_code:>4}  "
            f"{_cut(run['playbook'], 14):<14}  {run['id']}"
        )
    return "\n".join(lines) + "\n"


def render_record(record: Mapping) -> str:
    """``fleet history show RUN``: the run, its hosts, per job and host a summary."""
    run = record["run"]
    duration = ""
    if run.get("ended_ns") and run.get("started_ns"):
        duration = f" ({(run['ended_ns'] - run['started_ns']) / 1e9:.1f} s)"
    lines = [
        f"RUN {run['id']}",
        f"playbook  {run['playbook']}  {run.get('playbook_path') or ''}".rstrip(),
        f"hash      {run.get('playbook_hash') or _UNKNOWN}",
        f"inventory {run.get('inventory') or 'localhost (none given)'}",
        f"hosts     {run.get('pattern') or _UNKNOWN}"
        + (f", limit {run['limit']}" if run.get("limit") else ""),
        f"started   {when(run.get('started_ns'))}{duration}",
        f"exit      {_UNKNOWN if run.get('exit_code') is None else run['exit_code']}",
        f"folder    {run.get('run_dir') or _UNKNOWN}",
        "",
        f"{'HOST':<16} {'OUTCOME':<15} {'KERNEL':<22} {'BCC':<8} ATTACH",
    ]
    for name, host in record["hosts"].items():
        lines.append(_host_line(name, host))
    for job in record["jobs"]:
        lines += ["", _job_title(job)]
        lines += [f"  {_cut(host, 16):<16} {_data_summary(job, host, data)}"
                  for host, data in job["hosts"].items()]
    return "\n".join(_cut(line, WIDTH) for line in lines) + "\n"


def _host_line(name: str, host: Mapping) -> str:
    facts = host.get("facts") or {}
    used = sorted({p for points in (host.get("attach") or {}).values() for p in points})
    attach = ", ".join(used) if used else (host.get("reason") or _UNKNOWN)
    return (f"{_cut(name, 16):<16} {_cut(host['outcome'], 15):<15} "
            f"{_cut(facts.get('kernel'), 22):<22} {_cut(facts.get('bcc'), 8):<8} "
            f"{attach}")


def _job_title(job: Mapping) -> str:
    unit = f", {job['unit']}" if job.get("unit") else ""
    return f"{job['name']}  ({job['kind']}{unit})"


def _data_summary(job: Mapping, host: str, data: Mapping) -> str:
    """One host's data for a job in one line."""
    missed = (job.get("missed_runs") or {}).get(host)
    kind = job["kind"]
    if kind == "histogram":
        slots = sum_slots((data.get("slots") or {}).values())
        stats = hist_stats(slots, job.get("scale") or "log2")
        text = (f"count {stats['count']}  p50 {stats['p50'] or _UNKNOWN}  "
                f"p99 {stats['p99'] or _UNKNOWN}  max {stats['max'] or _UNKNOWN}")
    elif kind == "events":
        text = f"events {data.get('count', 0)}  lost {data.get('lost', 0)}"
    elif kind == "stacks":
        stacks = data.get("stacks")
        samples = sum(stacks.values()) if stacks else data.get("samples", 0)
        text = f"samples {samples}"
    else:
        rows = data.get("rows") or {}
        text = f"rows {len(rows)}  total {sum(rows.values())}"
    return text + (f"  missed runs {missed}" if missed else "")
