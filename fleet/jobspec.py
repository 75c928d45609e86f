"""The one job schema: bpf/<job>/job.yaml and a playbook's inline job alike.

A playbook's inline job is a job.yaml plus ``name:`` and ``source:``/``text:``,
so a custom job moves into bpf/ by copying. This module checks the job-level
keys, the attach slots and their points, and loads the C program; outputs are
checked in ``fleet.joboutputs``, old spellings translated in
``fleet.jobspelling``. Errors name file:line (docs/jobs.md has the reference).
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import jinja2

from . import jobspelling
from .errors import InputError
from .joboutputs import parse_outputs, unique
from .params import JINJA_ENV, ParamSpec, parse_param_spec
from .yamlcheck import check_keys, check_when, lined, suggest, want
from .yamlsrc import line_of

POINT_KINDS = ("tracepoint", "raw_tracepoint", "kprobe", "kretprobe",
               "uprobe", "uretprobe", "usdt", "perf_event")
# Sampling events by their perf names -> the agent's "type:event" targets.
PERF_EVENTS = {"cpu-clock": "software:cpu-clock",
               "task-clock": "software:task-clock",
               "cpu-cycles": "hardware:cpu-cycles",
               "instructions": "hardware:instructions"}
DEFAULT_FREQUENCY = 49
DEFAULT_SOURCE = "program.bpf.c"

# Job keys (True: required). `source`/`text` default to program.bpf.c in a folder.
JOB_KEYS = {"summary": False, "source": False, "text": False, "params": False,
            "btf": False, "attach": False, "outputs": True}
SLOT_KEYS = ("probe", "points", "optional", "when")
# Keys a point may carry besides {kind: target}, per kind.
POINT_EXTRAS = {"uprobe": ("fn", "pid"), "uretprobe": ("fn", "pid"),
                "usdt": ("fn", "pid"), "perf_event": ("fn", "frequency")}
NEEDS_FN = ("uprobe", "uretprobe", "usdt", "perf_event")  # BCC cannot bind by name

IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NAME = r"[A-Za-z0-9_.]+"
_PATHISH = r"[^\s:]+"
# What a target looks like per point kind, and how to say so in an error.
# Kernel functions and user symbols may be globs (funccount 'vfs_*').
TARGETS = {
    "tracepoint": (r"[A-Za-z0-9_]+:[A-Za-z0-9_]+", "category:name"),
    "raw_tracepoint": (r"[A-Za-z0-9_]+", "a tracepoint name"),
    "kprobe": (r"[A-Za-z0-9_.*?]+", "a kernel function name (or a glob)"),
    "kretprobe": (r"[A-Za-z0-9_.*?]+", "a kernel function name (or a glob)"),
    "uprobe": (_PATHISH + r":[A-Za-z0-9_.@*?]+", "library:symbol or library:0xADDR"),
    "uretprobe": (_PATHISH + r":[A-Za-z0-9_.@*?]+", "library:symbol or library:0xADDR"),
    "usdt": (_PATHISH + r":[A-Za-z0-9_]+(:[A-Za-z0-9_]+)?", "binary:[provider:]probe"),
    "perf_event": ("|".join(re.escape(e) for e in PERF_EVENTS),
                   "one of " + ", ".join(PERF_EVENTS)),
}
_ADDR = re.compile(r"0[xX][0-9a-fA-F]+|\d+")
_WILD = re.compile(r"[*?]")
_HINTS = {"function": "kprobe", "fentry": "kprobe", "fallbacks": "points",
          "fallback": "points", "frequency_hz": "frequency", "sample_freq": "frequency"}
# BCC attaches these by their names when the program loads.
_AUTO = re.compile(r"\bTRACEPOINT_PROBE\s*\(\s*(\w+)\s*,\s*(\w+)\s*\)"
                   r"|\bRAW_TRACEPOINT_PROBE\s*\(\s*(\w+)\s*\)"
                   r"|\b(kprobe|kretprobe)__(\w+)\s*\(")
_COMMENT = re.compile(r"/\*.*?\*/|//[^\n]*", re.S)


@dataclasses.dataclass
class Slot:
    """A probe slot: points tried in order on the host; dropped if `when` is false."""

    probe: str
    points: list
    optional: bool = False
    when: str | bool = True
    line: int = 0


@dataclasses.dataclass
class Program:
    """A job's C template text and where it came from (for error lines)."""

    text: str
    template_path: str  # names the template in render errors
    source_name: str  # the file name clang's errors name on the hosts
    text_line: int = 0  # the YAML line of an inline `text:`'s first line


@dataclasses.dataclass
class JobParts:
    """A job.yaml (or an inline job), checked: everything but the compiled C."""

    summary: str | None
    params: dict[str, ParamSpec]
    slots: list[Slot]
    outputs: list[dict]
    btf: list[str]
    auto_attach: bool


def is_ident(value: Any) -> bool:
    """True for a C identifier."""
    return isinstance(value, str) and IDENT.fullmatch(value) is not None


# --- the job ------------------------------------------------------------------

def parse_job(data: Any, path: str, what: str = "job.yaml",
              extra_keys: dict | None = None) -> JobParts:
    """Check a job mapping; ``extra_keys`` are the caller's own (a playbook's name)."""
    check_keys(data, {**(extra_keys or {}), **JOB_KEYS}, what, path)
    line = line_of(data)
    summary = data.get("summary")
    want(summary, summary is None or (isinstance(summary, str) and summary.strip()),
         "summary must be a non-empty string", path, line_of(data, "summary", line))
    slots = parse_attach(data["attach"], path, line_of(data, "attach", line)) \
        if "attach" in data else []
    return JobParts(
        summary=summary.strip() if summary else None,
        params=parse_params(data.get("params"), path, line_of(data, "params", line)),
        slots=slots,
        outputs=parse_outputs(data["outputs"], path, line_of(data, "outputs", line)),
        btf=parse_btf(data.get("btf", []), path, line_of(data, "btf", line)),
        auto_attach="attach" not in data)


def parse_params(raw: Any, path: str, line: int) -> dict[str, ParamSpec]:
    """Param declarations: name -> {type, default, help, ...}."""
    raw = raw or {}
    want(raw, isinstance(raw, dict), "params must map name -> {type: ..., "
         "default: ...}", path, line)
    specs = {}
    for key, decl in raw.items():
        try:
            specs[key] = parse_param_spec(key, decl, path)
        except InputError as err:
            raise InputError(err.message, path, err.line or line_of(raw, key, line)) \
                from None
    return specs


_BTF_PATH = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)+")


def parse_btf(paths: Any, path: str, line: int) -> list:
    """`btf:` lists struct member paths whose offsets the agent reads from BTF."""
    ok = isinstance(paths, list) and all(
        isinstance(p, str) and _BTF_PATH.fullmatch(p) for p in paths)
    return want(paths, ok, "btf must be a list of struct member paths like "
                "task_struct.real_parent", path, line)


def load_program(data: dict, path: str, label: str, default: str | None) -> Program:
    """The job's C: ``source:`` (relative to the YAML's folder), ``text:``, or default.

    ``label`` names inline text in errors (``book.yaml:job``); ``default`` is
    the file a job folder falls back to (None: one of the two is required).
    """
    line = line_of(data)
    if "source" in data and "text" in data or (default is None and "source" not in
                                               data and "text" not in data):
        raise InputError("a custom job needs exactly one of source: (a C file, "
                         "relative to the playbook) or text: (inline C)", path,
                         line_of(data, "text", line) if "text" in data else line)
    if "text" in data:
        text, key_line = data["text"], line_of(data, "text", line)
        want(text, isinstance(text, str) and text.strip(), "text must be the C "
             "program as a string (use `text: |`)", path, key_line)
        return Program(text, f"{path}:{label}", f"{Path(path).name}:{label}",
                       _first_text_line(path, key_line))
    source = data.get("source", default)
    key_line = line_of(data, "source", line)
    want(source, isinstance(source, str) and source.strip(), "source must be the "
         "path of a C file, relative to the YAML file", path, key_line)
    file = Path(path).parent / Path(source).expanduser()
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        why = err.strerror if isinstance(err, OSError) else "not UTF-8 text"
        if "source" not in data:
            raise InputError(f"cannot read the job's C template: {why}",
                             str(file)) from None
        raise InputError(f"cannot read source {source!r} of job {label!r} ({file}): "
                         f"{why}", path, key_line) from None
    return Program(text, str(file), file.name)


def _first_text_line(path: str, key_line: int) -> int:
    """The YAML line of the program's line 1: after `text: |`, the next line."""
    try:
        raw = Path(path).read_text(encoding="utf-8").splitlines()[key_line - 1]
    except (OSError, UnicodeDecodeError, IndexError):
        return key_line
    after = raw.split("text:", 1)[-1].strip()
    return key_line + 1 if after[:1] in ("|", ">") else key_line


# --- attach slots -------------------------------------------------------------

def parse_attach(items: Any, path: str, line: int) -> list[Slot]:
    """The `attach:` list: one probe slot per item, names made unique."""
    want(items, isinstance(items, list) and items, "attach must be a non-empty list "
         "of slots like {probe: NAME, tracepoint: 'sched:sched_switch'}", path, line)
    slots = [parse_slot(item, path, line_of(items, i, line))
             for i, item in enumerate(items)]
    taken = {s.probe for s in slots if s.probe}
    for slot in slots:
        if not slot.probe:
            slot.probe = fresh_name(default_probe(slot.points[0]), taken)
    unique([(s.probe, s.line) for s in slots], "probe", path)
    return slots


def parse_slot(raw: Any, path: str, line: int) -> Slot:
    """One slot: `points: [...]` tried in order, or a single point inline."""
    raw = jobspelling.slot(raw, path, line)
    kinds = [k for k in raw if k in POINT_KINDS] if isinstance(raw, dict) else []
    if not isinstance(raw, dict) or len(kinds) + ("points" in raw) != 1:
        close = "".join(suggest(k, POINT_KINDS + ("points",), _HINTS) for k in
                        (raw if isinstance(raw, dict) else []) if k not in SLOT_KEYS
                        and k not in POINT_KINDS)[:60]
        raise InputError("an attach slot has `points: [...]` (tried in order) or "
                         f"one point such as `tracepoint: cat:name`{close}; point "
                         f"kinds: {', '.join(POINT_KINDS)}; got {raw!r}", path,
                         line_of(raw) or line or None)
    line = line_of(raw) or line
    if "points" in raw:
        check_keys(raw, dict.fromkeys(SLOT_KEYS, False), "attach slot", path, _HINTS)
        at = line_of(raw, "points", line)
        items = want(raw["points"], isinstance(raw["points"], list) and raw["points"],
                     "points must be a non-empty list of attach points, tried in "
                     "order", path, at)
        points = [parse_point(p, path, line_of(items, i, at))
                  for i, p in enumerate(items)]
    else:
        own = {k: raw[k] for k in raw if k not in SLOT_KEYS}
        points = [parse_point(lined(own, raw), path, line)]
    optional = raw.get("optional", False)
    want(optional, isinstance(optional, bool), "optional must be true or false",
         path, line_of(raw, "optional", line))
    probe = raw.get("probe")
    want(probe, probe is None or is_ident(probe), "probe must be a C identifier",
         path, line_of(raw, "probe", line))
    when = check_when(raw.get("when", True), path, line_of(raw, "when", line))
    return Slot(probe=probe or "", points=points, optional=optional, when=when,
                line=line)


# --- attach points ------------------------------------------------------------

def parse_point(raw: Any, path: str, line: int) -> dict:
    """One point ``{kind: target, fn: ..., ...}`` -> the agent's point dict.

    A target holding ``{{ ... }}`` is rendered with the params and checked then
    (``finish_point``); its point keeps ``"template": True`` until that.
    """
    raw = jobspelling.point(raw, POINT_KINDS, path, line)
    kinds = [k for k in raw if k in POINT_KINDS] if isinstance(raw, dict) else []
    if len(kinds) != 1:
        raise InputError("an attach point is a mapping {kind: target} (plus fn); "
                         f"kinds: {', '.join(POINT_KINDS)}; got {raw!r}", path,
                         line_of(raw) or line or None)
    kind = kinds[0]
    line = line_of(raw) or line
    check_keys(raw, {kind: True, **dict.fromkeys(POINT_EXTRAS.get(kind, ("fn",)),
                                                 False)},
               f"a {kind} point", path, _HINTS)
    fn = raw.get("fn")
    want(fn, fn is None or is_ident(fn), "fn must name the C function to attach "
         "(a C identifier)", path, line_of(raw, "fn", line))
    want(raw, fn is not None or kind not in NEEDS_FN, f"a {kind} point needs fn "
         "(the C function to attach)", path, line)
    pid = raw.get("pid")
    want(pid, pid is None or (type(pid) is int and pid > 0), "pid must be a "
         "process id", path, line_of(raw, "pid", line))
    freq = raw.get("frequency", DEFAULT_FREQUENCY)
    want(freq, (type(freq) is int and freq >= 1) or isinstance(freq, str),
         "frequency must be samples per second (an integer >= 1) or a jinja "
         "expression", path, line_of(raw, "frequency", line))
    target = raw[kind]
    want(target, isinstance(target, str), f"{kind} target must be a string like "
         f"{TARGETS[kind][1]}", path, line)
    base = {"kind": kind, "target": target, "fn": fn, "pid": pid, "freq": freq}
    if "{{" in target or "{%" in target:
        _check_template(target, path, line)
        return dict(base, template=True, line=line)
    return finish_point(base, path, line)


def _check_template(text: str, path: str, line: int) -> None:
    try:
        JINJA_ENV.from_string(text)
    except jinja2.TemplateSyntaxError as err:
        raise InputError(f"bad template in attach target: {err.message}", path,
                         line) from None


def finish_point(base: dict, path: str, line: int) -> dict:
    """Check a point's (rendered) target; add the agent's fields for its kind."""
    kind, target = base["kind"], base["target"]
    pattern, shape = TARGETS[kind]
    want(target, re.fullmatch(pattern, target), f"{kind} target must look like "
         f"{shape}", path, line)
    point = {"kind": kind, "target": target, "fn": base["fn"]}
    if kind in ("uprobe", "uretprobe"):
        library, symbol = target.split(":", 1)
        addr = int(symbol, 0) if _ADDR.fullmatch(symbol) else None
        point.update(library=library, symbol=None if addr is not None else symbol,
                     addr=addr, pid=base["pid"])
    elif kind == "usdt":
        binary, *rest = target.split(":")
        provider = rest[0] if len(rest) == 2 else None
        point.update(binary=binary, provider=provider, probe=rest[-1],
                     pid=base["pid"])
    elif kind == "perf_event":
        point.update(target=PERF_EVENTS[target], freq=base["freq"])
    if _WILD.search(target) and kind not in ("perf_event",):
        point["pattern"] = True  # a glob: the agent attaches every match
    return point


def default_probe(point: dict) -> str:
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
    return name if IDENT.fullmatch(name) else f"p_{name}"


def fresh_name(name: str, taken: set) -> str:
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
        slots.append({"probe": fresh_name(default_probe(point), taken),
                      "optional": False, "points": [point]})
    return slots
