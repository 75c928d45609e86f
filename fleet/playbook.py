"""Playbooks: which jobs to run, where and for how long; errors name file:line."""

from __future__ import annotations

import dataclasses
import math
import re
from pathlib import Path
from typing import Any

from . import jobopts
from .catalog import Catalog, JobSpec, RenderedJob
from .customjob import CUSTOM_KEYS, custom_spec, is_custom
from .errors import InputError, brief
from .limits import MAX_DURATION_S, MAX_FORKS, check_duration
from .yamlcheck import check_keys
from .yamlsrc import line_of, load_file

# Required keys map to True; the order is the order shown in error messages.
PLAY_KEYS = {"name": False, "hosts": False, "duration": True, "forks": False,
             "ready_timeout": False, "keepalive": False, "jobs": True}
# A catalog item has `job`; a custom item has `source` or `text` and the rest.
JOB_ITEM_KEYS = {"job": False, "name": False, "params": False, "interval": False,
                 **{key: False for key in CUSTOM_KEYS}}
DEFAULT_FORKS = 50
DEFAULT_READY_TIMEOUT = 120.0
AD_HOC_DURATION = 10.0
AD_HOC_PATH = "<command line>"

# Ansible words that mean something else here; a plain did-you-mean misses them.
_ANSIBLE_HINTS = {"tasks": "jobs", "roles": "jobs", "serial": "forks"}
_DURATION_RE = re.compile(r"(\d+(?:\.\d*)?|\.\d+)\s*(ms|s|m|h)?")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}
# Job ids name result files and report sections, so keep them path-safe.
_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


@dataclasses.dataclass
class PlaybookJob:
    """One job of a playbook: its unique id, catalog job name and checked params."""

    id: str
    job: str
    params: dict
    line: int = 0
    interval: float | None = None  # read histograms every this many seconds
    # The spec the params were checked against; custom (inline) jobs will have
    # no catalog entry, so rendering uses this rather than a second lookup.
    spec: JobSpec | None = dataclasses.field(default=None, repr=False, compare=False)


@dataclasses.dataclass
class Playbook:
    """A validated play: host pattern, timing and the jobs to run together."""

    path: str
    name: str
    hosts: str
    duration: float
    forks: int = DEFAULT_FORKS
    ready_timeout: float = DEFAULT_READY_TIMEOUT
    keepalive: float | None = None  # SSH keepalive interval; None: the default
    jobs: list[PlaybookJob] = dataclasses.field(default_factory=list)

    def render(self, catalog: Catalog) -> list[RenderedJob]:
        """Render every job's C, attach slots and outputs, in playbook order."""
        rendered = []
        for job in self.jobs:
            one = (job.spec or catalog.get(job.job)).render(job.params, job.id)
            jobopts.apply_interval(one.outputs, job.interval)
            rendered.append(one)
        return rendered

    def render_job(self, catalog: Catalog, job_id: str | None,
                   texts: dict[str, str]) -> RenderedJob:
        """Render one job by id for `fleet render PLAYBOOK JOB`, `-p` values on top."""
        ids = [job.id for job in self.jobs]
        if job_id is None and len(ids) == 1:
            job_id = ids[0]
        if job_id not in ids:
            what = "say which job" if job_id is None else f"no job {brief(job_id)}"
            raise InputError(f"{what}; its jobs: {', '.join(ids)}", self.path)
        job = self.jobs[ids.index(job_id)]
        spec = job.spec or catalog.get(job.job)
        # An unknown name stays as given; render's check then names the known ones.
        typed = {k: spec.params[k].from_cli(v) if k in spec.params else v
                 for k, v in texts.items()}
        return spec.render({**job.params, **typed}, job.id)

    @classmethod
    def for_job(cls, catalog: Catalog, job: str, params: dict[str, str],
                duration: float = AD_HOC_DURATION,
                interval: Any = None) -> Playbook:
        """Build a one-job playbook for `fleet trace JOB --param k=v` on all hosts."""
        spec = catalog.get(job)
        values = spec.cli_params(params)
        if interval is not None:
            interval = jobopts.check_interval(
                parse_duration(interval, what="--interval"), spec.outputs, job,
                None, None)
        entry = PlaybookJob(id=job, job=job, params=values, spec=spec,
                            interval=interval)
        return cls(path=AD_HOC_PATH, name=f"trace {job}", hosts="all",
                   duration=parse_duration(duration), jobs=[entry])


# The longest window (and any other duration) fleet accepts: one week. A longer
# one is a typo that would trace until Ctrl-C. The CLI's --duration uses it too.
MAX_KEEPALIVE_S = 300.0


def parse_duration(value: Any, path: str | None = None, line: int | None = None,
                   what: str = "duration", maximum: float = MAX_DURATION_S) -> float:
    """Parse 10, 10s, 1.5s, 500ms, 2m or 1h into positive seconds, at most
    maximum (limits.MAX_DURATION_S unless said)."""
    seconds = None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = float(value)
    elif isinstance(value, str) and len(value) <= 40:
        match = _DURATION_RE.fullmatch(value.strip())
        if match:
            seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if seconds is None or not math.isfinite(seconds) or seconds <= 0:
        raise InputError(f"{what} must be a positive number of seconds or a string "
                         f"like 10s, 1.5s, 500ms, 2m, 1h; got {brief(value)}",
                         path, line)
    return check_duration(seconds, value, what, path, line, maximum)


def load_playbook(path: str | Path, catalog: Catalog) -> Playbook:
    """Load and validate a playbook file against the catalog's jobs."""
    where = str(path)
    play = _single_play(load_file(path), where)
    check_keys(play, PLAY_KEYS, "the play", where, _ANSIBLE_HINTS)
    return Playbook(
        path=where,
        name=_play_name(play, where),
        hosts=_hosts(play, where),
        duration=parse_duration(play["duration"], where, line_of(play, "duration")),
        forks=_forks(play.get("forks", DEFAULT_FORKS), where, line_of(play, "forks")),
        ready_timeout=parse_duration(play.get("ready_timeout", DEFAULT_READY_TIMEOUT),
                                     where, line_of(play, "ready_timeout"),
                                     "ready_timeout"),
        keepalive=_keepalive(play, where),
        jobs=_jobs(play, where, catalog),
    )


def _keepalive(play: dict, path: str) -> float | None:
    """The play's SSH keepalive interval, if it sets one."""
    if "keepalive" not in play:
        return None
    return parse_duration(play["keepalive"], path, line_of(play, "keepalive"),
                          "keepalive", MAX_KEEPALIVE_S)


def apply_overrides(playbook: Playbook, duration: Any = None,
                    forks: Any = None) -> Playbook:
    """Return a copy with command-line --duration / --forks applied."""
    changes: dict[str, Any] = {}
    if duration is not None:
        changes["duration"] = parse_duration(duration, what="--duration")
    if forks is not None:
        changes["forks"] = _forks(forks, None, None, "--forks")
    return dataclasses.replace(playbook, **changes)


def _single_play(data: Any, path: str) -> Any:
    """Accept a play mapping, or Ansible's form: a list holding exactly one play."""
    if data is None:
        raise InputError("the playbook is empty; expected a mapping with duration "
                         "and jobs (and usually hosts)", path)
    if isinstance(data, list):
        if len(data) != 1:
            raise InputError(f"a playbook holds exactly one play, this list has "
                             f"{len(data)}; put each play in its own file",
                             path, line_of(data) or None)
        data = data[0]
    if not isinstance(data, dict):
        raise InputError(f"a play must be a mapping with duration and jobs, got "
                         f"{_kind(data)}", path, line_of(data) or 1)
    return data


def _kind(value: Any) -> str:
    names = {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean"}
    for pytype, name in names.items():
        if isinstance(value, pytype):
            return name
    return "null" if value is None else repr(value)


def _play_name(play: dict, path: str) -> str:
    name = play.get("name", Path(path).stem)
    if not isinstance(name, str) or not name.strip():
        raise InputError(f"name must be a non-empty string, got {_kind(name)}",
                         path, line_of(play, "name"))
    return name.strip()


def _hosts(play: dict, path: str) -> str:
    """The host pattern; Ansible's list form [a, b] means the union a:b."""
    hosts = play.get("hosts", "all")
    if isinstance(hosts, list) and hosts and all(isinstance(h, str) for h in hosts):
        hosts = ":".join(h.strip() for h in hosts)
    if not isinstance(hosts, str) or not hosts.strip():
        raise InputError(f"hosts must be a host pattern like 'all' or 'db:!db3', "
                         f"got {_kind(hosts)}", path, line_of(play, "hosts"))
    return hosts.strip()


def _forks(value: Any, path: str | None, line: int | None,
           what: str = "forks") -> int:
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)  # from the command line
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InputError(f"{what} must be an integer >= 1, got {brief(value)}",
                         path, line or None)
    if value > MAX_FORKS:
        raise InputError(f"{what} must be at most {MAX_FORKS}, got {value}",
                         path, line or None)
    return value


def _jobs(play: dict, path: str, catalog: Catalog) -> list[PlaybookJob]:
    items = play["jobs"]
    if not isinstance(items, list) or not items:
        raise InputError("jobs must be a non-empty list of {job: NAME, params: {...}} "
                         f"items, got {_kind(items)}", path, line_of(play, "jobs"))
    jobs = [_job_item(item, path, line_of(items, i), catalog)
            for i, item in enumerate(items)]
    _unique_ids(jobs, path)
    return jobs


def _job_item(item: Any, path: str, line: int, catalog: Catalog) -> PlaybookJob:
    if not isinstance(item, dict):
        raise InputError("each item of jobs must be a mapping like "
                         f"{{job: biolatency, params: {{...}}}}, got {_kind(item)}",
                         path, line)
    check_keys(item, JOB_ITEM_KEYS, "a jobs item", path)
    spec = job_spec_for(item, path, catalog)
    job_id = _job_id(item, spec.name, path)
    # A custom job's `params:` declares its params; their defaults are the values.
    values = None if is_custom(item) else item.get("params")
    params = spec.check_params(values, path, line_of(item, "params", line))
    interval = None
    if "interval" in item:
        where = line_of(item, "interval", line)
        interval = jobopts.check_interval(
            parse_duration(item["interval"], path, where, "interval"),
            spec.outputs, job_id, path, where)
    return PlaybookJob(id=job_id, job=spec.name, params=params, line=line, spec=spec,
                       interval=interval)


def job_spec_for(item: dict, path: str, catalog: Catalog) -> JobSpec:
    """Turn one jobs item into the JobSpec it runs: a catalog job, or its own C."""
    custom = [key for key in CUSTOM_KEYS if key in item]
    if "job" in item and custom:
        raise InputError(f"a jobs item runs either a catalog job (job:) or your own "
                         f"program (source: or text:), not both; remove job: or "
                         f"{', '.join(custom)}", path, line_of(item, custom[0]))
    if custom:
        return custom_spec(item, path)
    if "job" not in item:
        raise InputError("a jobs item needs job: NAME (a catalog job) or source: FILE "
                         "/ text: C (your own program)", path, line_of(item) or None)
    name = item["job"]
    line = line_of(item, "job")
    if not isinstance(name, str):
        raise InputError(f"job must be the name of a job, got {_kind(name)}",
                         path, line)
    try:
        return catalog.get(name)
    except InputError as err:
        if err.path:  # a broken job.yaml: its own file and line say more
            raise
        raise InputError(err.message, path, line) from None


def _job_id(item: dict, default: str, path: str) -> str:
    job_id = item.get("name", default)
    if not isinstance(job_id, str) or not _ID_RE.fullmatch(job_id):
        raise InputError(f"job name {brief(job_id)} must be 1-64 letters, digits, "
                         "'.', '_' "
                         "or '-', starting with a letter or digit (it names results)",
                         path, line_of(item, "name", line_of(item)))
    return job_id


def _unique_ids(jobs: list[PlaybookJob], path: str) -> None:
    seen: dict[str, int] = {}
    for job in jobs:
        if job.id in seen:
            raise InputError(f"job id {job.id!r} is used twice (first on line "
                             f"{seen[job.id]}); give one of them a distinct `name:`",
                             path, job.line)
        seen[job.id] = job.line
