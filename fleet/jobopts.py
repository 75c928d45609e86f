"""Options every job gets from the kinds of its outputs, not from its job.yaml.

- ``buffer_pages``: a typed param of every job with an events output, the size
  of each per-CPU perf buffer in pages. The agent opens the job's buffers with
  it; a bigger buffer rides out longer bursts before the kernel drops events.
- ``interval``: a jobs item option of jobs with a histogram output (bcc's
  interval mode): the agent reads and clears the histogram every interval, so
  the results carry per-interval slots besides the window's total.

Both are applied to the rendered outputs here, the one place that knows them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .errors import InputError
from .params import ParamSpec

__all__ = [
    "BUFFER_PAGES",
    "DEFAULT_BUFFER_PAGES",
    "apply_interval",
    "apply_params",
    "check_interval",
    "check_params",
    "with_implicit_params",
]

# bcc's open_perf_buffer default is 8 pages; 64 (256 KiB per CPU) has kept up
# with every job's bursts on the test machines.
DEFAULT_BUFFER_PAGES = 64
MAX_BUFFER_PAGES = 16384  # 64 MiB per CPU: beyond that the host pays more than the run
# Shorter intervals cost a map walk per output more often than they tell anything.
MIN_INTERVAL_S = 0.1

BUFFER_PAGES = ParamSpec(
    name="buffer_pages",
    type="int",
    default=DEFAULT_BUFFER_PAGES,
    min=1,
    max=MAX_BUFFER_PAGES,
    help="pages per CPU of each perf buffer (a power of two); raise it when "
    "events are lost",
)


def _has(outputs: list[Mapping], kind: str) -> bool:
    return any(out.get("kind") == kind for out in outputs)


def with_implicit_params(params: dict[str, ParamSpec],
                         outputs: list[Mapping]) -> dict[str, ParamSpec]:
    """Return ``params`` plus the implicit ones its outputs call for.

    A job that declares a param of the same name keeps its own declaration.
    """
    if _has(outputs, "events") and BUFFER_PAGES.name not in params:
        return {**params, BUFFER_PAGES.name: BUFFER_PAGES}
    return params


def check_params(values: Mapping[str, Any], outputs: list[Mapping], job: str,
                 path: str | None, line: int | None) -> None:
    """Refuse implicit param values their type cannot express (power of two)."""
    pages = values.get(BUFFER_PAGES.name)
    if _has(outputs, "events") and isinstance(pages, int) and pages & (pages - 1):
        raise InputError(
            f"param 'buffer_pages' of job {job!r} must be a power of two "
            f"(1, 2, 4, ... {MAX_BUFFER_PAGES}), got {pages!r}", path, line)


def apply_params(outputs: list[dict], values: Mapping[str, Any]) -> None:
    """Give each events output of a rendered job its buffer size in pages."""
    pages = values.get(BUFFER_PAGES.name) or DEFAULT_BUFFER_PAGES
    for out in outputs:
        if out.get("kind") == "events":
            out["buffer_pages"] = pages


def check_interval(interval: float, outputs: list[Mapping], job: str,
                   path: str | None, line: int | None) -> float:
    """Return ``interval`` if the job has a histogram and it is not too short."""
    if not _has(outputs, "histogram"):
        raise InputError(f"interval applies to jobs with a histogram output; job "
                         f"{job!r} has none", path, line)
    if interval < MIN_INTERVAL_S:
        raise InputError(f"interval of job {job!r} must be at least "
                         f"{MIN_INTERVAL_S:g}s, got {interval:g}s", path, line)
    return interval


def apply_interval(outputs: list[dict], interval: float | None) -> None:
    """Mark each histogram output of a rendered job with its read interval."""
    if interval:
        for out in outputs:
            if out.get("kind") == "histogram":
                out["interval"] = float(interval)
