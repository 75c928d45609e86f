"""One playbook run as a library call: plan (no network), execute, write results.

The CLI is a thin shell over ``plan_run`` and ``execute``; tests and benchmarks
call them directly.
"""

from __future__ import annotations

import asyncio
import re
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import __version__
from .bundle import Bundle, build_bundle
from .catalog import Catalog
from .inventory import Inventory, load_inventory
from .playbook import Playbook
from .results import EXIT_FAILED, EXIT_OK, build_results, exit_code
from .runfolder import RunFolder, interrupts_deferred, run_record
from .runner import Progress, Runner, RunOptions
from .transport import check_hosts
from .transport.base import TransportOptions


@dataclass
class RunPlan:
    """Everything decided before any host is contacted."""

    playbook: Playbook
    hosts: list
    jobs: list
    limit: str | None
    options: RunOptions
    bundle: Bundle
    warnings: list[str] = field(default_factory=list)  # e.g. unmatched patterns
    folder: RunFolder | None = None  # set when the run folder is made


def run_dir_for(runs_root: Path, playbook_name: str) -> Path:
    """A fresh run folder: runs/<UTC timestamp>-<playbook slug>/."""
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    slug = re.sub(r"[^A-Za-z0-9]+", "-", playbook_name).strip("-").lower() or "run"
    path = runs_root / f"{stamp}-{slug}"
    n = 1
    while path.exists():
        n += 1
        path = runs_root / f"{stamp}-{slug}-{n}"
    return path


def plan_run(
    playbook: Playbook,
    catalog: Catalog,
    inventory: Inventory | str | Path | list[str] | None = None,
    limit: str | None = None,
    runs_root: Path = Path("runs"),
    known_hosts: str | None = None,
    connect_timeout: float | None = None,
    transport: TransportOptions | None = None,
) -> RunPlan:
    """Load inventory, pick hosts, render jobs; bad input raises InputError.

    ``inventory`` is a loaded Inventory or its sources; ``transport``, when
    given, replaces the options known_hosts and connect_timeout build.
    Every host's SSH and become settings are resolved here too, so a missing
    key file stops the run before any host is contacted.
    """
    inv = inventory if isinstance(inventory, Inventory) else load_inventory(inventory)
    hosts, warnings = inv.target(playbook.hosts, limit)
    jobs = playbook.render(catalog)
    options = RunOptions(
        duration_s=playbook.duration,
        run_dir=run_dir_for(Path(runs_root), playbook.name),
        forks=playbook.forks,
        ready_timeout_s=playbook.ready_timeout,
        transport=transport or TransportOptions(
            known_hosts=known_hosts, connect_timeout=connect_timeout
        ),
    )
    if playbook.keepalive is not None:
        options.transport.keepalive_s = playbook.keepalive
    check_hosts(hosts, options.transport)
    return RunPlan(playbook, hosts, jobs, limit, options, build_bundle(), warnings)


def _job_meta(job) -> dict:
    """What the results need to know about a rendered job."""
    return {
        "id": job.id,
        "job": job.job,
        "params": job.params,
        "summary": job.summary,
        "outputs": job.outputs,
    }


def _run_meta(plan: RunPlan, started_ns: int) -> dict:
    """The run's identity and options, as results.json and run.json keep them."""
    return {
        "id": plan.options.run_dir.name,
        "dir": str(plan.options.run_dir),
        "playbook": {
            "name": plan.playbook.name,
            "path": str(plan.playbook.path),
            "hosts": plan.playbook.hosts,
        },
        "limit": plan.limit,
        "forks": plan.options.forks,
        "duration_s": plan.options.duration_s,
        "started_ns": started_ns,
        "fleet_version": __version__,
    }


def _open_folder(plan: RunPlan, meta: dict) -> RunFolder:
    """Create the run folder (or its fallback) with run.json; point the plan at it."""
    folder = RunFolder(plan.options.run_dir, meta["id"])
    jobs = [_job_meta(j) for j in plan.jobs]
    folder.create(run_record(meta, jobs, plan.hosts))
    plan.options.run_dir = folder.path
    plan.folder = folder
    meta["dir"] = str(folder.path)
    return folder


async def execute_async(
    plan: RunPlan, progress: Progress | None = None
) -> tuple[dict, int]:
    """Run the plan on every host; write the run folder; return (results, exit code).

    A run folder that cannot be written sends the files to the fallback
    (``plan.folder.problem`` says why) and makes the exit code at least 2.
    Ctrl-C while the files are written waits for them, then stops the CLI.
    """
    meta = _run_meta(plan, time.time_ns())
    folder = _open_folder(plan, meta)
    runner = Runner(plan.hosts, plan.jobs, plan.options, plan.bundle, progress)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, runner.interrupt)
    try:
        host_raws = await runner.run()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
    with interrupts_deferred() as pending:
        meta.update(ended_ns=time.time_ns(), start_at_ns=runner.start_at_ns,
                    interrupted=runner.interrupted)
        results = build_results(meta, [_job_meta(j) for j in plan.jobs], host_raws)
        folder.write(results)
        plan.options.run_dir = folder.path
    if pending:
        raise KeyboardInterrupt(f"results saved in {folder.path}/")
    code = exit_code(host_raws, runner.interrupted)
    if folder.problem and code == EXIT_OK:
        code = EXIT_FAILED
    return results, code


def execute(plan: RunPlan, progress: Progress | None = None) -> tuple[dict, int]:
    """Synchronous wrapper of execute_async."""
    return asyncio.run(execute_async(plan, progress))


async def check_async(
    plan: RunPlan, progress: Progress | None = None
) -> tuple[list, int]:
    """Preflight: connect, push, compile and attach every job, open no window."""
    plan.options.check_only = True
    _open_folder(plan, _run_meta(plan, time.time_ns()))
    runner = Runner(plan.hosts, plan.jobs, plan.options, plan.bundle, progress)
    host_raws = await runner.run()
    return host_raws, exit_code(host_raws, False)


def check(plan: RunPlan, progress: Progress | None = None) -> tuple[list, int]:
    """Synchronous wrapper of check_async: (per-host raw results, exit code)."""
    return asyncio.run(check_async(plan, progress))
