"""Ansible host patterns: name ranges like ``web[01:20]`` and the selection algebra.

Two kinds of "host pattern" live here, as in Ansible: the ranges an inventory
uses to declare many hosts in one entry, and the expressions (``db:!db3``,
``web:&prod``, ``~db[0-9]+``, ``webservers[0:1]``) that select hosts from it.
"""

from __future__ import annotations

import fnmatch
import ipaddress
import re
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Callable, NamedTuple, Union

from ..errors import InputError

# The names Ansible resolves to an implicit local host when no inventory has them.
LOCALHOST_NAMES = ("localhost", "127.0.0.1", "::1")

_RANGE = re.compile(r"\[([^\[\]]*)\]")
_NUMBER = re.compile(r"[0-9]+")
_BRACKETED_V6 = re.compile(r"\[([0-9A-Fa-f:.]+)\](?::([^:]*))?")
_SUBSCRIPT = re.compile(r"(.+)\[(?:(-?[0-9]+)|([0-9]+):([0-9]*))\]")
_OLD_SUBSCRIPT = re.compile(r"(.+)\[[0-9]+-[0-9]*\]")
_RANGE_HELP = "expected [START:END] or [START:END:STEP] with numbers or single letters"
# An inventory names at most this many hosts; a range past it is a typo, and
# expanding it would take the controller's memory.
MAX_HOSTS = 100_000
MAX_NUMBER_DIGITS = 18  # range bounds and ports: no arithmetic on huge numbers


def expand_range(
    name: str, path: str | None = None, line: int | None = None
) -> list[str]:
    """Expand every ``[START:END(:STEP)]`` range in a host name, left to right."""
    match = _RANGE.search(name)
    head = name[: match.start()] if match else name
    if "[" in head or "]" in head:
        why = f"bad host range '{name[:60]}': unbalanced brackets"
        raise InputError(why, path, line)
    if match is None:
        return [name]
    values = _range_values(match.group(1), name, path, line)
    tails = expand_range(name[match.end() :], path, line)
    if len(values) * len(tails) > MAX_HOSTS:
        raise InputError(
            f"bad host range '{name[:60]}': it names {len(values) * len(tails)} "
            f"hosts, more than the {MAX_HOSTS} an inventory may hold", path, line
        )
    return [head + value + tail for value in values for tail in tails]


def _range_values(
    spec: str, name: str, path: str | None, line: int | None
) -> list[str]:
    """The items of one range body such as ``01:20``, ``1:20:5`` or ``a:c``."""

    def bad(why: str) -> InputError:
        return InputError(f"bad host range '{name[:60]}': {why}", path, line)

    parts = spec.split(":")
    if len(parts) not in (2, 3):
        raise bad(_RANGE_HELP)
    start, end = parts[0] or "0", parts[1]  # Ansible reads a missing START as 0
    step = parts[2] if len(parts) == 3 else "1"
    if any(len(part) > MAX_NUMBER_DIGITS for part in (start, end, step)):
        raise bad(f"numbers of at most {MAX_NUMBER_DIGITS} digits expected")
    if not _NUMBER.fullmatch(step) or int(step) == 0:
        raise bad(f"STEP must be a whole number above 0, got '{step}'")
    if _NUMBER.fullmatch(start) and _NUMBER.fullmatch(end):
        return _numeric_range(start, end, int(step), bad)
    letters = string.ascii_letters
    if len(start) == 1 and len(end) == 1 and start in letters and end in letters:
        first, last = letters.index(start), letters.index(end)
        if first > last:
            raise bad(f"START '{start}' comes after END '{end}'")
        return list(letters[first : last + 1 : int(step)])
    raise bad(_RANGE_HELP)


def _numeric_range(
    start: str, end: str, step: int, bad: Callable[[str], InputError]
) -> list[str]:
    """Numbers from start to end inclusive, zero-padded when START is."""
    width = len(start) if start.startswith("0") and len(start) > 1 else 0
    if width and len(end) != width:
        raise bad("a zero-padded START and END must have the same width")
    if int(start) > int(end):
        raise bad(f"START {start} is greater than END {end}")
    count = (int(end) - int(start)) // step + 1
    if count > MAX_HOSTS:
        raise bad(f"it names {count} hosts, more than the {MAX_HOSTS} an "
                  "inventory may hold")
    return [str(n).zfill(width) for n in range(int(start), int(end) + 1, step)]


def split_port(
    entry: str, path: str | None = None, line: int | None = None
) -> tuple[str, int | None]:
    """Split ``name:port`` (or ``[v6addr]:port``) into the name and the port or None."""
    v6 = _BRACKETED_V6.fullmatch(entry)
    if v6 and _is_ipv6(v6.group(1)):
        return v6.group(1), _port_number(v6.group(2), entry, path, line)
    colons = _top_level_positions(entry, ":")
    # No colon: a plain name; several: a bare IPv6 address, which has no port.
    if len(colons) != 1:
        return entry, None
    name, port = entry[: colons[0]], entry[colons[0] + 1 :]
    if not name:
        raise InputError(f"bad host '{entry}': the name is empty", path, line)
    return name, _port_number(port, entry, path, line)


def _port_number(
    text: str | None, entry: str, path: str | None, line: int | None
) -> int | None:
    """The port after a host name's colon, or None when there was no colon."""
    if text is None:
        return None
    if not _NUMBER.fullmatch(text):
        raise InputError(
            f"bad host '{entry[:60]}': expected NAME or NAME:PORT with a numeric port",
            path,
            line,
        )
    if len(text) > 5:  # (a port is at most 65535; the range is checked at use)
        raise InputError(
            f"bad host '{entry[:60]}': the port has {len(text)} digits, at most 5",
            path,
            line,
        )
    return int(text)


def parse_host_entry(
    entry: str, path: str | None = None, line: int | None = None
) -> tuple[list[str], int | None]:
    """Turn an inventory host entry like ``web[01:03]:2222`` into names and a port."""
    name, port = split_port(entry.strip(), path, line)
    if not name:
        raise InputError("a host name is empty", path, line)
    if _is_ipv6(name):
        return [name], port
    return expand_range(name, path, line), port


def _is_ipv6(text: str) -> bool:
    """True when text is an IPv6 address (whose colons separate nothing)."""
    try:
        return isinstance(ipaddress.ip_address(text), ipaddress.IPv6Address)
    except ValueError:
        return False


def _top_level_positions(text: str, char: str) -> list[int]:
    """Positions of char outside ``[...]``, so ranges keep their colons."""
    depth, found = 0, []
    for index, current in enumerate(text):
        if current == "[":
            depth += 1
        elif current == "]":
            depth = max(depth - 1, 0)
        elif current == char and depth == 0:
            found.append(index)
    return found


def split_pattern(pattern: str) -> list[str]:
    """Split a pattern on ``,`` and on ``:`` outside brackets into its terms."""
    if pattern.count("[") != pattern.count("]"):
        raise InputError(f"bad host pattern '{pattern}': unbalanced brackets")
    terms: list[str] = []
    for piece in pattern.split(","):
        piece = piece.strip()
        if _is_ipv6(piece):
            terms.append(piece)
            continue
        cuts = [-1, *_top_level_positions(piece, ":"), len(piece)]
        terms.extend(piece[a + 1 : b].strip() for a, b in zip(cuts, cuts[1:]))
    return [term for term in terms if term]


Subscript = Union[int, slice, None]


@dataclass(frozen=True)
class Term:
    """One term of a pattern: an operator, an expression and an optional subscript."""

    text: str
    op: str  # "" (union), "&" (intersection) or "!" (exclusion)
    expr: str
    subscript: Subscript = None


def parse_term(text: str) -> Term:
    """Read the operator and ``[i]``/``[i:j]`` subscript of one pattern term."""
    op = text[0] if text[0] in "&!" else ""
    expr = text[len(op) :].strip()
    if not expr:
        raise InputError(f"bad host pattern term '{text}': nothing after '{op}'")
    if expr.startswith("~"):
        return Term(text, op, expr)  # a regex's brackets are its own
    if _OLD_SUBSCRIPT.fullmatch(expr):
        raise InputError(
            f"bad host pattern term '{text}': use [START:END] (inclusive); "
            "Ansible removed the [START-END] form"
        )
    match = _SUBSCRIPT.fullmatch(expr)
    if match is None:
        return Term(text, op, expr)
    base, index, start, end = match.groups()
    if index is not None:
        return Term(text, op, base, int(index))
    stop = int(end) + 1 if end else None  # Ansible's [x:y] includes y
    return Term(text, op, base, slice(int(start), stop))


class Selection(NamedTuple):
    """Host names a pattern selected (inventory order) and terms that matched none."""

    names: list[str]
    unmatched: list[str]


def evaluate(
    terms: Sequence[str], hosts: Sequence[str], groups: Mapping[str, Sequence[str]]
) -> Selection:
    """Apply pattern terms as Ansible does: unions, then ``&`` terms, then ``!`` terms.

    ``hosts`` are all host names in inventory order; ``groups`` maps each group
    to its member hosts (children's included) in inventory order.
    """
    parsed = [parse_term(text) for text in terms]
    ordered = [t for t in parsed if not t.op] or [Term("all", "", "all")]
    ordered += [t for t in parsed if t.op == "&"] + [t for t in parsed if t.op == "!"]
    chosen: dict[str, None] = {}
    unmatched = []
    for term in ordered:
        found = _match_term(term, hosts, groups)
        if not found and term in parsed:
            unmatched.append(term.text)
        if not term.op:
            chosen.update(dict.fromkeys(found))
        else:
            keep = term.op == "&"
            found_set = set(found)
            chosen = {name: None for name in chosen if (name in found_set) == keep}
    rank = {name: index for index, name in enumerate(hosts)}
    return Selection(sorted(chosen, key=lambda n: rank.get(n, len(rank))), unmatched)


def _match_term(
    term: Term, hosts: Sequence[str], groups: Mapping[str, Sequence[str]]
) -> list[str]:
    """Host names one term selects, with its subscript applied."""
    if not term.op and term.subscript is None and term.expr in set(hosts):
        return [term.expr]  # Ansible takes an exact host name before any group
    found = _enumerate(term.expr, hosts, groups)
    if isinstance(term.subscript, int):
        index = term.subscript
        return [found[index]] if -len(found) <= index < len(found) else []
    if isinstance(term.subscript, slice):
        return found[term.subscript]
    return found


def _enumerate(
    expr: str, hosts: Sequence[str], groups: Mapping[str, Sequence[str]]
) -> list[str]:
    """Hosts of the groups expr matches; hosts by name when no group matched or expr
    is a glob or regex; the implicit localhost when nothing else matched."""
    matches = _matcher(expr)
    group_names = [name for name in groups if matches(name)]
    found = [host for name in group_names for host in groups[name]]
    if not group_names or expr.startswith("~") or any(c in expr for c in ".?*["):
        found += [host for host in hosts if matches(host)]
    if not found and expr in LOCALHOST_NAMES:
        found = [expr]
    return list(dict.fromkeys(found))


def _matcher(expr: str) -> Callable[[str], bool]:
    """A name test for a glob, or a ``~regex`` matched at the start as Ansible does."""
    source = expr[1:] if expr.startswith("~") else fnmatch.translate(expr)
    try:
        compiled = re.compile(source)
    except re.error as err:
        raise InputError(f"bad host pattern '{expr}': {err}") from None
    return lambda name: compiled.match(name) is not None
