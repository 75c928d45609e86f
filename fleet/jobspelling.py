"""Old spellings of the job schema, read with a warning and turned into the new.

Playbooks written before the schema was one (docs/jobs.md) used their own
words: ``first_of:`` for ``points:``, mapping targets such as
``kprobe: {function: f, fn: g}`` or ``perf_event: {event: cpu-clock,
frequency: 49}``, ``freq:`` and ``software:cpu-clock``, and outputs keyed by
kind (``hist: {map: dist}``). Each still works, with a SpellingWarning that
names the file, the line and the new spelling.
"""

from __future__ import annotations

import re
from typing import Any

from .errors import InputError, warn_spelling
from .yamlcheck import check_keys, lined, suggest, want
from .yamlsrc import line_of

# The old mapping form of each point kind: its keys (True: required).
_TARGET_KEY = {"tracepoint": "name", "raw_tracepoint": "name", "kprobe": "function",
               "kretprobe": "function"}
_UPROBE_KEYS = {"library": True, "symbol": False, "addr": False, "fn": True,
                "pid": False}
_MAPPING_KEYS = {"uprobe": _UPROBE_KEYS, "uretprobe": _UPROBE_KEYS,
                 "usdt": {"probe": True, "provider": False, "binary": False,
                          "pid": False, "fn": True},
                 "perf_event": {"event": True, "frequency": False, "fn": True}}
_OLD_PERF = {"software:cpu-clock": "cpu-clock", "software:task-clock": "task-clock",
             "hardware:cpu-cycles": "cpu-cycles",
             "hardware:instructions": "instructions"}
# Outputs keyed by kind: old key -> (kind, keys of its mapping).
_OLD_OUTPUTS = {
    "hist": ("histogram", ("map", "name", "unit", "scale", "decode")),
    "table": ("table", ("map", "name", "key", "top", "unit", "decode", "columns")),
    "events": ("events", ("map", "name", "time", "columns", "decode")),
    "stacks": ("stacks", ("map", "stack_map", "name", "top", "unit")),
    "trace": ("trace", ("name",)),
}
_ADDR = re.compile(r"0[xX][0-9a-fA-F]+|\d+")


def slot(raw: Any, path: str, line: int) -> Any:
    """``first_of: [...]`` -> ``points: [...]``."""
    if not isinstance(raw, dict) or "first_of" not in raw:
        return raw
    if "points" in raw:
        raise InputError("a slot has points: or first_of: (its old spelling), not "
                         "both", path, line_of(raw, "first_of", line))
    warn_spelling("`first_of:` is now spelled `points:` (the same list, tried in "
                  "order)", path, line_of(raw, "first_of", line))
    new = lined({("points" if k == "first_of" else k): v for k, v in raw.items()},
                raw)
    new.lines["points"] = line_of(raw, "first_of", line)
    return new


def point(raw: Any, kinds: tuple, path: str, line: int) -> Any:
    """A point in an old form -> ``{kind: target, fn: ..., ...}``."""
    if not isinstance(raw, dict):
        return raw
    found = [k for k in raw if k in kinds]
    if len(found) != 1:
        return raw
    kind = found[0]
    line = line_of(raw) or line
    if "freq" in raw:
        warn_spelling("`freq:` is now spelled `frequency:`", path,
                      line_of(raw, "freq", line))
        raw = lined({("frequency" if k == "freq" else k): v for k, v in raw.items()},
                    raw)
    value = raw[kind]
    if kind == "perf_event" and isinstance(value, str) and value in _OLD_PERF:
        warn_spelling(f"perf_event {value!r} is now spelled {_OLD_PERF[value]!r}",
                      path, line_of(raw, kind, line))
        return lined({**raw, kind: _OLD_PERF[value]}, raw)
    if not isinstance(value, dict):
        return raw
    at = line_of(raw, kind, line)
    if len(raw) > 1:
        raise InputError(f"a {kind} point of the old mapping form {{{kind}: {{...}}}} "
                         "takes no keys beside it; write it as "
                         f"{{{kind}: TARGET, fn: ...}}", path, at)
    new = _from_mapping(kind, value, path, line_of(value) or at)
    warn_spelling(f"{{{kind}: {{...}}}} is now written {_shown(new)}", path, at)
    return lined(new, None, line_of(value) or at)


def _shown(point: dict) -> str:
    return "{" + ", ".join(f"{k}: {v}" for k, v in point.items()) + "}"


def _from_mapping(kind: str, body: dict, path: str, line: int) -> dict:
    if kind in _TARGET_KEY:
        key = _TARGET_KEY[kind]
        check_keys(body, {key: True, "fn": False}, f"a {kind} point", path,
                   {"func": "fn", "function": "fn"} if key != "function" else {})
        return _drop_none({kind: body[key], "fn": body.get("fn")})
    check_keys(body, _MAPPING_KEYS[kind], f"a {kind} point", path)
    fn, pid = body["fn"], body.get("pid")
    if kind == "perf_event":
        event = body["event"]
        event = _OLD_PERF.get(event, event) if isinstance(event, str) else event
        return _drop_none({kind: event, "fn": fn,
                           "frequency": body.get("frequency")})
    if kind == "usdt":
        want(body, "binary" in body or pid is not None, "a usdt point needs binary: "
             "(a path) or pid:", path, line)
        binary = body.get("binary") or f"/proc/{pid}/exe"
        parts = [str(p) for p in (binary, body.get("provider"), body["probe"]) if p]
        return _drop_none({kind: ":".join(parts), "fn": fn, "pid": pid})
    symbol, addr = body.get("symbol"), body.get("addr")
    want(body, (symbol is None) != (addr is None), f"a {kind} needs exactly one of "
         "symbol or addr", path, line)
    if addr is not None:
        if isinstance(addr, str) and _ADDR.fullmatch(addr):
            addr = int(addr, 0)
        want(addr, type(addr) is int and addr >= 0, "addr must be an address like "
             "0x1234", path, line_of(body, "addr", line))
        symbol = f"{addr:#x}"
    return _drop_none({kind: f"{body['library']}:{symbol}", "fn": fn, "pid": pid})


def _drop_none(items: dict) -> dict:
    return {k: v for k, v in items.items() if v is not None}


def output(item: Any, path: str, line: int) -> Any:
    """An output keyed by kind (`{hist: {map: dist}}`) -> `{kind: histogram, ...}`."""
    if not isinstance(item, dict) or "kind" in item or len(item) != 1:
        return item
    [form] = item
    if form not in _OLD_OUTPUTS:
        kinds = {k: k for k, _ in _OLD_OUTPUTS.values()}
        close = suggest(form, kinds, {}).replace("'", "")
        close = close.replace("mean ", "mean {kind: ").replace("?)", ", ...}?)")
        raise InputError(f"an output is a mapping with kind: and map: (e.g. {{kind: "
                         f"histogram, map: dist}}){close}; got {item!r}", path,
                         line_of(item) or line or None)
    kind, keys = _OLD_OUTPUTS[form]
    body = item[form]
    at = line_of(item, form, line)
    if body is None and form == "trace":
        body = lined({}, None, at)
    want(body, isinstance(body, dict), f"{form} must be a mapping with keys: "
         f"{', '.join(keys)}", path, at)
    check_keys(body, {k: k == "map" and form != "trace" for k in keys},
               f"a {form} output", path)
    warn_spelling(f"{{{form}: {{...}}}} is now written {{kind: {kind}, ...}} (the "
                  "same keys beside kind:)", path, at)
    new = lined({"kind": kind, **{k: v for k, v in body.items() if k != "key"}},
                body, line_of(body) or at)
    new.lines["kind"] = at
    return new
