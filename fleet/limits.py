"""Bounds on the numbers a user gives fleet: forks, connect timeouts, durations.

The one home of these bounds: the command line, ansible.cfg, the environment
and playbooks all check their numbers here, so ``-f 10**30``, ``-T nan`` or a
window of ``99999999999999h`` is a clear error, never a hang or a crash deep
in asyncio.
"""

from __future__ import annotations

import math
from typing import Any

from .errors import InputError, brief

MAX_FORKS = 10_000  # past a few thousand, shard the run across controllers
MAX_CONNECT_TIMEOUT_S = 3600.0
MAX_DURATION_S = 7 * 86400.0  # one week: the longest window, grace or deadline


def parse_forks(value: Any, what: str = "forks", path: str | None = None,
                line: int | None = None) -> int:
    """A whole number of hosts worked on at once, 1 to MAX_FORKS."""
    number = value
    if isinstance(value, str) and value.strip().isdigit():
        number = int(value.strip())
    if isinstance(number, bool) or not isinstance(number, int) \
            or not 1 <= number <= MAX_FORKS:
        raise InputError(f"{what} must be a whole number from 1 to {MAX_FORKS}, "
                         f"got {brief(value)}", path, line)
    return number


def parse_timeout(value: Any, what: str = "timeout", path: str | None = None,
                  line: int | None = None) -> float:
    """Seconds to wait for a host's SSH connection: above 0, at most an hour."""
    seconds = _number(value)
    if seconds is None or not 0 < seconds <= MAX_CONNECT_TIMEOUT_S:
        raise InputError(f"{what} must be a number of seconds above 0 and at most "
                         f"{MAX_CONNECT_TIMEOUT_S:g}, got {brief(value)}", path, line)
    return seconds


def check_duration(seconds: float, value: Any, what: str, path: str | None,
                   line: int | None, maximum: float = MAX_DURATION_S) -> float:
    """A parsed duration, refused when past maximum (default MAX_DURATION_S)."""
    if seconds > maximum:
        longest = (f"{maximum / 86400:g} days ({maximum:g}s)" if maximum >= 86400
                   else f"{maximum:g}s")
        raise InputError(f"{what} must be at most {longest}, got {brief(value)}",
                         path, line)
    return seconds


def _number(value: Any) -> float | None:
    """A finite float from a number or its text, else None."""
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None
