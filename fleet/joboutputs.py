"""A job's `outputs:` (part of the one job schema): kinds, maps, units, columns."""

from __future__ import annotations

import re
from typing import Any

from . import jobspelling
from .errors import InputError
from .wire import DECODERS
from .yamlcheck import check_keys, check_when, lined
from .yamlsrc import line_of

OUTPUT_KINDS = ("histogram", "events", "table", "stacks", "series", "trace")
HIST_SCALES = ("log2", "linear")

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Every key an output may have; `map` is required for all kinds but trace.
OUTPUT_KEYS = ("name", "kind", "map", "unit", "decode", "time", "columns", "top",
               "stack_map", "fields", "interval", "ratios", "scale", "meminfo")
# Keys checked here but not sent to the agent.
SCHEMA_ONLY_KEYS = ("when",)
_COLUMN_KEYS = ("field", "unit")
# Keys that only make sense for some output kinds.
_KIND_ONLY = {"time": ("events",), "columns": ("events", "table", "series"),
              "top": ("table", "stacks"), "stack_map": ("stacks",),
              "fields": ("series",), "interval": ("series", "table"),
              "ratios": ("series",), "scale": ("histogram",),
              "meminfo": ("series",)}


def _want(value: Any, ok: Any, what: str, path: str, line: int | None) -> Any:
    if not ok:
        raise InputError(f"{what}, got {value!r}", path, line or None)
    return value


def unique(named: list, what: str, path: str) -> None:
    """Refuse a name used twice; ``named`` holds (name, line) pairs."""
    seen: dict = {}
    for name, line in named:
        if name in seen:
            raise InputError(f"{what} {name!r} is declared twice (first on line "
                             f"{seen[name]})", path, line or None)
        seen[name] = line


def parse_outputs(items: Any, path: str, line: int) -> list[dict]:
    """The `outputs:` list, each output checked; names default to the map's."""
    _want(items, isinstance(items, list) and items, "outputs must be a non-empty "
          "list like [{kind: histogram, map: dist}]", path, line)
    outputs = [parse_output(jobspelling.output(item, path, line_of(items, i, line)),
                            path, line_of(items, i, line))
               for i, item in enumerate(items)]
    unique([(o["name"], line_of(o)) for o in outputs], "output", path)
    return outputs


def parse_output(raw: Any, path: str, line: int = 0) -> dict:
    """Check one output mapping; returns it with its name filled in."""
    check_keys(raw, {k: k == "kind" for k in OUTPUT_KEYS + SCHEMA_ONLY_KEYS}, "output",
               path)
    line = line_of(raw) or line
    raw["when"] = check_when(raw.get("when", True), path, line_of(raw, "when", line))
    kind = raw["kind"]
    _want(kind, kind in OUTPUT_KINDS, f"output kind must be one of "
          f"{', '.join(OUTPUT_KINDS)}", path, line_of(raw, "kind", line))
    if kind == "trace":
        _want(raw.get("map"), "map" not in raw, "a trace output reads "
              "bpf_trace_printk lines and takes no map", path, line_of(raw, "map"))
    elif "map" not in raw:
        raise InputError("output is missing required key 'map' (only trace "
                         "outputs have none)", path, line or None)
    else:
        _ident(raw, "map", "map of output", path)
    if "name" not in raw:
        raw["name"] = raw.get("map", "trace")
        raw.lines["name"] = line
    _ident(raw, "name", "output name", path)
    for key, kinds in _KIND_ONLY.items():
        _want(kind, key not in raw or kind in kinds, f"`{key}` is only for "
              f"{' and '.join(kinds)} outputs, not this one", path, line_of(raw, key))
    if "time" in raw:
        _ident(raw, "time", "time field", path)
    if "unit" in raw:
        _want(raw["unit"], isinstance(raw["unit"], str), "unit must be a string",
              path, line_of(raw, "unit"))
    _parse_decode(raw.get("decode", {}), path, line_of(raw, "decode", line))
    if "columns" in raw:
        raw["columns"] = _parse_columns(raw["columns"], path,
                                        line_of(raw, "columns", line))
    scale = raw.get("scale", "log2")
    _want(scale, scale in HIST_SCALES, f"scale must be one of {', '.join(HIST_SCALES)}",
          path, line_of(raw, "scale"))
    top = raw.get("top")
    _want(top, top is None or isinstance(top, str) or (type(top) is int and top >= 1),
          "top must be an integer >= 1 or a jinja expression", path,
          line_of(raw, "top"))
    return raw


def _ident(data: dict, key: str, what: str, path: str) -> str:
    value = data[key]
    ok = isinstance(value, str) and _IDENT.fullmatch(value) is not None
    return _want(value, ok, f"{what} must be a C identifier", path, line_of(data, key))


def _parse_columns(columns: Any, path: str, line: int) -> list:
    """[comm, {field: lat, unit: usecs}]: a bare name is {field: name}."""
    _want(columns, isinstance(columns, list), "columns must be a list of field "
          "names or {field: name, unit: ...}", path, line)
    out = []
    for i, col in enumerate(columns):
        at = line_of(columns, i, line)
        if isinstance(col, str):
            col = lined({"field": col}, None, at)
        _want(col, isinstance(col, dict), "a column must be a field name or a "
              "mapping like {field: name, unit: ...}", path, at)
        check_keys(col, {"field": True, "unit": False, "when": False}, "column", path)
        col["when"] = check_when(col.get("when", True), path, line_of(col, "when", at))
        _ident(col, "field", "column field", path)
        if "unit" in col:
            _want(col["unit"], isinstance(col["unit"], str), "unit must be a string",
                  path, line_of(col, "unit", at))
        out.append(col)
    return out


def _parse_decode(decode: Any, path: str, line: int) -> None:
    _want(decode, isinstance(decode, dict), "decode must map struct field -> decoder",
          path, line)
    for key, value in decode.items():
        templated = isinstance(value, str) and "{{" in value  # checked once rendered
        ok = isinstance(key, str) and _IDENT.fullmatch(key) and (
            value in DECODERS or templated)
        _want({key: value}, bool(ok), "decode entries must be field: decoder, with "
              f"decoder one of {', '.join(DECODERS)}", path, line_of(decode, key, line))
