"""Render a diff (fleet.diff) for a terminal, 80 columns, and the sweep summary line."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

WIDTH = 80
HOST_WIDTH = 14
# Keys of a keyed histogram shown under each host; the JSON has them all.
MAX_KEYS = 4


def render_diff(diff: Mapping) -> str:
    """The whole diff as text: header, one section per job, the host summary."""
    lines = _header(diff)
    for job in diff["jobs"]:
        lines += ["", *_job_lines(job)]
    lines += ["", *_summary_lines(diff)]
    return "\n".join(_fit(line) for line in lines) + "\n"


def _fit(line: str, width: int = WIDTH) -> str:
    """Cut a line to ``width`` columns, with an ellipsis when it was longer."""
    return line if len(line) <= width else line[: width - 1] + "…"


def _cell(text: str, width: int) -> str:
    """A left-aligned cell, cut with an ellipsis when too long."""
    text = str(text)
    return (text if len(text) <= width else text[: width - 1] + "…").ljust(width)


def side_name(side: Mapping) -> str:
    """A diff side as people read it: the run id, or the baseline's run count."""
    if side.get("baseline"):
        return f"median of the {len(side['baseline'])} previous runs"
    return str(side["id"])


def _header(diff: Mapping) -> list[str]:
    """Which runs, which playbook, which thresholds."""
    a, b, th = diff["a"], diff["b"], diff["thresholds"]
    lines = [f"DIFF {side_name(a)} -> {b['id']}", f"playbook {b.get('playbook')}"]
    if a.get("baseline"):
        lines.append("baseline " + ", ".join(a["baseline"]))
    lines.append(f"flags: p50 or p99 moved {th['slots']}+ log2 slots, with "
                 f"{th['min_count']}+ samples on both sides")
    if diff.get("jobs_added") or diff.get("jobs_removed"):
        lines.append(f"jobs only in B: {_names(diff['jobs_added'])}; "
                     f"only in A: {_names(diff['jobs_removed'])}")
    return lines


def _names(names: Sequence[str]) -> str:
    return ", ".join(names) if names else "-"


def _arrow(pair: Sequence) -> str:
    """``a -> b`` of a pair, ``-`` for an unknown value."""
    return " -> ".join("-" if v is None else str(v) for v in pair)


def _job_lines(job: Mapping) -> list[str]:
    """One job's title and one line per host (and key)."""
    unit = f", {job['unit']}" if job.get("unit") else ""
    lines = [f"{job['name']}  ({job['kind']}{unit})"]
    render = {"histogram": _hist_lines, "events": _event_lines,
              "table": _table_lines, "stacks": _stack_lines}[job["kind"]]
    if not job["hosts"]:
        return lines + ["  no host has data on both sides"]
    if job["kind"] == "histogram":
        lines.append(f"  {_cell('host', HOST_WIDTH)} {_cell('flag', 9)} "
                     f"{_cell('count', 13)} {_cell('p50', 15)} {_cell('p99', 15)} dist")
    for host, entry in job["hosts"].items():
        lines += render(host, entry)
    return lines


def _hist_row(name: str, entry: Mapping) -> str:
    dist = "-" if entry["distance"] is None else f"{entry['distance']:.1f}"
    return (f"  {_cell(name, HOST_WIDTH)} {_cell(entry['flag'], 9)} "
            f"{_cell(_arrow(entry['count']), 13)} {_cell(_arrow(entry['p50']), 15)} "
            f"{_cell(_arrow(entry['p99']), 15)} {dist}")


def _hist_lines(host: str, entry: Mapping) -> list[str]:
    lines = [_hist_row(host, entry)]
    keys = list((entry.get("keys") or {}).items())
    for key, key_entry in keys[:MAX_KEYS]:
        lines.append(_hist_row(f" [{key}]", key_entry))
    if len(keys) > MAX_KEYS:
        lines.append(f"   ... {len(keys) - MAX_KEYS} more keys (--json has them)")
    return lines


def _event_lines(host: str, entry: Mapping) -> list[str]:
    rate = _arrow([None if r is None else f"{r:g}/s" for r in entry["rate"]])
    return [f"  {_cell(host, HOST_WIDTH)} events {_arrow(entry['count'])} "
            f"({rate}), lost {_arrow(entry['lost'])}"]


def _table_lines(host: str, entry: Mapping) -> list[str]:
    moved = ", ".join(f"{row['key']} {row['delta']:+g}" for row in entry["rows"][:3])
    return [f"  {_cell(host, HOST_WIDTH)} total {_arrow(entry['total'])}"
            + (f"; most changed: {moved}" if moved else "")]


def _stack_lines(host: str, entry: Mapping) -> list[str]:
    lines = [f"  {_cell(host, HOST_WIDTH)} samples {_arrow(entry['samples'])}"]
    for word, changes in (("grew", entry["grew"]), ("shrank", entry["shrank"])):
        for change in changes[:2]:
            leaf = change["stack"].rsplit(";", 1)[-1]
            lines.append(f"    {word} {change['delta'] * 100:+.1f}% {leaf}")
    return lines


def _summary_lines(diff: Mapping) -> list[str]:
    """Per flag, the hosts; then hosts only on one side."""
    s = diff["summary"]
    lines = [f"hosts: {s['regressed']} regressed, {s['improved']} improved, "
             f"{s['same']} same"]
    for host, entry in diff["hosts"].items():
        if entry["flag"] != "same":
            lines.append(f"  {_cell(host, HOST_WIDTH)} {entry['flag']}: "
                         + "; ".join(entry["why"]))
    added = "no history" if diff["a"].get("baseline") else "added"
    if diff["added"]:
        lines.append(f"{added} (not compared): {', '.join(diff['added'])}")
    if diff["removed"]:
        lines.append(f"removed (not compared): {', '.join(diff['removed'])}")
    return lines


def sweep_line(diff: Mapping, width: int = WIDTH) -> str:
    """One line after a recorded run: how it compares with the previous sweep.

    e.g. ``vs last sweep: 2 hosts regressed (db17 biolatency p99 255 -> 4095
    usecs, ...)``, cut to ``width`` columns.
    """
    s = diff["summary"]
    regressed = [(h, e) for h, e in diff["hosts"].items() if e["flag"] == "regressed"]
    if not regressed:
        parts = [f"{s['improved']} improved" if s["improved"] else "",
                 f"{s['same']} same", f"{s['added']} added" if s["added"] else ""]
        return _fit("vs last sweep: no host regressed ("
                       + ", ".join(p for p in parts if p) + ")", width)
    noun = "host" if len(regressed) == 1 else "hosts"
    head = f"vs last sweep: {len(regressed)} {noun} regressed ("
    whys = [f"{host} {entry['why'][0]}" for host, entry in regressed if entry["why"]]
    return _fit_list(head, whys, width)


def _fit_list(head: str, items: list[str], width: int) -> str:
    """``head item, item, ...)`` with as many items as fit in ``width``."""
    shown: list[str] = []
    for i, item in enumerate(items):
        more = ", ...)" if i + 1 < len(items) else ")"
        if len(head + ", ".join([*shown, item]) + more) > width:
            break
        shown.append(item)
    if not shown:
        return _fit(head + (items[0] if items else "") + ")", width)
    tail = ")" if len(shown) == len(items) else ", ...)"
    return head + ", ".join(shown) + tail
