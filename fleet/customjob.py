"""Custom jobs: a playbook item that carries its own BCC program and metadata.

The item becomes a ``JobSpec`` as a catalog job folder does, so everything
downstream treats both alike. The playbook's short attach and output forms become
the internal shapes of docs/contracts.md; errors name the playbook's file:line.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
from pathlib import Path
from typing import Any

from .catalog import (
    _TARGETS,
    JobSpec,
    Slot,
    _parse_btf,
    _parse_output,
    _unique,
    check_keys,
    check_when,
)
from .errors import InputError, brief
from .params import compile_template, parse_param_spec
from .yamlsrc import LineDict, line_of, read_input_text

# Keys that make a jobs item a custom job (with `name` and `params`).
CUSTOM_KEYS = ("source", "text", "summary", "attach", "outputs", "btf")
ITEM_KEYS = {"name": True, "source": False, "text": False, "summary": False,
             "params": False, "attach": False, "outputs": True, "btf": False,
             "interval": False}
ATTACH_KINDS = ("tracepoint", "raw_tracepoint", "kprobe", "kretprobe", "uprobe",
                "uretprobe", "usdt", "perf_event")
# perf_event names -> the agent's "type:event" targets.
PERF_EVENTS = {"cpu-clock": "software:cpu-clock",
               "task-clock": "software:task-clock",
               "cpu-cycles": "hardware:cpu-cycles",
               "instructions": "hardware:instructions"}
DEFAULT_FREQUENCY = 49
MAX_SOURCE_BYTES = 1024 * 1024  # a BPF program; clang would choke long before

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SYMBOL = re.compile(r"[A-Za-z0-9_.@]+")
_PATHISH = re.compile(r"[^\s:]+")


def _is_path(value: Any) -> bool:
    return isinstance(value, str) and _PATHISH.fullmatch(value) is not None

# Simple kinds: the key naming the target in the mapping form.
_TARGET_KEY = {"tracepoint": "name", "raw_tracepoint": "name", "kprobe": "function",
               "kretprobe": "function"}
_POINT_KEYS = {
    "uprobe": dict.fromkeys(("library", "symbol", "addr", "fn", "pid"), False),
    "usdt": dict.fromkeys(("probe", "provider", "binary", "pid", "fn"), False),
    "perf_event": {"event": True, "frequency": False, "fn": True},
}
_POINT_KEYS["uprobe"].update(library=True, fn=True)
_POINT_KEYS["usdt"].update(probe=True, fn=True)
_POINT_KEYS["uretprobe"] = _POINT_KEYS["uprobe"]
# Output forms: playbook key -> (internal kind, allowed keys of its mapping).
_OUTPUT_FORMS = {
    "hist": ("histogram", {"map": True, "name": False, "unit": False, "scale": False,
                           "decode": False}),
    "table": ("table", {"map": True, "name": False, "key": False, "top": False,
                        "unit": False, "decode": False, "columns": False}),
    "events": ("events", {"map": True, "name": False, "time": False, "columns": False,
                          "decode": False}),
    "stacks": ("stacks", {"map": True, "stack_map": True, "name": False, "top": False,
                          "unit": False}),
    "trace": ("trace", {"name": False}),
}
_HINTS = {"histogram": "hist", "function": "kprobe", "printk": "trace",
          "trace_printk": "trace", "fallbacks": "first_of", "fallback": "first_of"}
# BCC attaches these by their names when the program loads.
_AUTO = re.compile(r"\bTRACEPOINT_PROBE\s*\(\s*(\w+)\s*,\s*(\w+)\s*\)"
                   r"|\bRAW_TRACEPOINT_PROBE\s*\(\s*(\w+)\s*\)"
                   r"|\b(kprobe|kretprobe)__(\w+)\s*\(")
_COMMENT = re.compile(r"/\*.*?\*/|//[^\n]*", re.S)


def is_custom(item: dict) -> bool:
    """True when a jobs item brings its own program rather than naming a catalog job."""
    return any(key in item for key in CUSTOM_KEYS)


@dataclasses.dataclass
class CustomJobSpec(JobSpec):
    """A JobSpec from a playbook item: inline-text errors map to playbook lines."""

    item_line: int = 0
    text_line: int = 0  # playbook line of an inline `text:`'s first line; 0 for a file
    auto_attach: bool = False

    def _render_source(self, values: dict) -> str:
        try:
            return super()._render_source(values)
        except InputError as err:
            raise self.where(err) from None

    def _render_attach(self, values: dict, source: str) -> list:
        if not self.auto_attach:
            return super()._render_attach(values, source)
        slots = auto_slots(source)
        if not slots:
            raise InputError(f"job {self.name!r} has no attach: and its C has no "
                             "TRACEPOINT_PROBE(cat, name), RAW_TRACEPOINT_PROBE(name), "
                             "kprobe__NAME or kretprobe__NAME function; add attach:",
                             self.yaml_path, self.item_line or None)
        return slots

    def where(self, err: InputError) -> InputError:
        """Move an error in inline `text:` to its line in the playbook."""
        if not self.text_line or err.path != self.template_path:
            return err
        line = self.text_line + (err.line or 1) - 1
        return InputError(f"in text of job {self.name!r}: {err.message}",
                          self.yaml_path, line)


def custom_spec(item: dict, path: str) -> CustomJobSpec:
    """Build the JobSpec of a custom jobs item (already known to be a mapping)."""
    check_keys(item, ITEM_KEYS, "a custom job (source: or text:)", path)
    line = line_of(item)
    name = item["name"]
    if not isinstance(name, str) or not name:
        raise InputError("name of a custom job must be a string", path,
                         line_of(item, "name", line))
    text, template_path, source_name, text_line = _program(item, name, path)
    summary = item.get("summary", f"your own program {source_name}")
    _want(isinstance(summary, str) and summary.strip(), "summary must be a non-empty "
          "string", summary, path, line_of(item, "summary", line))
    spec = CustomJobSpec(
        name=name, summary=summary.strip(), params=_params(item, path),
        slots=parse_attach(item["attach"], path, line_of(item, "attach", line))
        if "attach" in item else [],
        outputs=parse_outputs(item["outputs"], path, line_of(item, "outputs", line)),
        template=None,  # type: ignore[arg-type]  # compiled just below
        template_path=template_path, yaml_path=path, source_name=source_name,
        item_line=line, text_line=text_line, auto_attach="attach" not in item,
        btf=_parse_btf(item.get("btf", []), path, line_of(item, "btf", line)))
    try:
        spec.template = compile_template(text, template_path)
    except InputError as err:
        raise spec.where(err) from None
    return spec


def _want(ok: Any, expected: str, value: Any, path: str, line: int) -> None:
    if not ok:
        raise InputError(f"{expected}, got {brief(value)}", path, line or None)


def _field(body: dict, key: str, ok: Any, expected: str, path: str, line: int,
           default: Any = None) -> Any:
    """``body[key]`` (or ``default``) once ``ok(value)`` holds, else an InputError."""
    value = body.get(key, default)
    _want(ok(value), expected, value, path, line_of(body, key, line))
    return value


def _program(item: dict, name: str, path: str) -> tuple[str, str, str, int]:
    """(C text, template file name, source_name, playbook line of inline text)."""
    line = line_of(item)
    if ("source" in item) == ("text" in item):
        raise InputError("a custom job needs exactly one of source: (a C file, "
                         "relative to the playbook) or text: (inline C)", path,
                         line_of(item, "text", line) if "text" in item else line)
    if "text" in item:
        text, key_line = item["text"], line_of(item, "text", line)
        _want(isinstance(text, str) and text.strip(), "text must be the C program as "
              "a string (use `text: |`)", text, path, key_line)
        label = f"{Path(path).name}:{name}"
        return text, f"{path}:{name}", label, _first_text_line(path, key_line)
    source, key_line = item["source"], line_of(item, "source", line)
    _want(isinstance(source, str) and source.strip(), "source must be the path of a C "
          "file, relative to the playbook", source, path, key_line)
    file = Path(path).parent / Path(source).expanduser()
    try:
        text = read_input_text(file, MAX_SOURCE_BYTES)
    except InputError as err:
        raise InputError(f"cannot read source {brief(source)} of job {name!r} "
                         f"({file}): {err.message}", path, key_line) from None
    return text, str(file), file.name, 0


def _first_text_line(path: str, key_line: int) -> int:
    """The playbook line of the program's line 1: after `text: |`, the next line."""
    try:
        raw = Path(path).read_text(encoding="utf-8").splitlines()[key_line - 1]
    except (OSError, UnicodeDecodeError, IndexError):
        return key_line
    after = raw.split("text:", 1)[-1].strip()
    return key_line + 1 if after[:1] in ("|", ">") else key_line


def _params(item: dict, path: str) -> dict:
    """Param declarations as in job.yaml; a declaration's default is the value."""
    raw = item.get("params") or {}
    line = line_of(item, "params", line_of(item))
    _want(isinstance(raw, dict), "params of a custom job must map name -> "
          "{type: ..., default: ...}", raw, path, line)
    specs = {}
    for key, decl in raw.items():
        try:
            specs[key] = parse_param_spec(key, decl, path)
        except InputError as err:
            raise InputError(err.message, path, err.line or line_of(raw, key, line)) \
                from None
    return specs


# --- attach -----------------------------------------------------------------

def parse_attach(items: Any, path: str, line: int) -> list[Slot]:
    """Turn playbook attach items into probe slots (one slot per item)."""
    _want(isinstance(items, list) and items, "attach must be a non-empty list of "
          "points like {tracepoint: 'sched:sched_switch'}", items, path, line)
    slots = [_slot(item, path, line_of(items, i, line)) for i, item in enumerate(items)]
    taken = {s.probe for s in slots if s.probe}
    for slot in slots:
        if not slot.probe:
            slot.probe = _fresh(_default_probe(slot.points[0]), taken)
    _unique([(s.probe, s.line) for s in slots], "probe", path)
    return slots


def _kind_of(item: Any, kinds: tuple, what: str, path: str, line: int) -> str:
    keys = list(item) if isinstance(item, dict) else []
    found = [k for k in keys if k in kinds]
    if len(found) != 1:
        close = [_HINTS.get(k) or difflib.get_close_matches(str(k), kinds, 1)
                 for k in keys if k not in kinds]
        close = [c[0] if isinstance(c, list) else c for c in close if c]
        hint = next((f" (did you mean {c!r}?)" for c in close if c in kinds), "")
        raise InputError(f"{what} must be a mapping with exactly one of: "
                         f"{', '.join(kinds)}{hint}; got {brief(item)}", path,
                         line_of(item) or line or None)
    return found[0]


def _slot(item: Any, path: str, line: int) -> Slot:
    kind = _kind_of(item, ATTACH_KINDS + ("first_of",), "an attach item", path, line)
    check_keys(item, {kind: True, "optional": False, "probe": False, "when": False},
               "an attach item", path, _HINTS)
    line = line_of(item) or line
    if kind == "first_of":
        raw = item["first_of"]
        at = line_of(item, "first_of", line)
        _want(isinstance(raw, list) and raw, "first_of must be a non-empty list of "
              "attach points, tried in order", raw, path, at)
        points = []
        for i, point in enumerate(raw):
            where = line_of(raw, i, at)
            inner = _kind_of(point, ATTACH_KINDS, "a first_of point", path, where)
            check_keys(point, {inner: True}, "a first_of point (optional and probe "
                       "belong to the item)", path, _HINTS)
            points.append(parse_point(inner, point[inner], path, line_of(point, inner,
                                                                          where)))
    else:
        points = [parse_point(kind, item[kind], path, line_of(item, kind, line))]
    optional = _field(item, "optional", lambda v: isinstance(v, bool),
                      "optional must be true or false", path, line, False)
    probe = _field(item, "probe", lambda v: v is None or _is_ident(v),
                   "probe must be a C identifier", path, line)
    when = check_when(item.get("when", True), path, line_of(item, "when", line))
    return Slot(probe=probe or "", points=points, optional=optional, when=when,
                line=line)


def parse_point(kind: str, value: Any, path: str, line: int) -> dict:
    """One attach point of the playbook form -> {"kind", "target", "fn", ...}."""
    if kind in _TARGET_KEY:
        key = _TARGET_KEY[kind]
        body = value if isinstance(value, dict) else {key: value}
        _want(isinstance(value, (str, dict)), f"{kind} must be a "
              f"{_TARGETS[kind][1]} string or {{{key}: ..., fn: C function}}", value,
              path, line)
        check_keys(body, {key: True, "fn": False}, f"a {kind} point", path)
        target = body[key]
        _want(isinstance(target, str) and re.fullmatch(_TARGETS[kind][0], target),
              f"{kind} {key} must look like {_TARGETS[kind][1]}", target, path,
              line_of(body, key, line))
        return {"kind": kind, "target": target, "fn": _fn(body, path, line, False)}
    _want(isinstance(value, dict), f"{kind} must be a mapping with keys: "
          f"{', '.join(_POINT_KEYS[kind])}", value, path, line)
    check_keys(value, _POINT_KEYS[kind], f"a {kind} point", path)
    line = line_of(value) or line
    fn = _fn(value, path, line, True)
    if kind == "perf_event":
        return _perf_point(value, fn, path, line)
    pid = _field(value, "pid", lambda v: v is None or (type(v) is int and v > 0),
                 "pid must be a process id", path, line)
    if kind == "usdt":
        return _usdt_point(value, fn, pid, path, line)
    return _uprobe_point(kind, value, fn, pid, path, line)


def _is_ident(value: Any) -> bool:
    return isinstance(value, str) and _IDENT.fullmatch(value) is not None


def _fn(body: dict, path: str, line: int, required: bool) -> str | None:
    if body.get("fn") is None and not required:
        return None
    return _field(body, "fn", _is_ident, "fn must name the C function to attach "
                  "(a C identifier)", path, line)


def _uprobe_point(kind: str, value: dict, fn: str, pid: Any, path: str,
                  line: int) -> dict:
    library = _field(value, "library", _is_path, "library must be a name like c or "
                     "a path, without ':' or spaces", path, line)
    symbol, addr = value.get("symbol"), value.get("addr")
    _want((symbol is None) != (addr is None), f"a {kind} needs exactly one of symbol "
          "or addr", value, path, line)
    if symbol is not None:
        _field(value, "symbol", lambda v: isinstance(v, str) and _SYMBOL.fullmatch(v),
               "symbol must be a symbol name like strlen", path, line)
        target = f"{library}:{symbol}"
    else:
        if isinstance(addr, str) and re.fullmatch(r"0[xX][0-9a-fA-F]+|\d+", addr):
            addr = int(addr, 0)
        _want(type(addr) is int and addr >= 0, "addr must be an address like 0x1234",
              addr, path, line_of(value, "addr", line))
        target = f"{library}:{addr:#x}"
    return {"kind": kind, "target": target, "fn": fn, "library": library,
            "symbol": symbol, "addr": addr, "pid": pid}


def _usdt_point(value: dict, fn: str, pid: Any, path: str, line: int) -> dict:
    _want("binary" in value or pid is not None, "a usdt point needs binary: (a path) "
          "or pid:", value, path, line)
    binary = _field(value, "binary", lambda v: v is None or _is_path(v),
                    "binary must be a path without ':' or spaces", path, line)
    provider, probe = (_field(value, key, lambda v: v is None or _is_ident(v),
                              f"{key} must be a USDT {key} name", path, line)
                       for key in ("provider", "probe"))
    where = binary if binary is not None else f"pid{pid}"
    target = ":".join(p for p in (where, provider, probe) if p)
    return {"kind": "usdt", "target": target, "fn": fn, "binary": binary,
            "provider": provider, "probe": probe, "pid": pid}


def _perf_point(value: dict, fn: str, path: str, line: int) -> dict:
    known = {**PERF_EVENTS, **{v: v for v in PERF_EVENTS.values()}}
    event = _field(value, "event", lambda v: isinstance(v, str) and v in known,
                   f"event must be one of {', '.join(PERF_EVENTS)}", path, line)
    freq = _field(value, "frequency", lambda v: (type(v) is int and v >= 1)
                  or isinstance(v, str), "frequency must be samples per second (an "
                  "integer >= 1) or a jinja expression", path, line, DEFAULT_FREQUENCY)
    target = known[event]
    return {"kind": "perf_event", "target": target, "fn": fn, "freq": freq}


def _default_probe(point: dict) -> str:
    """A slot name from its first point: strlen, sched_switch, do_sys_openat2_return."""
    kind = point["kind"]
    if kind in ("uprobe", "uretprobe"):
        base = point.get("symbol") or f"addr_{point.get('addr') or 0:x}"
    elif kind == "usdt":
        base = point.get("probe") or "usdt"
    else:
        base = point["target"].rsplit(":", 1)[-1]
    if kind in ("kretprobe", "uretprobe"):
        base += "_return"
    name = re.sub(r"\W", "_", base)
    return name if _IDENT.fullmatch(name) else f"p_{name}"


def _fresh(name: str, taken: set) -> str:
    """``name``, or name_2, name_3... so that each slot's name is unique."""
    candidate, n = name, 1
    while candidate in taken:
        n += 1
        candidate = f"{name}_{n}"
    taken.add(candidate)
    return candidate


def auto_slots(source: str) -> list[dict]:
    """Slots for the probes BCC attaches by name: TRACEPOINT_PROBE, kprobe__..."""
    slots, taken = [], set()
    for match in _AUTO.finditer(_COMMENT.sub(" ", source)):
        category, event, raw, kind, function = match.groups()
        if category:
            point = {"kind": "tracepoint", "target": f"{category}:{event}", "fn": None}
        elif raw:
            point = {"kind": "raw_tracepoint", "target": raw, "fn": None}
        else:
            point = {"kind": kind, "target": function, "fn": None}
        if any(s["points"][0] == point for s in slots):
            continue
        slots.append({"probe": _fresh(_default_probe(point), taken), "optional": False,
                      "points": [point]})
    return slots


# --- outputs ----------------------------------------------------------------

def parse_outputs(items: Any, path: str, line: int) -> list[dict]:
    """Turn playbook output items into catalog-style output dicts (validated)."""
    _want(isinstance(items, list) and items, "outputs must be a non-empty list like "
          "[{hist: {map: dist}}]", items, path, line)
    outputs = [_output(item, path, line_of(items, i, line))
               for i, item in enumerate(items)]
    _unique([(o["name"], line_of(o)) for o in outputs], "output", path)
    return outputs


def _output(item: Any, path: str, line: int) -> dict:
    form = _kind_of(item, tuple(_OUTPUT_FORMS), "an output", path, line)
    check_keys(item, {form: True}, "an output", path, _HINTS)
    kind, keys = _OUTPUT_FORMS[form]
    body = item[form]
    at = line_of(item, form, line)
    if body is None and form == "trace":
        body = {}
    _want(isinstance(body, dict), f"{form} must be a mapping with keys: "
          f"{', '.join(keys)}", body, path, at)
    check_keys(body, keys, f"a {form} output", path)
    _field(body, "key", lambda v: v is None or isinstance(v, str), "key must name "
           "the key's type, e.g. string", path, at)
    # The catalog's output dict, keeping the playbook's lines for its checks.
    out = _lined(line_of(body) or at, name=body.get("name", body.get("map", "trace")),
                 kind=kind)
    for key, value in body.items():
        if key not in ("name", "key"):
            out[key], out.lines[key] = value, line_of(body, key, at)
    columns = out.get("columns")
    if isinstance(columns, list):  # [comm, pid] is short for [{field: comm}, ...]
        out["columns"] = [_lined(line_of(columns, i, at), field=c)
                          if isinstance(c, str) else c for i, c in enumerate(columns)]
    out.lines["name"] = line_of(body, "name", out.line)
    return _parse_output(out, path)


def _lined(line: int, **items: Any) -> LineDict:
    """A LineDict whose keys all sit on ``line``."""
    data = LineDict(items)
    data.line, data.lines = line, dict.fromkeys(items, line)
    return data
