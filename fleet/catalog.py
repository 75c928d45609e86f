"""The job catalog: finds bpf/<name>/ folders, validates job.yaml, renders the C."""

from __future__ import annotations

import copy
import dataclasses
import difflib
import re
from pathlib import Path
from typing import Any

import jinja2

import fleet

from .errors import InputError
from .params import (
    JINJA_ENV,
    ParamSpec,
    cli_params,
    compile_template,
    error_text,
    parse_param_spec,
    render_error,
    template_value,
    validate_params,
)
from .wire import DECODERS
from .yamlsrc import line_of, load_file

POINT_KINDS = ("tracepoint", "raw_tracepoint", "kprobe", "kretprobe",
               "uprobe", "uretprobe", "usdt", "perf_event")
OUTPUT_KINDS = ("histogram", "events", "table", "stacks", "series", "trace")
HIST_SCALES = ("log2", "linear")
JOB_FILE, TEMPLATE_FILE = "job.yaml", "program.bpf.c"

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_JOB_NAME = re.compile(r"[a-z0-9][a-z0-9_-]*")
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
class RenderedJob:
    """A job ready for the agent: C source, attach slots, outputs, resolves."""

    id: str
    job: str
    params: dict
    source: str
    attach: list
    resolve: dict
    outputs: list
    summary: str
    btf: list = dataclasses.field(default_factory=list)
    # The file name clang's errors name (the agent emits `#line 1 "<source_name>"`).
    source_name: str = TEMPLATE_FILE

    def to_plan(self) -> dict:
        """Return the plan entry sent to the agent (plain JSON-able data)."""
        return dataclasses.asdict(self)


@dataclasses.dataclass
class Slot:
    """A probe slot: points tried in order on the host; dropped if `when` is false."""

    probe: str
    points: list
    optional: bool = False
    when: str | bool = True
    line: int = 0


@dataclasses.dataclass
class JobSpec:
    """A validated job: metadata from job.yaml plus its compiled C template."""

    name: str
    summary: str
    params: dict
    slots: list
    outputs: list
    template: jinja2.Template
    template_path: str
    yaml_path: str
    btf: list = dataclasses.field(default_factory=list)
    source_name: str = TEMPLATE_FILE

    def check_params(self, values: Any, path: str | None = None,
                     line: int | None = None) -> dict:
        """Validate user values (YAML-typed) and fill in defaults."""
        return validate_params(self.params, values, self.name, path, line)

    def cli_params(self, texts: dict[str, str]) -> dict:
        """Validate `--param k=v` strings, converting each by its declared type."""
        return cli_params(self.params, texts, self.name)

    def render(self, params: dict, job_id: str) -> RenderedJob:
        """Render the C, attach slots and outputs for the given param values."""
        values = self.check_params(params)
        source = self._render_source(values)
        return RenderedJob(
            id=job_id, job=self.name, params=dict(values), source=source,
            attach=self._render_attach(values, source),
            resolve=self._resolve(values),
            outputs=[_render_output(o, values, self.yaml_path) for o in self.outputs],
            summary=self.summary,
            btf=list(self.btf),
            source_name=self.source_name,
        )

    def _render_attach(self, values: dict, source: str) -> list:
        """The slots whose `when` holds, rendered (custom jobs may scan ``source``)."""
        return [_render_slot(s, values, self.yaml_path) for s in self.slots
                if _slot_wanted(s, values, self.yaml_path)]

    def _render_source(self, values: dict) -> str:
        context = {k: template_value(self.params[k], v) for k, v in values.items()}
        try:
            return self.template.render(context)
        except Exception as err:  # any failure is a template bug
            raise render_error(err, self.template_path) from None

    def _resolve(self, values: dict) -> dict:
        # Only the host knows a disk's dev number; the agent defines
        # FLEET_DEV_<NAME> from this entry before compiling.
        return {name: {"type": "disk", "value": values[name]}
                for name, spec in self.params.items()
                if spec.type == "disk" and values[name] is not None}


def _slot_wanted(slot: Slot, values: dict, path: str) -> bool:
    if isinstance(slot.when, bool):
        return slot.when
    try:
        expression = JINJA_ENV.compile_expression(slot.when, undefined_to_none=False)
        return bool(expression(**values))
    except Exception as err:  # any failure is a job.yaml bug
        raise InputError(f"`when: {slot.when}` of probe {slot.probe!r} failed: "
                         f"{error_text(err)}", path, slot.line) from None


def _render_slot(slot: Slot, values: dict, path: str) -> dict:
    points = copy.deepcopy(slot.points)
    for point in points:
        if isinstance(point.get("freq"), str):  # perf_event frequency from a param
            try:
                point["freq"] = int(JINJA_ENV.from_string(point["freq"]).render(values))
            except Exception as err:  # any failure is a job.yaml bug
                raise InputError(f"freq of probe {slot.probe!r}: {error_text(err)}",
                                 path, slot.line) from None
    return {"probe": slot.probe, "optional": slot.optional, "points": points}


def _render_output(output: dict, values: dict, path: str) -> dict:
    def render(text: Any, line: int) -> Any:
        if isinstance(text, list):
            return [render(item, line) for item in text]
        if isinstance(text, dict):
            return {k: render(v, line_of(text, k, line)) for k, v in text.items()}
        if not isinstance(text, str):
            return text
        try:
            return JINJA_ENV.from_string(text).render(values)
        except Exception as err:  # any failure is a job.yaml bug
            raise InputError(f"output {output['name']!r}: {error_text(err)}", path,
                             line) from None

    result = {key: None for key in _OUTPUT_KEYS}
    result.update(decode={}, columns=[])
    result.update(render(output, line_of(output)))
    result["columns"] = [{"field": c["field"], "unit": c.get("unit")}
                         for c in result["columns"]]
    if result["kind"] == "histogram":
        result["scale"] = result["scale"] or "log2"
    if isinstance(result.get("top"), str):  # e.g. top: "{{ top }}" from a param
        try:
            result["top"] = int(result["top"])
        except ValueError:
            result["top"] = None
        _want(result["top"], result["top"] is not None and result["top"] >= 1,
              f"top of output {output['name']!r} must render to an integer >= 1",
              path, line_of(output, "top"))
    return result


# --- job.yaml parsing -------------------------------------------------------

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
        raise InputError(f"{what}, got {value!r}", path, line or None)
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


def parse_job_spec(name: str, data: Any, yaml_path: str, template_text: str,
                   template_path: str) -> JobSpec:
    """Build a JobSpec from parsed job.yaml data and the C template text."""
    check_keys(data, _JOB_KEYS, "job.yaml", yaml_path)
    summary = data["summary"]
    _want(summary, isinstance(summary, str) and summary.strip() != "",
          "summary must be a non-empty string", yaml_path, line_of(data, "summary"))
    raw_params = data.get("params") or {}
    _want(raw_params, isinstance(raw_params, dict), "params must be a mapping",
          yaml_path, line_of(data, "params"))
    params: dict[str, ParamSpec] = {
        k: parse_param_spec(k, v, yaml_path) for k, v in raw_params.items()}
    slots = [_parse_slot(s, yaml_path)
             for s in _nonempty_list(data, "attach", "attach", yaml_path)]
    outputs = [_parse_output(o, yaml_path)
               for o in _nonempty_list(data, "outputs", "outputs", yaml_path)]
    _unique([(s.probe, s.line) for s in slots], "probe", yaml_path)
    _unique([(o["name"], line_of(o)) for o in outputs], "output", yaml_path)
    return JobSpec(name=name, summary=summary.strip(), params=params, slots=slots,
                   outputs=outputs, template=compile_template(template_text,
                                                              template_path),
                   template_path=template_path, yaml_path=yaml_path,
                   btf=_parse_btf(data.get("btf", []), yaml_path, line_of(data, "btf")))


def _parse_btf(paths: Any, path: str, line: int) -> list:
    """`btf:` lists struct member paths whose offsets the agent reads from BTF."""
    ok = isinstance(paths, list) and all(
        isinstance(p, str) and _BTF_PATH.fullmatch(p) for p in paths)
    return _want(paths, ok, "btf must be a list of struct member paths like "
                 "task_struct.real_parent", path, line)


ALIAS_FILE = "alias.yaml"


def load_job_dir(job_dir: Path) -> JobSpec:
    """Load and validate one job folder (job.yaml + program.bpf.c)."""
    yaml_path, c_path = job_dir / JOB_FILE, job_dir / TEMPLATE_FILE
    data = load_file(yaml_path)
    try:
        text = c_path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(f"cannot read the job's C template: {err}",
                         str(c_path)) from None
    return parse_job_spec(job_dir.name, data, str(yaml_path), text, str(c_path))


class Catalog:
    """The set of jobs found in one or more directories of job folders."""

    def __init__(self, dirs: list[Path]):
        self.dirs = [Path(d) for d in dirs]
        self._found = self._discover()
        self._loaded: dict[str, JobSpec] = {}

    @classmethod
    def default(cls) -> Catalog:
        """The built-in jobs: the wheel's packaged copy, else the checkout's bpf/."""
        package = Path(fleet.__file__).parent
        installed = package / "_data" / "bpf"
        return cls([installed if installed.is_dir() else package.parent / "bpf"])

    def _discover(self) -> dict[str, Path]:
        found: dict[str, Path] = {}
        for base in self.dirs:
            if not base.is_dir():
                continue
            for job_dir in sorted(base.iterdir()):
                # Earlier dirs win, so a user dir listed first can override a job.
                if (_JOB_NAME.fullmatch(job_dir.name) and job_dir.name not in found
                        and ((job_dir / JOB_FILE).is_file()
                             or (job_dir / ALIAS_FILE).is_file())):
                    found[job_dir.name] = job_dir
        return found

    def names(self) -> list[str]:
        """Names of all jobs found, sorted."""
        return sorted(self._found)

    def get(self, name: str) -> JobSpec:
        """Load a job by name; an unknown name lists the known ones."""
        if name not in self._found:
            close = difflib.get_close_matches(str(name), self.names(), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            known = ", ".join(self.names()) or "none"
            raise InputError(f"unknown job {name!r}{hint}; known jobs: {known}")
        if name not in self._loaded:
            job_dir = self._found[name]
            if (job_dir / ALIAS_FILE).is_file():
                self._loaded[name] = self._load_alias(job_dir)
            else:
                self._loaded[name] = load_job_dir(job_dir)
        return self._loaded[name]

    def _load_alias(self, job_dir: Path) -> JobSpec:
        """An alias (ext4slower -> fsslower) is another job with other defaults."""
        path = str(job_dir / ALIAS_FILE)
        data = load_file(path)
        check_keys(data, {"alias_of": True, "summary": True, "defaults": False},
                   "alias.yaml", path)
        target = data["alias_of"]
        _want(target, isinstance(target, str) and target != job_dir.name
              and target in self._found
              and not (self._found[target] / ALIAS_FILE).is_file(),
              "alias_of must name a job folder of the catalog", path,
              line_of(data, "alias_of"))
        base = self.get(target)
        defaults = base.check_params(data.get("defaults") or {}, path,
                                     line_of(data, "defaults"))
        params = {k: dataclasses.replace(p, default=defaults[k])
                  for k, p in base.params.items()}
        return dataclasses.replace(base, name=job_dir.name, params=params,
                                   summary=str(data["summary"]).strip())

    def render_text(self, name: str, params: dict | None = None) -> str:
        """Render a job's C for `fleet render`; values may be CLI strings."""
        spec = self.get(name)
        typed = {k: spec.params[k].from_cli(v)
                 if isinstance(v, str) and k in spec.params else v
                 for k, v in (params or {}).items()}
        return spec.render(typed, name).source
