"""Naming the attach point a probe slot must use: ``--point [JOB.]PROBE=KIND:TARGET``.

A job's slots list their points in order of preference and each host takes the
first it has. Naming one point instead makes every host use that one (or fail
with attach-error, naming why): how a declared fallback, such as a kprobe behind
a tracepoint, is tried on a host that has the preferred point too.
"""

from __future__ import annotations

import dataclasses
import re

from .catalog import RenderedJob
from .errors import InputError

_CHOICE = re.compile(r"(?:(?P<job>[A-Za-z0-9][A-Za-z0-9._-]*)\.)?"
                     r"(?P<probe>[A-Za-z_]\w*)=(?P<kind>[a-z_]+):(?P<target>\S+)")


@dataclasses.dataclass(frozen=True)
class PointChoice:
    """One --point: job id (None: every job with the probe), probe, point."""

    job: str | None
    probe: str
    kind: str
    target: str
    text: str = ""

    @property
    def label(self) -> str:
        """The point as hosts report it, e.g. ``kprobe:vfs_read``."""
        return f"{self.kind}:{self.target}"


def parse_point_choice(text: str) -> PointChoice:
    """Parse ``[JOB.]PROBE=KIND:TARGET``; InputError if it is not that shape."""
    match = _CHOICE.fullmatch(text.strip())
    if not match:
        raise InputError(f"--point expects [JOB.]PROBE=KIND:TARGET, e.g. "
                         f"enter_read=kprobe:vfs_read; got {text!r}")
    return PointChoice(**match.groupdict(), text=text.strip())


def apply_point_choices(jobs: list[RenderedJob], texts: list[str]) -> None:
    """Keep only the named point in each slot a --point names (in place).

    The slot becomes required: a point asked for by name that cannot attach is
    an attach-error, not a silently missing probe.
    """
    for choice in (parse_point_choice(t) for t in texts):
        slots = _slots_named(jobs, choice)
        chosen = [(slot, _declared(slot, choice)) for slot in slots]
        hits = [(slot, point) for slot, point in chosen if point is not None]
        if not hits:
            declared = sorted({_label(p) for slot in slots for p in slot["points"]})
            raise InputError(f"--point {choice.text}: no job declares that "
                             f"point for probe {choice.probe!r}; declared: "
                             f"{', '.join(declared)}")
        for slot, point in hits:
            slot["points"] = [point]
            slot["optional"] = False


def _slots_named(jobs: list[RenderedJob], choice: PointChoice) -> list[dict]:
    """The slots called choice.probe in the chosen job(s); InputError if none."""
    if choice.job is not None and choice.job not in {j.id for j in jobs}:
        raise InputError(f"--point {choice.text}: no job {choice.job!r} in "
                         f"this run; its jobs: {', '.join(j.id for j in jobs)}")
    candidates = [j for j in jobs if choice.job in (None, j.id)]
    slots = [s for j in candidates for s in j.attach if s["probe"] == choice.probe]
    if not slots:
        probes = sorted({s["probe"] for j in candidates for s in j.attach})
        raise InputError(f"--point {choice.text}: no probe {choice.probe!r} "
                         f"in {choice.job or 'any job of this run'}; probes: "
                         f"{', '.join(probes)}")
    return slots


def _declared(slot: dict, choice: PointChoice) -> dict | None:
    """The slot's point that the choice names, or None."""
    for point in slot["points"]:
        if point["kind"] == choice.kind and point["target"] == choice.target:
            return point
    return None


def _label(point: dict) -> str:
    return f"{point['kind']}:{point['target']}"
