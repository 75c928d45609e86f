"""The differential flame graph's data: a run's frames against a baseline's.

A frame is a path from the root (``bash;main;f``); its value is the samples of
every stack through it. Against a baseline (earlier runs' folded stacks, see
fleet/flamebaseline.py), a frame's change is its share of all samples in this
run minus its share of all samples in the baseline: each side is normalised to
its own total, as FlameGraph's ``difffolded.pl -n`` does, so a longer window
or more hosts alone changes nothing. A frame ``grew`` when its share rose by
MIN_CHANGE or more, ``shrank`` when it fell by that much, else it is ``same``.

The graph is drawn by report.js from the per-host counts (any host's view,
any zoom), with this same rule: frames sized by this run's samples, red grew,
blue shrank, deeper for a larger change, as Brendan Gregg's differential
flame graphs are. The lists of the frames that changed most come from here.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from fleet.hostranges import fold_names
from fleet.report.historyview import when

__all__ = ["MIN_CHANGE", "FrameChange", "StackBaseline", "diff_view",
           "frame_changes", "frame_values", "most_changed"]

# A tenth of a percentage point of all samples: below it a frame stays neutral,
# so the rounding of a few samples does not paint the whole graph.
MIN_CHANGE = 0.001

TOP_FRAMES = 8  # frames listed as grown most, and as shrunk most


@dataclass(frozen=True)
class StackBaseline:
    """Earlier runs' stacks to compare a run's with, or why there are none.

    ``runs``: (run id, started_ns) of the runs it stands for, newest first;
    ``stacks``: job name -> host -> folded stack -> count (for several runs,
    the per-host median, as ``fleet diff --baseline K`` takes it); ``asked``:
    how many runs were asked for; ``reason``: one line when ``runs`` is empty.
    """

    runs: tuple[tuple[str, int], ...] = ()
    stacks: Mapping[str, Mapping[str, Mapping[str, int]]] = field(default_factory=dict)
    asked: int = 1
    reason: str = ""


@dataclass(frozen=True)
class FrameChange:
    """One frame in this run and in the baseline: samples and shares of all."""

    path: str
    count: int
    base: int
    share: float
    base_share: float

    @property
    def delta(self) -> float:
        """Share now minus share in the baseline (0.02: two percentage points)."""
        return self.share - self.base_share

    @property
    def direction(self) -> str:
        """``grew``, ``shrank`` or ``same``, by MIN_CHANGE."""
        return direction(self.delta)


def direction(delta: float) -> str:
    """The rule report.js colours by: a share change of at least MIN_CHANGE."""
    if delta >= MIN_CHANGE:
        return "grew"
    if delta <= -MIN_CHANGE:
        return "shrank"
    return "same"


def frame_values(stacks: Mapping[str, int]) -> Counter:
    """Samples per frame path: each stack counts for every prefix of itself."""
    values: Counter = Counter()
    for stack, n in stacks.items():
        if not n:
            continue
        frames = stack.split(";")
        for depth in range(1, len(frames) + 1):
            values[";".join(frames[:depth])] += n
    return values


def frame_changes(base: Mapping[str, int],
                  this: Mapping[str, int]) -> dict[str, FrameChange]:
    """Every frame of either side, keyed by path, with its change."""
    now, before = frame_values(this), frame_values(base)
    total, base_total = sum(this.values()), sum(base.values())
    return {
        path: FrameChange(path, now.get(path, 0), before.get(path, 0),
                          now.get(path, 0) / total if total else 0.0,
                          before.get(path, 0) / base_total if base_total else 0.0)
        for path in {**before, **now}
    }


def most_changed(changes: Mapping[str, FrameChange],
                 n: int = TOP_FRAMES) -> tuple[list[FrameChange], list[FrameChange]]:
    """The n frames that grew most and the n that shrank most, largest first.

    A frame whose change its only child carries whole (``main`` above
    ``main;f`` with the same samples on both sides) is left out for that
    child: the list names where the change is, not each frame above it.
    """
    carried = _carried(changes)
    useful = [c for c in changes.values() if c.path not in carried]
    grew = sorted((c for c in useful if c.direction == "grew"),
                  key=lambda c: (-c.delta, c.path))
    shrank = sorted((c for c in useful if c.direction == "shrank"),
                    key=lambda c: (c.delta, c.path))
    return grew[:n], shrank[:n]


def _carried(changes: Mapping[str, FrameChange]) -> set[str]:
    """Paths of frames with a child holding all their samples on both sides."""
    carried = set()
    for change in changes.values():
        parent = changes.get(change.path.rpartition(";")[0])
        if parent is not None and ";" in change.path and \
                (change.count, change.base) == (parent.count, parent.base):
            carried.add(parent.path)
    return carried


def diff_view(name: str, rows: Sequence[Mapping], flame: dict,
              baseline: StackBaseline | None) -> dict[str, Any]:
    """What the stacks section says about its baseline; adds base counts to flame.

    ``flame["stacks"]`` gains, per stack, the baseline's counts per host (as
    ``[host index, n, ...]``, the hosts of this run only), and stacks that
    only the baseline has; ``flame["min_change"]`` carries the rule's bound.
    """
    if baseline is None:
        return {"reason": "no earlier run of this playbook was in the history "
                "when this report was written (or the history was off)"}
    if not baseline.runs:
        return {"reason": baseline.reason}
    per_host = baseline.stacks.get(name)
    if per_host is None:
        return {"reason": f"the baseline's runs have no stacks job {name!r}"}
    index = {host: i for i, host in enumerate(flame["hosts"])}
    base_counts = _base_counts(per_host, index)
    for stack in flame["stacks"]:
        stack.append(base_counts.pop(stack[0], []))
    flame["stacks"] += [[key, [], counts]
                        for key, counts in sorted(base_counts.items())]
    flame["min_change"] = MIN_CHANGE
    this = {row["key"]: row["total"] for row in rows}
    base = Counter()
    for host in index:
        base.update(per_host.get(host) or {})
    grew, shrank = most_changed(frame_changes(base, this))
    return {"runs": [{"id": run_id, "when": when(ns)} for run_id, ns in baseline.runs],
            "asked": baseline.asked, "samples": sum(base.values()),
            "min_points": round(100 * MIN_CHANGE, 3),
            "no_base": fold_names(h for h in index if not per_host.get(h)),
            "grew": [_listed(c) for c in grew], "shrank": [_listed(c) for c in shrank]}


def _base_counts(per_host: Mapping[str, Mapping[str, int]],
                 index: Mapping[str, int]) -> dict[str, list[int]]:
    """Per stack, ``[host index, n, ...]`` of the baseline, for this run's hosts."""
    counts: dict[str, list[int]] = {}
    for host, stacks in per_host.items():
        if host not in index:
            continue
        for stack, n in stacks.items():
            if n:
                counts.setdefault(stack, []).extend((index[host], n))
    return counts


def _listed(change: FrameChange) -> dict[str, Any]:
    """A row of the most-changed lists: the frame, its path, shares in percent."""
    return {"frame": change.path.rsplit(";", 1)[-1], "path": change.path,
            "base": round(100 * change.base_share, 1),
            "now": round(100 * change.share, 1),
            "delta": round(100 * change.delta, 1)}
