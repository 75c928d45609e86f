"""The job catalog: finds bpf/<name>/ folders, validates job.yaml, renders the C.

Parsing job.yaml's parts lives in ``fleet.jobyaml``; its names are re-exported.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import re
from pathlib import Path
from typing import Any

import jinja2

import fleet

from . import jobopts
from .errors import InputError
from .jobyaml import (  # noqa: F401  (re-exported: fleet.catalog's old surface)
    _BTF_PATH,
    _COLUMN_KEYS,
    _IDENT,
    _JOB_KEYS,
    _KIND_ONLY,
    _OUTPUT_KEYS,
    _SLOT_KEYS,
    _TARGETS,
    HIST_SCALES,
    OUTPUT_KINDS,
    POINT_KINDS,
    Slot,
    _ident,
    _nonempty_list,
    _optional_str,
    _parse_btf,
    _parse_columns,
    _parse_decode,
    _parse_output,
    _parse_point,
    _parse_slot,
    _suggest,
    _unique,
    _want,
    check_keys,
    check_when,
)
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
from .yamlsrc import line_of, load_file

JOB_FILE, TEMPLATE_FILE = "job.yaml", "program.bpf.c"
_JOB_NAME = re.compile(r"[a-z0-9][a-z0-9_-]*")


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

    def __post_init__(self) -> None:
        self.params = jobopts.with_implicit_params(self.params, self.outputs)

    def check_params(self, values: Any, path: str | None = None,
                     line: int | None = None) -> dict:
        """Validate user values (YAML-typed) and fill in defaults."""
        checked = validate_params(self.params, values, self.name, path, line)
        jobopts.check_params(checked, self.outputs, self.name, path, line)
        return checked

    def cli_params(self, texts: dict[str, str]) -> dict:
        """Validate `--param k=v` strings, converting each by its declared type."""
        return cli_params(self.params, texts, self.name)

    def render(self, params: dict, job_id: str) -> RenderedJob:
        """Render the C, attach slots and outputs for the given param values."""
        values = self.check_params(params)
        source = self._render_source(values)
        outputs = [_render_output(o, values, self.yaml_path) for o in self.outputs]
        jobopts.apply_params(outputs, values)
        return RenderedJob(
            id=job_id, job=self.name, params=dict(values), source=source,
            attach=self._render_attach(values, source),
            resolve=self._resolve(values),
            outputs=outputs,
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
