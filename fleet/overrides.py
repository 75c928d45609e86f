"""``fleet run -p JOB.PARAM=VALUE``: a playbook's job params set on the command line."""

from __future__ import annotations

import dataclasses

from .catalog import Catalog
from .errors import InputError
from .playbook import Playbook, PlaybookJob


def apply_params(playbook: Playbook, catalog: Catalog,
                 texts: dict[str, str]) -> Playbook:
    """A copy of playbook whose jobs take the -p values (typed, then checked)."""
    if not texts:
        return playbook
    per_job: dict[str, dict[str, str]] = {}
    for key, value in texts.items():
        job_id, param = _split_key(playbook, key)
        per_job.setdefault(job_id, {})[param] = value
    jobs = [_with_params(job, catalog, per_job.get(job.id)) for job in playbook.jobs]
    return dataclasses.replace(playbook, jobs=jobs)


def _split_key(playbook: Playbook, key: str) -> tuple[str, str]:
    """``JOB.PARAM`` into its job id and param name; ``PARAM`` for a one-job play."""
    ids = [job.id for job in playbook.jobs]
    job_id, dot, param = key.rpartition(".")
    if not dot:
        if len(ids) != 1:
            raise InputError(f"-p {key}=...: say which job, as -p JOB.{key}=VALUE; "
                             f"the playbook's jobs: {', '.join(ids)}", playbook.path)
        return ids[0], key
    if job_id not in ids:
        raise InputError(f"-p {key}=...: the playbook has no job '{job_id}'; its "
                         f"jobs: {', '.join(ids)}", playbook.path)
    if not param:
        raise InputError(f"-p {key}=...: name a param after '{job_id}.'",
                         playbook.path)
    return job_id, param


def _with_params(job: PlaybookJob, catalog: Catalog,
                 texts: dict[str, str] | None) -> PlaybookJob:
    """The job with its params overridden by command-line texts, checked."""
    if not texts:
        return job
    spec = job.spec or catalog.get(job.job)
    # An unknown name stays as given; the check then names the known ones.
    typed = {k: spec.params[k].from_cli(v) if k in spec.params else v
             for k, v in texts.items()}
    params = spec.check_params({**job.params, **typed}, "-p")
    return dataclasses.replace(job, params=params)
