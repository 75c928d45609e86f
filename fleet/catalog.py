"""The job catalog: finds bpf/<name>/ folders, loads their jobs, renders the C.

The schema of a job (job.yaml, or a playbook's inline job) is ``fleet.jobspec``;
a ``JobSpec`` is one checked job with its compiled template.
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
from .joboutputs import OUTPUT_KEYS
from .jobspec import (
    DEFAULT_SOURCE,
    JOB_KEYS,
    Program,
    Slot,
    auto_slots,
    finish_point,
    load_program,
    parse_job,
)
from .params import (
    HOST_RESOLVED,
    JINJA_ENV,
    cli_params,
    compile_template,
    error_text,
    render_error,
    template_value,
    validate_params,
)
from .wire import DECODERS
from .yamlcheck import check_keys, want
from .yamlsrc import line_of, load_file

JOB_FILE, TEMPLATE_FILE = "job.yaml", DEFAULT_SOURCE
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
    """A checked job (a job folder or a playbook's own) with its compiled template."""

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
    text_line: int = 0  # YAML line of an inline `text:`'s first line; 0 for a file
    auto_attach: bool = False  # no attach: in the YAML; slots come from the C
    line: int = 0  # the job's line in its YAML (a playbook item's)

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
        outputs = [_render_output(o, values, self.yaml_path) for o in self.outputs
                   if _wanted(o["when"], values, f"output {o['name']!r}",
                              self.yaml_path, line_of(o, "when"))]
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
        """The slots whose `when` holds, rendered; without attach:, found in the C."""
        if not self.auto_attach:
            return [_render_slot(s, values, self.yaml_path) for s in self.slots
                    if _slot_wanted(s, values, self.yaml_path)]
        slots = auto_slots(source)
        if not slots:
            raise InputError(f"job {self.name!r} has no attach: and its C has no "
                             "TRACEPOINT_PROBE(cat, name), RAW_TRACEPOINT_PROBE(name), "
                             "kprobe__NAME or kretprobe__NAME function; add attach:",
                             self.yaml_path, self.line or None)
        return slots

    def _render_source(self, values: dict) -> str:
        context = {k: template_value(self.params[k], v) for k, v in values.items()}
        try:
            return self.template.render(context)
        except Exception as err:  # any failure is a template bug
            raise self.where(render_error(err, self.template_path)) from None

    def where(self, err: InputError) -> InputError:
        """Move an error in inline `text:` to its line in the YAML file."""
        if not self.text_line or err.path != self.template_path:
            return err
        line = self.text_line + (err.line or 1) - 1
        return InputError(f"in text of job {self.name!r}: {err.message}",
                          self.yaml_path, line)

    def _resolve(self, values: dict) -> dict:
        # Only the host knows a disk's dev number or a user's uid; the agent
        # defines FLEET_DEV_<NAME> / FLEET_UID_<NAME> from this entry.
        return {name: {"type": spec.type, "value": values[name]}
                for name, spec in self.params.items()
                if spec.type in HOST_RESOLVED and values[name] is not None}


def build_spec(name: str, data: Any, yaml_path: str, program: Program,
               summary: str, line: int = 0, what: str = "job.yaml",
               extra_keys: dict | None = None) -> JobSpec:
    """A JobSpec from a job mapping (checked by the one schema) and its C."""
    parts = parse_job(data, yaml_path, what, extra_keys)
    spec = JobSpec(
        name=name, summary=parts.summary or summary, params=parts.params,
        slots=parts.slots, outputs=parts.outputs,
        template=None,  # type: ignore[arg-type]  # compiled just below
        template_path=program.template_path, yaml_path=yaml_path, btf=parts.btf,
        source_name=program.source_name, text_line=program.text_line,
        auto_attach=parts.auto_attach, line=line)
    try:
        spec.template = compile_template(program.text, program.template_path)
    except InputError as err:
        raise spec.where(err) from None
    return spec


def _slot_wanted(slot: Slot, values: dict, path: str) -> bool:
    return _wanted(slot.when, values, f"probe {slot.probe!r}", path, slot.line)


def _wanted(when: str | bool, values: dict, what: str, path: str, line: int) -> bool:
    """Does a slot's or output's `when` hold for these param values?"""
    if isinstance(when, bool):
        return when
    try:
        expression = JINJA_ENV.compile_expression(when, undefined_to_none=False)
        return bool(expression(**values))
    except Exception as err:  # any failure is a job.yaml bug
        raise InputError(f"`when: {when}` of {what} failed: {error_text(err)}", path,
                         line) from None


def _render_slot(slot: Slot, values: dict, path: str) -> dict:
    points = [_render_point(p, values, slot, path) for p in slot.points]
    return {"probe": slot.probe, "optional": slot.optional, "points": points}


def _render_point(point: dict, values: dict, slot: Slot, path: str) -> dict:
    """A point for the plan: its target and frequency rendered if they are templates."""
    point = copy.deepcopy(point)
    if point.pop("template", False):
        line = point.pop("line", slot.line)
        point["target"] = _render_text(point["target"], values, "attach target of "
                                       f"probe {slot.probe!r}", path, line)
        point = finish_point(point, path, line)
    if isinstance(point.get("freq"), str):  # perf_event frequency from a param
        text = _render_text(point["freq"], values, f"frequency of probe "
                            f"{slot.probe!r}", path, slot.line)
        want(text, text.isdigit() and int(text) >= 1, f"frequency of probe "
             f"{slot.probe!r} must render to an integer >= 1", path, slot.line)
        point["freq"] = int(text)
    return point


def _render_text(text: str, values: dict, what: str, path: str, line: int) -> str:
    try:
        return JINJA_ENV.from_string(text).render(values).strip()
    except Exception as err:  # any failure is a job.yaml bug
        raise InputError(f"{what}: {error_text(err)}", path, line) from None


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

    result = {key: None for key in OUTPUT_KEYS}
    result.update(decode={}, columns=[])
    result.update(render({k: v for k, v in output.items() if k != "when"},
                         line_of(output)))
    result["columns"] = [
        {"field": c["field"], "unit": c.get("unit")} for c in result["columns"]
        if _wanted(c.get("when", True), values, f"column {c['field']!r}", path,
                   line_of(output, "columns"))]
    if result["kind"] == "histogram":
        result["scale"] = result["scale"] or "log2"
    for field, decoder in result["decode"].items():  # a decoder may be a template
        want(decoder, decoder in DECODERS, f"decoder of field {field!r} of output "
             f"{output['name']!r} must render to one of {', '.join(DECODERS)}", path,
             line_of(output, "decode"))
    if isinstance(result.get("top"), str):  # e.g. top: "{{ top }}" from a param
        try:
            result["top"] = int(result["top"])
        except ValueError:
            result["top"] = None
        want(result["top"], result["top"] is not None and result["top"] >= 1,
              f"top of output {output['name']!r} must render to an integer >= 1",
              path, line_of(output, "top"))
    return result


ALIAS_FILE = "alias.yaml"


def load_job_dir(job_dir: Path) -> JobSpec:
    """Load and check one job folder (job.yaml + program.bpf.c)."""
    yaml_path = str(job_dir / JOB_FILE)
    data = load_file(yaml_path)
    if not isinstance(data, dict):
        check_keys(data, JOB_KEYS, "job.yaml", yaml_path)  # says it must be a mapping
    program = load_program(data, yaml_path, job_dir.name, TEMPLATE_FILE)
    return build_spec(job_dir.name, data, yaml_path, program,
                      f"job {job_dir.name}")


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
        want(target, isinstance(target, str) and target != job_dir.name
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
