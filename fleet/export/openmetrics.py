"""A run as metrics: OpenMetrics text, Prometheus text, node_exporter's textfile.

One model (``Family``) and two standard renderings of it:

- OpenMetrics 1.0 (``to_openmetrics``): ``# TYPE``/``# UNIT``/``# HELP``,
  counters as ``<name>_total``, ending in ``# EOF``;
- the Prometheus text format 0.0.4 (``to_prometheus``), which node_exporter's
  textfile collector and ``promtool check metrics`` read.

What a run gives (labels ``host``, ``job``, ``key`` for keyed outputs, and
``playbook``; values in base units, so usecs become seconds):

- a histogram: ``fleet_<job>_<unit>`` with one cumulative bucket per log2 slot
  (``le`` = the slot's upper bound) plus ``+Inf``, ``_count`` and ``_sum`` (from
  slot midpoints: approximate, the HELP says so);
- a table: gauge ``fleet_<job>[_<unit>]``, the busiest TABLE_ROWS keys only;
- stacks: gauge ``fleet_<job>_samples``, one per host (no stack labels);
- events: counters ``fleet_<job>_events`` and ``fleet_<job>_lost_events``;
- ``fleet_missed_runs`` (counter), ``fleet_host_up`` (1 ok, 0 otherwise),
  ``fleet_run_timestamp_seconds``, ``fleet_run_duration_seconds``,
  ``fleet_run_exit_code``.
"""

from __future__ import annotations

import math
import os
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

from fleet.atomicfile import atomic_write
from fleet.merge import approx_sum, slot_range, sum_slots

__all__ = ["Family", "run_families", "textfile_name", "to_openmetrics",
           "to_prometheus", "write_textfile"]

# Table keys exported per job: each key is a time series in the monitoring
# system, so only the busiest keys go (the terminal report shows as many).
TABLE_ROWS = 10

# unit -> (base unit, factor to it): Prometheus wants base units.
BASE_UNITS = {
    "nsecs": ("seconds", Fraction(1, 10**9)),
    "usecs": ("seconds", Fraction(1, 10**6)),
    "msecs": ("seconds", Fraction(1, 10**3)),
    "secs": ("seconds", Fraction(1)),
    "seconds": ("seconds", Fraction(1)),
    "bytes": ("bytes", Fraction(1)),
    "kbytes": ("bytes", Fraction(1024)),
}
# Suffixes the formats reserve for parts of histograms, summaries and counters.
_RESERVED = ("_count", "_sum", "_bucket", "_total", "_created", "_info", "_gcount",
             "_gsum")


@dataclass
class Family:
    """One metric family: name (counters without ``_total``), type, help, samples."""

    name: str
    type: str
    help: str
    unit: str | None = None
    # (suffix, labels, value): suffix "" or "_total", "_bucket", "_count", "_sum"
    samples: list[tuple[str, dict, float]] = field(default_factory=list)


def _snake(text: str) -> str:
    """A metric name part: lowercase letters, digits and single underscores."""
    return re.sub(r"_+", "_", re.sub(r"[^a-z0-9]", "_", text.lower())).strip("_")


def _base(unit: str | None) -> tuple[str | None, Fraction]:
    """The base unit a value is exported in, and the factor to it."""
    if unit in BASE_UNITS:
        return BASE_UNITS[unit]
    return (_snake(unit) or None) if unit else None, Fraction(1)


def run_families(record: Mapping) -> list[Family]:
    """Every metric family of a run record (runrecord.py)."""
    run = record["run"]
    playbook = run.get("playbook") or ""
    families = [_run_family(name, kind, help_, value, playbook)
                for name, kind, help_, value in _run_values(record)]
    families.append(_host_up(record, playbook))
    missed = Family("fleet_missed_runs", "counter",
                    "Probe runs a host kernel skipped (another BPF program was "
                    "running on that CPU), per job")
    taken: Counter = Counter(f.name for f in families)
    for job in record["jobs"]:
        for family in _job_families(job, playbook):
            taken[family.name] += 1
            if taken[family.name] > 1:  # two job names that read the same
                family.name = f"{family.name}_{taken[family.name]}"
            families.append(family)
        for host, n in sorted((job.get("missed_runs") or {}).items()):
            missed.samples.append(("_total", _labels(host, job, playbook), n))
    families.append(missed)
    return families


def _run_values(record: Mapping) -> list[tuple]:
    """(name, type, help, value) of the run-wide gauges."""
    run = record["run"]
    started, ended = run.get("started_ns") or 0, run.get("ended_ns") or 0
    values = [("fleet_run_timestamp_seconds", "gauge",
               "When the run started, Unix time", started / 1e9)]
    if ended:
        values.append(("fleet_run_duration_seconds", "gauge",
                       "How long the run took", (ended - started) / 1e9))
    if run.get("exit_code") is not None:
        values.append(("fleet_run_exit_code", "gauge",
                       "Exit code of the run (0 every host ok)", run["exit_code"]))
    return values


def _run_family(name: str, kind: str, help_: str, value, playbook: str) -> Family:
    unit = "seconds" if name.endswith("_seconds") else None
    return Family(name, kind, help_, unit, [("", {"playbook": playbook}, value)])


def _host_up(record: Mapping, playbook: str) -> Family:
    family = Family("fleet_host_up", "gauge",
                    "1 if the host ended the run ok, else 0")
    for host, entry in record["hosts"].items():
        family.samples.append(("", {"host": host, "playbook": playbook},
                               int(entry["outcome"] == "ok")))
    return family


def _labels(host: str, job: Mapping, playbook: str, key: str | None = None) -> dict:
    labels = {"host": host, "job": job["name"]}
    if key:
        labels["key"] = key
    labels["playbook"] = playbook
    return labels


def _job_families(job: Mapping, playbook: str) -> list[Family]:
    """The families of one job output."""
    makers = {"histogram": _histogram, "table": _table, "stacks": _stacks,
              "events": _events}
    return makers[job["kind"]](job, playbook)


def _name(job: Mapping, *parts: str | None) -> str:
    name = "_".join(p for p in ("fleet", _snake(job["name"]), *parts) if p)
    return name + "_value" if name.endswith(_RESERVED) else name


def _help(job: Mapping, what: str) -> str:
    return f"fleet job {job['name']} ({job.get('job') or job['name']}): {what}"


def _histogram(job: Mapping, playbook: str) -> list[Family]:
    unit, factor = _base(job.get("unit"))
    scale = job.get("scale") or "log2"
    shown = f"{job.get('unit')} as {unit}" if job.get("unit") != unit else unit
    family = Family(_name(job, unit), "histogram", _help(
        job, f"histogram of {shown or 'values'}, one bucket per log2 slot; "
        "_sum is approximate (slot midpoints)"), unit)
    series = [(host, key, slots) for host, data in job["hosts"].items()
              for key, slots in _keyed(data)]
    width = max((len(slots) for _, _, slots in series), default=0)
    bounds = [_number(slot_range(k, scale)[1] * factor) for k in range(width)]
    for host, key, slots in series:
        labels = _labels(host, job, playbook, key)
        cumulative = 0
        for k, bound in enumerate(bounds):
            cumulative += slots[k] if k < len(slots) else 0
            family.samples.append(("_bucket", {**labels, "le": bound}, cumulative))
        family.samples.append(("_bucket", {**labels, "le": "+Inf"}, cumulative))
        family.samples.append(("_count", labels, cumulative))
        family.samples.append(("_sum", labels,
                               float(approx_sum(slots, scale) * factor)))
    return [family]


def _keyed(data: Mapping) -> list[tuple[str, list[int]]]:
    """(key, slots) of a host's histogram; one ("", all) when it is not keyed."""
    keyed = data.get("slots") or {}
    if set(keyed) <= {""}:
        return [("", sum_slots(keyed.values()))]
    return sorted(keyed.items())


def _table(job: Mapping, playbook: str) -> list[Family]:
    unit, factor = _base(job.get("unit"))
    family = Family(_name(job, unit), "gauge", _help(
        job, f"table value per key ({unit or 'count'}), the {TABLE_ROWS} busiest "
        "keys"), unit)
    totals: Counter = Counter()
    for data in job["hosts"].values():
        totals.update(data.get("rows") or {})
    keys = sorted(totals, key=lambda k: (-totals[k], k))[:TABLE_ROWS]
    for host, data in job["hosts"].items():
        rows = data.get("rows") or {}
        for key in keys:
            if key in rows:
                family.samples.append(("", _labels(host, job, playbook, key),
                                       float(rows[key] * factor)))
    return [family]


def _stacks(job: Mapping, playbook: str) -> list[Family]:
    family = Family(_name(job, "samples"), "gauge", _help(
        job, "stack samples taken on the host"), "samples")
    for host, data in job["hosts"].items():
        stacks = data.get("stacks")
        samples = sum(stacks.values()) if stacks is not None else data.get("samples")
        family.samples.append(("", _labels(host, job, playbook), samples or 0))
    return [family]


def _events(job: Mapping, playbook: str) -> list[Family]:
    events = Family(_name(job, "events"), "counter",
                    _help(job, "events received from the host"))
    lost = Family(_name(job, "lost_events"), "counter",
                  _help(job, "events the host kernel dropped (buffer full)"))
    for host, data in job["hosts"].items():
        labels = _labels(host, job, playbook)
        events.samples.append(("_total", labels, data.get("count", 0)))
        lost.samples.append(("_total", labels, data.get("lost", 0)))
    return [events, lost]


# ---------------------------------------------------------------------------
# rendering


def _number(value) -> str:
    """A number as both formats write it: integers plainly, floats shortest."""
    if isinstance(value, Fraction):
        value = int(value) if value.denominator == 1 else float(value)
    if isinstance(value, float):
        if math.isinf(value):
            return "+Inf" if value > 0 else "-Inf"
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    return str(value)


def _escape(value: str) -> str:
    """A label value: backslash, double quote and newline escaped."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _sample_line(name: str, labels: Mapping[str, str], value) -> str:
    text = ",".join(f'{k}="{_escape(str(v))}"' for k, v in labels.items())
    return f"{name}{{{text}}} {_number(value)}" if text else f"{name} {_number(value)}"


def to_openmetrics(families: list[Family]) -> str:
    """OpenMetrics 1.0 text (application/openmetrics-text; version=1.0.0)."""
    lines = []
    for family in families:
        lines.append(f"# TYPE {family.name} {family.type}")
        if family.unit and family.name.endswith("_" + family.unit):
            lines.append(f"# UNIT {family.name} {family.unit}")
        lines.append(f"# HELP {family.name} {_escape(family.help)}")
        lines += [_sample_line(family.name + suffix, labels, value)
                  for suffix, labels, value in family.samples]
    lines.append("# EOF")
    return "\n".join(lines) + "\n"


def to_prometheus(families: list[Family]) -> str:
    """Prometheus text format 0.0.4 (node_exporter's textfile collector)."""
    lines = []
    for family in families:
        if not family.samples:
            continue  # a family without samples is noise to every reader
        name = family.name + ("_total" if family.type == "counter" else "")
        help_ = family.help.replace("\\", "\\\\").replace("\n", "\\n")
        lines += [f"# HELP {name} {help_}", f"# TYPE {name} {family.type}"]
        lines += [_sample_line(family.name + suffix, labels, value)
                  for suffix, labels, value in family.samples]
    return "\n".join(lines) + "\n"


def textfile_name(playbook: str) -> str:
    """``fleet_<playbook>.prom``: node_exporter reads only ``*.prom`` files."""
    return f"fleet_{_snake(playbook) or 'run'}.prom"


def write_textfile(record: Mapping, directory: str | os.PathLike) -> Path:
    """Write the run's metrics into ``directory`` atomically; return the file.

    node_exporter may read the file at any moment, so it is written to a
    hidden temporary file (not ``*.prom``: the collector skips it) in the same
    directory and renamed over the old one. Mode 0644: node_exporter usually
    runs as another user.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / textfile_name(record["run"].get("playbook") or "")
    text = to_prometheus(run_families(record))
    atomic_write(path, lambda out: out.write(text), mode=0o644)
    return path
