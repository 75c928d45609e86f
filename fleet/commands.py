"""What each CLI subcommand does, in terms of library calls."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from rich.console import Console

from .catalog import Catalog
from .errors import InputError
from .inventory import format_hosts, load_inventory
from .jobdoc import describe_job
from .play import check, execute, plan_run
from .playbook import (
    Playbook,
    PlaybookJob,
    apply_overrides,
    load_playbook,
    parse_duration,
)
from .pointchoice import apply_point_choices
from .report.check import render_check
from .report.json import dump_results
from .report.progress import LiveProgress
from .report.terminal import render_report


def _stdout_console() -> Console:
    """The report's console: 80 columns unless a terminal says otherwise."""
    return Console(emoji=False, width=80 if not sys.stdout.isatty() else None)


def _plan(playbook: Playbook, catalog: Catalog, args):
    """The run plan from a playbook and the target options of the command line."""
    plan = plan_run(playbook, catalog, args.inventory, args.limit, Path(args.runs),
                    args.known_hosts, args.timeout)
    if args.forks is not None:
        if args.forks < 1:
            raise InputError(f"--forks must be at least 1, got {args.forks}")
        plan.options.forks = args.forks
    apply_point_choices(plan.jobs, args.point)
    if args.ready_timeout is not None:
        plan.options.ready_timeout_s = parse_duration(args.ready_timeout,
                                                      what="--ready-timeout")
    return plan


def _run(playbook: Playbook, catalog: Catalog, args, err: Console) -> int:
    """Plan, execute with live progress, then print the report or the JSON."""
    plan = _plan(playbook, catalog, args)
    err.print(
        f"Tracing {len(plan.hosts)} host(s) for {playbook.duration:g}s with "
        f"{', '.join(j.id for j in plan.jobs)}... Hit Ctrl-C to end.",
        highlight=False,
    )
    with LiveProgress(err, len(plan.hosts), playbook.duration) as progress:
        results, code = execute(plan, progress)
    if args.json:
        dump_results(results, sys.stdout)
        sys.stdout.write("\n")
    else:
        render_report(results, _stdout_console())
    err.print(f"Results in {plan.options.run_dir}/", highlight=False)
    return code


def cmd_run(args, err: Console) -> int:
    """fleet run PLAYBOOK."""
    catalog = Catalog.default()
    playbook = load_playbook(Path(args.playbook), catalog)
    duration = parse_duration(args.duration, "--duration") if args.duration else None
    playbook = apply_overrides(playbook, duration=duration) if duration else playbook
    return _run(playbook, catalog, args, err)


def cmd_trace(args, err: Console) -> int:
    """fleet trace JOB [PATTERN]: one job, no playbook file."""
    catalog = Catalog.default()
    playbook = Playbook.for_job(catalog, args.job, _params(args.param))
    duration = parse_duration(args.duration, "--duration")
    playbook = apply_overrides(playbook, duration=duration)
    playbook.hosts = args.pattern
    return _run(playbook, catalog, args, err)


def cmd_inventory(args, err: Console) -> int:
    """fleet inventory [PATTERN]: the resolved hosts and their vars."""
    inventory = load_inventory(args.inventory)
    hosts = inventory.select(args.pattern, args.limit)
    print(format_hosts(hosts, inventory))
    return 0


def cmd_jobs(args, err: Console) -> int:
    """fleet jobs [NAME]: the catalog, or one job's params, attach points, outputs."""
    catalog = Catalog.default()
    if args.name:
        print(describe_job(catalog.get(args.name)))
    else:
        for name in catalog.names():
            print(f"{name:<14} {catalog.get(name).summary}")
    return 0


def cmd_render(args, err: Console) -> int:
    """fleet render JOB, or fleet render PLAYBOOK [JOB]: the C a host would compile."""
    catalog = Catalog.default()
    path = Path(args.name)
    if path.suffix in (".yaml", ".yml") and path.is_file():
        playbook = load_playbook(path, catalog)
        job = playbook.render_job(catalog, args.job, _params(args.param))
        sys.stdout.write(job.source)
        return 0
    if args.job is not None:
        raise InputError(
            f"fleet render {args.name} {args.job}: the first argument "
            "must be an existing playbook file (.yaml or .yml) when a "
            "job name follows it"
        )
    sys.stdout.write(catalog.render_text(args.name, _params(args.param)))
    return 0


def _params(pairs: list[str]) -> dict[str, str]:
    """Parse repeated --param KEY=VALUE."""
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise InputError(f"--param expects KEY=VALUE, got '{pair}'")
        out[key.strip()] = value
    return out


def _catalog_playbook(catalog: Catalog, pattern: str) -> Playbook:
    """Every catalog job with its default params, for a preflight of the catalog."""
    jobs = [
        PlaybookJob(id=name, job=name, params=catalog.get(name).check_params({}))
        for name in catalog.names()
    ]
    return Playbook(
        path="<catalog>", name="check", hosts=pattern, duration=1.0, jobs=jobs
    )


def cmd_check(args, err: Console) -> int:
    """fleet check [PLAYBOOK]: preflight every job on every host, no window."""
    catalog = Catalog.default()
    if args.playbook:
        playbook = load_playbook(Path(args.playbook), catalog)
    else:
        playbook = _catalog_playbook(catalog, args.pattern)
    plan = _plan(playbook, catalog, args)
    err.print(
        f"Checking {len(plan.jobs)} job(s) on {len(plan.hosts)} host(s)...",
        highlight=False,
    )
    with LiveProgress(err, len(plan.hosts), 0) as progress:
        hosts, code = check(plan, progress)
    if args.json:
        json.dump({"hosts": hosts}, sys.stdout, indent=2, default=str)
        sys.stdout.write("\n")
    else:
        render_check(
            [j.id for j in plan.jobs],
            hosts,
            _stdout_console(),
            code,
        )
    return code
