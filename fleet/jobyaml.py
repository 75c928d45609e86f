"""job.yaml parsing: validate a job's attach slots, outputs and btf paths."""

from __future__ import annotations

import dataclasses
import difflib
import re
from typing import Any

import jinja2

from .errors import InputError, brief
from .params import JINJA_ENV
from .wire import DECODERS
from .yamlsrc import line_of

POINT_KINDS = ("tracepoint", "raw_tracepoint", "kprobe", "kretprobe",
               "uprobe", "uretprobe", "usdt", "perf_event")
OUTPUT_KINDS = ("histogram", "events", "table", "stacks", "series", "trace")
HIST_SCALES = ("log2", "linear")

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# What a target looks like per point kind, and how to say so in an error.
_TARGETS = {
    "tracepoint": (r"[A-Za-z0-9_]+:[A-Za-z0-9_]+", "category:name"),
    "raw_tracepoint": (r"[A-Za-z0-9_]+", "a tracepoint name"),
    "kprobe": (r"[A-Za-z0-9_.]+", "a kernel function name"),
    "kretprobe": (r"[A-Za-z0-9_.]+", "a kernel function name"),
    "uprobe": (r"[^\s:]+:[A-Za-z0-9_.@]+", "library:symbol"),
    "uretprobe": (r"[^\s:]+:[A-Za-z0-9_.@]+", "library:symbol"),
    "usdt": (r"[^\s:]+:[A-Za-z0-9_]+(:[A-Za-z0-9_]+)?", "binary:[provider:]probe"),
    "perf_event": (r"[a-z]+:[a-z0-9_-]+", "type:event, e.g. software:cpu-clock"),
}
_JOB_KEYS = {"summary": True, "params": False, "attach": True, "outputs": True,
             "btf": False}
_BTF_PATH = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)+")
_SLOT_KEYS = {"probe": True, "points": True, "when": False, "optional": False}
# `map` is required for every kind but trace (bpf_trace_printk lines have none).
_OUTPUT_KEYS = {"name": True, "kind": True, "map": False, "unit": False,
                "decode": False, "time": False, "columns": False, "top": False,
                "stack_map": False, "fields": False, "interval": False,
                "ratios": False, "scale": False}
_COLUMN_KEYS = {"field": True, "unit": False}
# Keys that only make sense for some output kinds.
_KIND_ONLY = {"time": ("events",), "columns": ("events", "table", "series"),
              "top": ("table", "stacks"), "stack_map": ("stacks",),
              "fields": ("series",), "interval": ("series",), "ratios": ("series",),
              "scale": ("histogram",)}


@dataclasses.dataclass
class Slot:
    """A probe slot: points tried in order on the host; dropped if `when` is false."""

    probe: str
    points: list
    optional: bool = False
    when: str | bool = True
    line: int = 0


def check_keys(data: Any, allowed: dict, what: str, path: str,
               hints: dict | None = None) -> None:
    """Refuse non-mappings, unknown keys (suggesting one) and missing required keys.

    ``allowed`` maps each key to whether it is required; ``hints`` maps words
    from other tools to our key, for suggestions difflib would not make.
    """
    if not isinstance(data, dict):
        raise InputError(f"{what} must be a mapping with keys: {', '.join(allowed)}",
                         path, line_of(data) or None)
    for key in data:
        if key not in allowed:
            raise InputError(f"unknown key {key!r} in {what}"
                             f"{_suggest(key, allowed, hints or {})}; expected: "
                             f"{', '.join(allowed)}", path, line_of(data, key))
    for key, required in allowed.items():
        if required and key not in data:
            raise InputError(f"{what} is missing required key {key!r}", path,
                             line_of(data) or None)


def _suggest(key: Any, allowed: dict, hints: dict) -> str:
    close = hints.get(key) if isinstance(key, str) else None
    if close not in allowed:
        matches = difflib.get_close_matches(str(key), list(allowed), n=1)
        close = matches[0] if matches else None
    return f" (did you mean {close!r}?)" if close else ""


def _want(value: Any, ok: bool, what: str, path: str, line: int) -> Any:
    if not ok:
        raise InputError(f"{what}, got {brief(value)}", path, line or None)
    return value


def _ident(data: dict, key: str, what: str, path: str) -> str:
    value = data[key]
    ok = isinstance(value, str) and _IDENT.fullmatch(value) is not None
    return _want(value, ok, f"{what} must be a C identifier", path, line_of(data, key))


def _nonempty_list(data: dict, key: str, what: str, path: str) -> list:
    value = data[key]
    ok = isinstance(value, list) and len(value) > 0
    return _want(value, ok, f"{what} must be a non-empty list", path,
                 line_of(data, key))


def _parse_point(raw: Any, path: str) -> dict:
    line = line_of(raw)
    kinds = [k for k in raw if k in POINT_KINDS] if isinstance(raw, dict) else []
    allowed = {kinds[0]: True, "fn": False} if len(kinds) == 1 else {}
    if kinds == ["perf_event"]:
        allowed["freq"] = True
    if len(kinds) != 1:
        raise InputError("an attach point is a one-key mapping {kind: target} (plus "
                         f"optional fn); kinds: {', '.join(POINT_KINDS)}", path, line)
    check_keys(raw, allowed, "attach point", path)
    kind = kinds[0]
    pattern, shape = _TARGETS[kind]
    target = raw[kind]
    ok = isinstance(target, str) and re.fullmatch(pattern, target) is not None
    _want(target, ok, f"{kind} target must look like {shape}", path, line)
    fn = _ident(raw, "fn", "fn", path) if "fn" in raw else None
    point = {"kind": kind, "target": target, "fn": fn}
    if kind == "perf_event":
        _want(fn, fn is not None, "a perf_event point needs fn (the C function)", path,
              line)
        freq = raw["freq"]
        _want(freq, isinstance(freq, (int, str)) and not isinstance(freq, bool),
              "freq must be a number of samples per second or a jinja expression",
              path, line_of(raw, "freq"))
        point["freq"] = freq
    return point


def _parse_slot(raw: Any, path: str) -> Slot:
    check_keys(raw, _SLOT_KEYS, "attach slot", path)
    line = line_of(raw)
    probe = _ident(raw, "probe", "probe", path)
    raw_points = _nonempty_list(raw, "points", "points", path)
    points = [_parse_point(p, path) for p in raw_points]
    optional = raw.get("optional", False)
    _want(optional, isinstance(optional, bool), "optional must be true or false",
          path, line_of(raw, "optional"))
    when = check_when(raw.get("when", True), path, line_of(raw, "when"))
    return Slot(probe=probe, points=points, optional=optional, when=when, line=line)


def check_when(when: Any, path: str, line: int) -> str | bool:
    """A slot's `when`: a bool, or a jinja expression that compiles."""
    if isinstance(when, str):
        try:
            JINJA_ENV.compile_expression(when)
        except jinja2.TemplateSyntaxError as err:
            raise InputError(f"bad `when` expression: {err.message}", path,
                             line) from None
        return when
    return _want(when, isinstance(when, bool), "when must be a jinja expression or "
                 "a bool", path, line)


def _parse_output(raw: Any, path: str) -> dict:
    check_keys(raw, _OUTPUT_KEYS, "output", path)
    name = _ident(raw, "name", "output name", path)
    kind = raw["kind"]
    _want(kind, kind in OUTPUT_KINDS, f"output kind must be one of "
          f"{', '.join(OUTPUT_KINDS)}", path, line_of(raw, "kind"))
    if kind == "trace":
        _want(raw.get("map"), "map" not in raw, "a trace output reads "
              "bpf_trace_printk lines and takes no map", path, line_of(raw, "map"))
    elif "map" not in raw:
        raise InputError("output is missing required key 'map' (only trace "
                         "outputs have none)", path, line_of(raw) or None)
    else:
        _ident(raw, "map", f"map of output {name!r}", path)
    for key, kinds in _KIND_ONLY.items():
        _want(kind, key not in raw or kind in kinds, f"`{key}` is only for "
              f"{' and '.join(kinds)} outputs, not this one", path, line_of(raw, key))
    if "time" in raw:
        _ident(raw, "time", "time field", path)
    _optional_str(raw, "unit", path)
    _parse_decode(raw.get("decode", {}), path, line_of(raw, "decode"))
    _parse_columns(raw.get("columns", []), path, line_of(raw, "columns"))
    scale = raw.get("scale", "log2")
    _want(scale, scale in HIST_SCALES, f"scale must be one of {', '.join(HIST_SCALES)}",
          path, line_of(raw, "scale"))
    top = raw.get("top")
    _want(top, top is None or isinstance(top, str) or (type(top) is int and top >= 1),
          "top must be an integer >= 1 or a jinja expression", path,
          line_of(raw, "top"))
    return raw


def _optional_str(data: dict, key: str, path: str) -> None:
    if key in data:
        _want(data[key], isinstance(data[key], str), f"{key} must be a string",
              path, line_of(data, key))


def _parse_columns(columns: Any, path: str, line: int) -> None:
    _want(columns, isinstance(columns, list), "columns must be a list of "
          "{field: name, unit: ...}", path, line)
    for i, col in enumerate(columns):
        _want(col, isinstance(col, dict), "a column must be a mapping like "
              "{field: name, unit: ...}", path, line_of(columns, i, line))
        check_keys(col, _COLUMN_KEYS, "column", path)
        _ident(col, "field", "column field", path)
        _optional_str(col, "unit", path)


def _parse_decode(decode: Any, path: str, line: int) -> None:
    _want(decode, isinstance(decode, dict), "decode must map struct field -> decoder",
          path, line)
    for key, value in decode.items():
        ok = isinstance(key, str) and _IDENT.fullmatch(key) and value in DECODERS
        _want({key: value}, bool(ok), "decode entries must be field: decoder, with "
              f"decoder one of {', '.join(DECODERS)}", path, line_of(decode, key, line))


def _unique(named: list, what: str, path: str) -> None:
    """Refuse a name used twice; ``named`` holds (name, line) pairs."""
    seen: dict = {}
    for name, line in named:
        if name in seen:
            raise InputError(f"{what} {name!r} is declared twice (first on line "
                             f"{seen[name]})", path, line or None)
        seen[name] = line

def _parse_btf(paths: Any, path: str, line: int) -> list:
    """`btf:` lists struct member paths whose offsets the agent reads from BTF."""
    ok = isinstance(paths, list) and all(
        isinstance(p, str) and _BTF_PATH.fullmatch(p) for p in paths)
    return _want(paths, ok, "btf must be a list of struct member paths like "
                 "task_struct.real_parent", path, line)
