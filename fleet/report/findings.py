"""What a report says before any detail: outliers with their figures, lost events,
skipped probe runs, and hosts grouped by outcome with their reasons folded.

Shared by the terminal and the HTML report, so both say the same thing; every
figure is read from the per-host data of a results document.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fleet.hostranges import fold_names
from fleet.merge import median_host

__all__ = [
    "Group",
    "Outlier",
    "generic_reason",
    "host_warnings",
    "lost_by_job",
    "missed_by_job",
    "outcome_groups",
    "outliers_of",
]


@dataclass
class Outlier:
    """One flagged host of one output, with the figure that flagged it."""

    host: str
    job: str
    text: str  # e.g. "p99 65535 usecs, fleet p99 2047"
    why: str  # the merge's own words, e.g. "p99 ~32x above fleet"
    key: str | None = None  # the label, for a keyed histogram's outlier


@dataclass
class Group:
    """Hosts sharing one outcome and one reason (the address taken out)."""

    outcome: str
    reason: str
    names: list[str] = field(default_factory=list)

    @property
    def folded(self) -> str:
        """The names as ranges: ``db[001-116,118-162]``."""
        return fold_names(self.names)


def _figure(entry: Mapping, per_host: Mapping, host: str, why: str) -> str:
    """The figure behind a flag: the percentile it names, next to the median host's
    (the rule compares with that host, so a few slow hosts cannot hide in it)."""
    if why.startswith("no samples"):
        return why
    pct = "p99" if "p99" in why else "p50"
    unit = f" {entry['unit']}" if entry.get("unit") else ""
    value = (per_host.get(host) or {}).get(pct)
    return f"{pct} {value}{unit}, median host {median_host(per_host, pct)}"


def outliers_of(entry: Mapping[str, Any]) -> list[Outlier]:
    """Every flagged host of a histogram output; per key, hosts not flagged yet."""
    found = [
        Outlier(item["host"], entry["name"],
                _figure(entry, entry["hosts"], item["host"], item["why"]),
                item["why"])
        for item in entry.get("outliers") or []
    ]
    named = {o.host for o in found}
    for label, per_key in (entry.get("keys") or {}).items():
        for item in per_key.get("outliers") or []:
            if item["host"] not in named:
                text = _figure(entry, per_key["hosts"], item["host"], item["why"])
                found.append(Outlier(item["host"], entry["name"], text, item["why"],
                                     label))
    return found


def lost_by_job(results: Mapping[str, Any]) -> list[tuple[str, dict[str, int]]]:
    """``[(job name, {host: events lost})]`` for outputs that lost events."""
    return [(e["name"], dict(e["lost"])) for e in results.get("jobs") or []
            if e.get("lost")]


def missed_by_job(results: Mapping[str, Any]) -> list[tuple[str, dict[str, int]]]:
    """``[(job name, {host: probe runs skipped})]`` for outputs with skipped runs."""
    return [(e["name"], dict(e["missed_runs"])) for e in results.get("jobs") or []
            if e.get("missed_runs")]


def host_warnings(results: Mapping[str, Any]) -> dict[str, list[str]]:
    """Per host, what makes its results short although it ended ok."""
    warnings: dict[str, list[str]] = {}
    for job, lost in lost_by_job(results):
        for host, n in lost.items():
            warnings.setdefault(host, []).append(f"{n} events lost in {job}")
    for job, missed in missed_by_job(results):
        for host, n in missed.items():
            warnings.setdefault(host, []).append(
                f"{n} probe runs of {job} skipped by the kernel")
    return warnings


_TUPLE = re.compile(r"\(\s*'([^']*)'\s*,\s*\d+\s*\)")  # asyncio's ('127.0.0.1', 22)
_TOKEN = re.compile(r"[\w.-]+(?::\d+)?")  # a name or an address, maybe with :port
_PORT = re.compile(r"\bport \d+\b")
_EMPTY_PARENS = re.compile(r"\(\s*\)")
_LEADING = re.compile(r"^[\s:,;-]+")
_SPACE_BEFORE = re.compile(r"\s+([:,;)])")


def generic_reason(reason: str, address: str | None, name: str) -> str:
    """A reason with the host's own address and name taken out, to fold hosts.

    ``127.0.1.4:22: Connect call failed ('127.0.1.4', 22)`` and the same from
    127.0.1.5 both become ``Connect call failed``. (Patterns are compiled once:
    a thousand failed hosts must not cost a thousand compiles.)
    """
    text = " ".join(str(reason or "").split())
    own = {v for v in (address, name) if v}
    if not text or not own:
        return text

    def drop(match: re.Match) -> str:
        token = match[0]
        bare = token.rsplit(":", 1)[0] if ":" in token else token
        return "" if bare in own else token

    text = _TUPLE.sub(lambda m: "" if m[1] in own else m[0], text)
    text = _TOKEN.sub(drop, text)
    text = _PORT.sub("", text)
    text = _EMPTY_PARENS.sub("", text)
    text = _LEADING.sub("", text)
    text = _SPACE_BEFORE.sub(r"\1", text)
    return " ".join(text.split()).rstrip(":,; ") or reason


def _warning_reason(warnings: list[str]) -> str:
    """Warnings without their counts, so hosts with the same kind fold together."""
    return "; ".join(re.sub(r"^\d+ ", "", w) for w in warnings)


def outcome_groups(results: Mapping[str, Any]) -> list[Group]:
    """Hosts grouped by outcome and reason, in inventory order.

    A group of one host keeps its own words (with its address); a group of
    several says what they share. Hosts that ended ok with a warning form
    their own groups.
    """
    hosts = results.get("hosts") or {}
    warnings = host_warnings(results)
    groups: dict[tuple[str, str], Group] = {}
    exact: dict[tuple[str, str], str] = {}
    for name, host in hosts.items():
        outcome = host["outcome"]
        if outcome == "ok" and name in warnings:
            own = "warning: " + "; ".join(warnings[name])
            shared = "warning: " + _warning_reason(warnings[name])
        else:
            own = " ".join(str(host.get("reason") or "").split())
            shared = generic_reason(own, host.get("address"), name)
        key = (outcome, shared)
        groups.setdefault(key, Group(outcome, shared)).names.append(name)
        exact[key] = own
    for key, group in groups.items():
        if len(group.names) == 1:
            group.reason = exact[key]
    return list(groups.values())
