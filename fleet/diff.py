"""Compare two runs, or a run with a baseline of earlier runs: per job, host and key.

Both sides are run records (runrecord.py). Every figure comes from merge.py
(hist_stats, slot_of, slot_distance, median_slots), so a diff agrees with the
results.json of either run. The JSON shape is documented in docs/diff.md.

Flag rule, per host and histogram (and per key of a keyed one): with at least
``min_count`` samples on both sides, a host is ``regressed`` when its p50 or its
p99 sits ``threshold_slots`` or more log2 slots higher in B than in A (2 slots:
about 4x), ``improved`` when one sits that much lower and neither higher, else
``same``; with fewer samples it is ``same`` (few samples never flag). A host
whose outcome went from ok to a failure is regressed, the other way improved.
Its overall flag is the worst of these.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from fleet.merge import (
    MIN_SAMPLES,
    hist_stats,
    median_slots,
    slot_distance,
    slot_of,
    sum_slots,
)

__all__ = [
    "EXIT_REGRESSED",
    "Thresholds",
    "baseline_record",
    "diff_exit_code",
    "diff_folded",
    "diff_runs",
    "fleet_stacks",
]

EXIT_REGRESSED = 3

# 2 log2 slots is a factor of about 4: beyond the run-to-run jitter of a healthy
# host, which stays in the same or the adjacent slot.
DEFAULT_THRESHOLD_SLOTS = 2

# How many changed table rows and stacks a host lists.
TOP_CHANGES = 5

_WORST = {"same": 0, "improved": 1, "regressed": 2}


@dataclass(frozen=True)
class Thresholds:
    """When a change flags: slots moved by p50/p99, and samples needed on both sides."""

    slots: int = DEFAULT_THRESHOLD_SLOTS
    min_count: int = MIN_SAMPLES


def diff_runs(a: Mapping, b: Mapping, thresholds: Thresholds = Thresholds()) -> dict:
    """Return what changed from run record ``a`` to run record ``b``."""
    both = [h for h in b["hosts"] if h in a["hosts"]]
    jobs_a = {job["name"]: job for job in a["jobs"]}
    jobs = [_job_diff(jobs_a[job["name"]], job, a, b, both, thresholds)
            for job in b["jobs"] if job["name"] in jobs_a]
    hosts = {host: _host_flag(host, a, b, jobs) for host in both}
    counts = Counter(h["flag"] for h in hosts.values())
    added = [h for h in b["hosts"] if h not in a["hosts"]]
    removed = [h for h in a["hosts"] if h not in b["hosts"]]
    names_b = {job["name"] for job in b["jobs"]}
    return {
        "a": _side(a),
        "b": _side(b),
        "thresholds": {"slots": thresholds.slots, "min_count": thresholds.min_count},
        "summary": {flag: counts.get(flag, 0) for flag in _WORST}
        | {"added": len(added), "removed": len(removed)},
        "hosts": hosts,
        "added": added,
        "removed": removed,
        "jobs": jobs,
        "jobs_added": [j["name"] for j in b["jobs"] if j["name"] not in jobs_a],
        "jobs_removed": [j["name"] for j in a["jobs"] if j["name"] not in names_b],
    }


def diff_exit_code(diff: Mapping) -> int:
    """3 when at least one host regressed, else 0."""
    return EXIT_REGRESSED if diff["summary"]["regressed"] else 0


def _side(record: Mapping) -> dict:
    """What a diff says about one side: the run, or the runs of a baseline."""
    run = record["run"]
    side = {key: run.get(key) for key in ("id", "playbook", "started_ns", "run_dir")}
    if "baseline" in run:
        side["baseline"] = list(run["baseline"])
    return side


def _host_flag(host: str, a: Mapping, b: Mapping, jobs: list[dict]) -> dict:
    """A host's overall flag: its outcome change, else the worst of its jobs."""
    before, after = a["hosts"][host]["outcome"], b["hosts"][host]["outcome"]
    if before == "ok" and after != "ok":
        return {"flag": "regressed", "why": [f"outcome ok -> {after}"]}
    if before != "ok" and after == "ok":
        return {"flag": "improved", "why": [f"outcome {before} -> ok"]}
    flag, why = "same", []
    for job in jobs:
        entry = job["hosts"].get(host)
        if entry is None:
            continue
        if _WORST[entry["flag"]] > _WORST[flag]:
            flag, why = entry["flag"], []
        if entry["flag"] == flag != "same":
            why += entry["why"]
    return {"flag": flag, "why": why}


def _job_diff(job_a: Mapping, job_b: Mapping, a: Mapping, b: Mapping,
              both: Sequence[str], thresholds: Thresholds) -> dict:
    """One job output's changes on every host both sides have data for."""
    differs = {"histogram": _histogram_diff, "table": _table_diff,
               "stacks": _stacks_diff, "events": _events_diff}
    differ = differs[job_b["kind"]]
    hosts = {}
    for host in both:
        data_a = _data(job_a, a, host)
        data_b = _data(job_b, b, host)
        if data_a is not None and data_b is not None:
            hosts[host] = differ(data_a, data_b, job_b, thresholds, (a, b, host))
    return {"name": job_b["name"], "job": job_b.get("job"), "kind": job_b["kind"],
            "unit": job_b.get("unit"), "hosts": hosts}


def _data(job: Mapping, record: Mapping, host: str) -> Mapping | None:
    """A host's data for a job; an ok host that sent none has empty data."""
    data = job["hosts"].get(host)
    if data is None and record["hosts"][host]["outcome"] == "ok":
        return {}
    return data


def _pair(stats_a: Mapping, stats_b: Mapping, field: str) -> list:
    return [stats_a[field], stats_b[field]]


def _hist_entry(slots_a: list, slots_b: list, label: str, unit: str | None,
                scale: str, thresholds: Thresholds) -> dict:
    """Count, percentiles, distance and flag of one histogram, A against B."""
    stats_a, stats_b = hist_stats(slots_a, scale), hist_stats(slots_b, scale)
    entry = {field: _pair(stats_a, stats_b, field)
             for field in ("count", "p50", "p90", "p99")}
    entry["distance"] = slot_distance(slots_a, slots_b)
    entry["flag"], entry["why"] = _hist_flag(stats_a, stats_b, label, unit, thresholds)
    return entry


def _hist_flag(stats_a: Mapping, stats_b: Mapping, label: str, unit: str | None,
               thresholds: Thresholds) -> tuple[str, list[str]]:
    """The flag rule of the module docstring, with the percentile that moved most."""
    if min(stats_a["count"], stats_b["count"]) < thresholds.min_count:
        return "same", []
    moves = {pct: slot_of(stats_b[pct]) - slot_of(stats_a[pct])
             for pct in ("p50", "p99")}
    up = max(moves, key=lambda pct: (moves[pct], pct))
    down = min(moves, key=lambda pct: (moves[pct], pct == "p50"))
    if moves[up] >= thresholds.slots:
        flag, pct = "regressed", up
    elif moves[down] <= -thresholds.slots:
        flag, pct = "improved", down
    else:
        return "same", []
    what = f"{label} {pct} {stats_a[pct]} -> {stats_b[pct]}"
    return flag, [f"{what} {unit}" if unit else what]


def _histogram_diff(data_a: Mapping, data_b: Mapping, job: Mapping,
                    thresholds: Thresholds, where: tuple) -> dict:
    """All keys together, then each key both sides have (for keyed histograms)."""
    keyed_a, keyed_b = data_a.get("slots") or {}, data_b.get("slots") or {}
    scale, unit, name = job.get("scale") or "log2", job.get("unit"), job["name"]
    entry = _hist_entry(sum_slots(keyed_a.values()), sum_slots(keyed_b.values()),
                        name, unit, scale, thresholds)
    labels = [k for k in keyed_b if k in keyed_a and k != ""]
    if labels:
        entry["keys"] = {
            k: _hist_entry(keyed_a[k], keyed_b[k], f"{name}[{k}]", unit, scale,
                           thresholds)
            for k in labels
        }
        for key_entry in entry["keys"].values():
            if _WORST[key_entry["flag"]] > _WORST[entry["flag"]]:
                entry["flag"], entry["why"] = key_entry["flag"], []
            if key_entry["flag"] == entry["flag"] != "same":
                entry["why"] = entry["why"] + key_entry["why"]
    return entry


def _table_diff(data_a: Mapping, data_b: Mapping, job: Mapping,
                thresholds: Thresholds, where: tuple) -> dict:
    """Row totals and the rows whose value changed most."""
    rows_a, rows_b = data_a.get("rows") or {}, data_b.get("rows") or {}
    changes = [
        {"key": key, "a": rows_a.get(key, 0), "b": rows_b.get(key, 0),
         "delta": rows_b.get(key, 0) - rows_a.get(key, 0)}
        for key in {**rows_a, **rows_b}
    ]
    changes.sort(key=lambda c: (-abs(c["delta"]), str(c["key"])))
    return {"flag": "same", "why": [],
            "total": [sum(rows_a.values()), sum(rows_b.values())],
            "rows": [c for c in changes[:TOP_CHANGES] if c["delta"]]}


def _events_diff(data_a: Mapping, data_b: Mapping, job: Mapping,
                 thresholds: Thresholds, where: tuple) -> dict:
    """Event counts, rates per second of the host's window, lost events."""
    a, b, host = where
    rates = [_rate(data_a.get("count", 0), a["hosts"][host].get("window_s")),
             _rate(data_b.get("count", 0), b["hosts"][host].get("window_s"))]
    return {"flag": "same", "why": [],
            "count": [data_a.get("count", 0), data_b.get("count", 0)],
            "rate": rates, "lost": [data_a.get("lost", 0), data_b.get("lost", 0)]}


def _rate(count: int, window_s: float | None) -> float | None:
    """Events per second of the window, None when the window is unknown."""
    return round(count / window_s, 3) if window_s else None


def _stacks_diff(data_a: Mapping, data_b: Mapping, job: Mapping,
                 thresholds: Thresholds, where: tuple) -> dict:
    """Samples, and the stacks whose share of the samples grew or shrank most."""
    stacks_a, stacks_b = data_a.get("stacks") or {}, data_b.get("stacks") or {}
    total_a, total_b = sum(stacks_a.values()), sum(stacks_b.values())
    changes = []
    for stack in {**stacks_a, **stacks_b}:
        share_a = stacks_a.get(stack, 0) / total_a if total_a else 0.0
        share_b = stacks_b.get(stack, 0) / total_b if total_b else 0.0
        changes.append({"stack": stack, "a": stacks_a.get(stack, 0),
                        "b": stacks_b.get(stack, 0),
                        "share": [round(share_a, 4), round(share_b, 4)],
                        "delta": round(share_b - share_a, 4)})
    changes.sort(key=lambda c: (-c["delta"], c["stack"]))
    grew = [c for c in changes[:TOP_CHANGES] if c["delta"] > 0]
    shrank = [c for c in reversed(changes[-TOP_CHANGES:]) if c["delta"] < 0]
    return {"flag": "same", "why": [], "samples": [total_a, total_b],
            "grew": grew, "shrank": shrank}


def diff_folded(stacks_a: Mapping[str, int], stacks_b: Mapping[str, int]) -> list[str]:
    """Lines ``stack count_a count_b``: the input of a differential flame graph
    (FlameGraph's difffolded.pl output, read by ``flamegraph.pl``)."""
    return [f"{stack} {stacks_a.get(stack, 0)} {stacks_b.get(stack, 0)}"
            for stack in sorted({**stacks_a, **stacks_b})]


def fleet_stacks(job: Mapping) -> dict[str, int]:
    """A stacks job's folded stacks summed over every host of a record."""
    total: Counter = Counter()
    for data in job["hosts"].values():
        total.update(data.get("stacks") or {})
    return dict(total)


# ---------------------------------------------------------------------------
# baselines


def baseline_record(records: Sequence[Mapping]) -> dict:
    """One record standing for several earlier runs: the per-host median of each.

    A host's histogram is the slot-wise median of its histograms in the runs
    where it has data (merge.median_slots); counts, rows and stacks take the
    median value the same way; its outcome is its most frequent one.
    """
    newest = records[0]["run"]
    run = {"id": f"baseline of {len(records)} runs", "playbook": newest["playbook"],
           "started_ns": newest["started_ns"], "run_dir": None,
           "baseline": [r["run"]["id"] for r in records]}
    hosts = _baseline_hosts(records)
    jobs = [_baseline_job(name, records) for name in _job_names(records)]
    return {"run": run, "hosts": hosts, "jobs": jobs}


def _job_names(records: Sequence[Mapping]) -> list[str]:
    """Job names in the order of the newest run that has them."""
    names: list[str] = []
    for record in records:
        names += [j["name"] for j in record["jobs"] if j["name"] not in names]
    return names


def _baseline_hosts(records: Sequence[Mapping]) -> dict:
    """Every host of any run: its most frequent outcome and median window."""
    hosts: dict[str, dict] = {}
    for record in records:
        for name, host in record["hosts"].items():
            hosts.setdefault(name, {"outcomes": [], "windows": []})
            hosts[name]["outcomes"].append(host["outcome"])
            if host.get("window_s"):
                hosts[name]["windows"].append(host["window_s"])
    return {
        name: {"outcome": _most_common(h["outcomes"]), "reason": "",
               "window_s": statistics.median(h["windows"]) if h["windows"] else None,
               "facts": None, "attach": {}}
        for name, h in hosts.items()
    }


def _most_common(outcomes: list[str]) -> str:
    """The most frequent outcome; a tie goes to ok."""
    counts = Counter(outcomes)
    return max(counts, key=lambda o: (counts[o], o == "ok"))


def _baseline_job(name: str, records: Sequence[Mapping]) -> dict:
    """The median of one job over the runs that have it, host by host."""
    jobs = [j for r in records for j in r["jobs"] if j["name"] == name]
    per_host: dict[str, list] = {}
    for job in jobs:
        for host, data in job["hosts"].items():
            per_host.setdefault(host, []).append(data)
    kind = jobs[0]["kind"]
    return {**{k: jobs[0].get(k) for k in ("name", "job", "kind", "unit", "scale")},
            "params": jobs[0].get("params") or {}, "missed_runs": {},
            "hosts": {host: _median_data(kind, datas)
                      for host, datas in per_host.items()}}


def _median_data(kind: str, datas: list[Mapping]) -> dict:
    """The median of one host's data for one job over several runs."""
    if kind == "histogram":
        return {"slots": _median_keys([d.get("slots") or {} for d in datas],
                                      median_slots)}
    if kind == "events":
        return {f: statistics.median_low([d.get(f, 0) for d in datas])
                for f in ("count", "lost")}
    field = "stacks" if kind == "stacks" else "rows"
    return {field: _median_keys([d.get(field) or {} for d in datas],
                                lambda values: statistics.median_low(values))}


def _median_keys(mappings: list[Mapping], median) -> dict:
    """Per key, the median over every mapping (a key a run lacks counts as empty)."""
    keys = {key for m in mappings for key in m}
    empty = [] if median is median_slots else 0
    merged = {key: median([m.get(key, empty) for m in mappings]) for key in keys}
    return {key: value for key, value in merged.items() if value}
