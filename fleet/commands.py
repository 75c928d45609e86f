"""What each CLI subcommand does, in terms of library calls."""

from __future__ import annotations

import getpass
import json
import sys
from pathlib import Path

from rich.console import Console

from .ansible_config import AnsibleConfig, load_ansible_config
from .catalog import Catalog
from .errors import InputError
from .flamebaseline import DEFAULT_RUNS, load_baseline
from .histcommands import after_run, history_path
from .inventory import Inventory, format_hosts
from .inventory.ansiblejson import dumps, host_vars, inventory_graph, inventory_list
from .jobdoc import describe_job, list_jobs
from .options import forks_for, inventory_for, transport_options
from .overrides import apply_params
from .play import RunPlan, check, execute, plan_run
from .playbook import (
    Playbook,
    PlaybookJob,
    apply_overrides,
    load_playbook,
    parse_duration,
)
from .pointchoice import apply_point_choices
from .report.check import render_check
from .report.flamediff import StackBaseline
from .report.html import render_html
from .report.json import dump_results
from .report.progress import LiveProgress
from .report.terminal import ReportOptions, render_report
from .results import load_run
from .runfolder import rebuild
from .runref import resolve_run


def _stdout_console() -> Console:
    """The report's console: 80 columns unless a terminal says otherwise."""
    return Console(emoji=False, width=80 if not sys.stdout.isatty() else None)


def _ask_become_password() -> str:
    """-K: the sudo password, asked once (a line of stdin when it is no terminal)."""
    if sys.stdin.isatty():
        return getpass.getpass("BECOME password: ")
    line = sys.stdin.readline()
    if not line:
        raise InputError("-K/--ask-become-pass: no password on stdin (empty input)")
    return line.rstrip("\n")


def _warn(err: Console, warnings: list[str]) -> None:
    """Print each warning as its own paragraph on stderr."""
    for warning in warnings:
        err.print(f"fleet: warning: {warning}", markup=False, highlight=False)


def _config(args, err: Console) -> AnsibleConfig:
    """ansible.cfg and the environment, with their warnings (and -v: which file)."""
    config = load_ansible_config()
    _warn(err, config.warnings)
    if args.verbose:
        err.print(f"Using {config.path or 'no'} config file", highlight=False)
    return config


def _inventory(args, config: AnsibleConfig, err: Console) -> Inventory:
    """The command's inventory; says so when it falls back to localhost."""
    inventory = inventory_for(args, config)
    if not inventory.source:
        _warn(err, [note] if (note := config.localhost_note()) else [])
    if args.verbose:
        err.print(f"Inventory: {inventory.source or 'localhost (none given)'}",
                  highlight=False)
    return inventory


def _plan(playbook: Playbook, catalog: Catalog, args, err: Console) -> RunPlan:
    """The run plan from a playbook, the command line, ansible.cfg and env."""
    config = _config(args, err)
    inventory = _inventory(args, config, err)
    plan = plan_run(playbook, catalog, inventory, args.limit, Path(args.runs),
                    transport=transport_options(args, config))
    if getattr(args, "ask_become_pass", False):
        plan.options.transport.become_password = _ask_become_password()
    plan.options.forks = forks_for(args, config, playbook.forks)
    plan.options.fail_on_lost = bool(getattr(args, "fail_on_lost", False))
    warnings = plan.warnings
    if not (getattr(args, "list_hosts", False) or getattr(args, "syntax_check", False)):
        warnings = warnings + [note] if (note := config.host_key_note()) else warnings
    _warn(err, warnings)
    apply_point_choices(plan.jobs, args.point)
    if args.ready_timeout is not None:
        plan.options.ready_timeout_s = args.ready_timeout
    return plan


def _dry(plan: RunPlan, args) -> bool:
    """--list-hosts or --syntax-check: print what was planned; True if so."""
    if args.list_hosts:
        names = [host.name for host in plan.hosts]
        if args.json:
            print(json.dumps({"hosts": names}, indent=2))
        else:
            print("\n".join([f"  hosts ({len(names)}):"] + [f"    {n}" for n in names]))
        return True
    if getattr(args, "syntax_check", False):
        jobs = ", ".join(job.id for job in plan.jobs)
        print(f"playbook: {plan.playbook.path}: syntax ok; {len(plan.jobs)} job(s) "
              f"rendered ({jobs}) for {len(plan.hosts)} host(s); no host contacted")
        return True
    return False


def _run(playbook: Playbook, catalog: Catalog, args, err: Console) -> int:
    """Plan, execute with live progress, then print the report or the JSON."""
    plan = _plan(playbook, catalog, args, err)
    if _dry(plan, args):
        return 0
    err.print(
        f"Tracing {len(plan.hosts)} host(s) for {playbook.duration:g}s with "
        f"{', '.join(j.id for j in plan.jobs)}... Hit Ctrl-C to end.",
        highlight=False,
    )
    try:
        with LiveProgress(err, len(plan.hosts), playbook.duration,
                          args.verbose) as progress:
            plan.options.echo = progress.echo if args.verbose else None
            results, code = execute(plan, progress)
    except KeyboardInterrupt:  # during the write phase: the files are complete
        err.print(f"Results in {plan.options.run_dir}/", highlight=False)
        raise
    _print_results(results, args)
    if plan.folder is not None and plan.folder.problem:
        err.print(f"fleet: {plan.folder.problem}", markup=False, highlight=False)
    err.print(f"Results in {plan.options.run_dir}/", highlight=False)
    return after_run(results, code, playbook, args, err)


def _print_results(results: dict, args) -> None:
    """The report on stdout, or results.json with --json."""
    if args.json:
        dump_results(results, sys.stdout)
        sys.stdout.write("\n")
    else:
        render_report(results, _stdout_console())


def cmd_run(args, err: Console) -> int:
    """fleet run PLAYBOOK."""
    catalog = Catalog.default()
    playbook = load_playbook(Path(args.playbook), catalog)
    duration = parse_duration(args.duration, "--duration") if args.duration else None
    playbook = apply_overrides(playbook, duration=duration) if duration else playbook
    playbook = apply_params(playbook, catalog, _params(args.param))
    return _run(playbook, catalog, args, err)


def cmd_trace(args, err: Console) -> int:
    """fleet trace JOB [PATTERN]: one job, no playbook file."""
    catalog = Catalog.default()
    playbook = Playbook.for_job(catalog, args.job, _params(args.param),
                                interval=args.interval)
    duration = parse_duration(args.duration, "--duration")
    playbook = apply_overrides(playbook, duration=duration)
    playbook.hosts = args.pattern
    return _run(playbook, catalog, args, err)


def cmd_report(args, err: Console) -> int:
    """fleet report RUN: the report again, from results.json alone; with
    --rebuild RUN_DIR, results.json again from the run folder's host logs."""
    if args.rebuild:
        return _rebuild(args, err)
    if args.run is None:
        raise InputError("fleet report: name a RUN, or --rebuild RUN_DIR")
    if args.events < 0:
        raise InputError(f"--events must be 0 or more, got {args.events}")
    if args.baseline is not None and (args.baseline < 1 or args.html is None):
        raise InputError(f"--baseline K is for the HTML report's differential flame "
                         f"graph: give --html and K of 1 or more (got {args.baseline})")
    path, results = load_run(_run_folder(args))
    options = ReportOptions(events=args.events, all_hosts=args.all_hosts,
                            sort=args.sort)
    try:
        return _report(args, path, results, options, err)
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        # A hand-edited file can lack any field; say which, not a traceback.
        raise InputError(f"results.json does not follow docs/results.md "
                         f"({type(error).__name__}: {error})", str(path)) from None


def _report(args, path: Path, results: dict, options: ReportOptions,
            err: Console) -> int:
    """Write and print what `fleet report` was asked for."""
    if args.json:
        dump_results(results, sys.stdout)
    if args.html is not None:
        target = Path(args.html) if args.html else path.parent / "report.html"
        html = render_html(results, _html_baseline(args, results, err))
        try:
            target.write_text(html, encoding="utf-8")
        except OSError as error:
            raise InputError(f"cannot write the HTML report: {error}",
                             str(target)) from None
        err.print(f"HTML report in {target}", highlight=False)
    if args.text or (args.html is None and not args.json):
        render_report(results, _stdout_console(), options)
    return 0


def _html_baseline(args, results: dict, err: Console) -> StackBaseline | None:
    """The flame graphs' baseline from the history; why none, if --baseline asked."""
    baseline = load_baseline(history_path(args), results,
                             args.baseline or DEFAULT_RUNS)
    if args.baseline and (baseline is None or baseline.reason):
        why = baseline.reason if baseline else "the run has no stacks job (profile)"
        _warn(err, [f"--baseline: no differential flame graph: {why}"])
    return baseline


def _run_folder(args) -> str:
    """RUN as a path: a run folder or results.json as given, else a run id,
    `last` or `last~K` looked up in the history."""
    if Path(args.run).exists() or "/" in args.run or args.run.endswith(".json"):
        return args.run
    try:
        ref = resolve_run(args.run, history_path(args))
    except InputError as err:
        raise InputError("no results.json here, and not a run of the history "
                         f"({err.message}); RUN is a run folder, its results.json, "
                         "a run id, 'last' or 'last~K'", args.run) from None
    if not ref.run_dir:
        raise InputError(f"RUN {args.run!r}: the history has no run folder for it")
    return ref.run_dir


def _rebuild(args, err: Console) -> int:
    """fleet report --rebuild RUN_DIR (after a controller crash)."""
    results, folder = rebuild(args.rebuild)
    _print_results(results, args)
    if folder.problem:
        err.print(f"fleet: {folder.problem}", markup=False, highlight=False)
        return 2
    err.print(f"Rebuilt {folder.path}/results.json and report.txt", highlight=False)
    return 0


def cmd_inventory(args, err: Console) -> int:
    """fleet inventory [PATTERN]: hosts and vars, or ansible-inventory's output."""
    inventory = _inventory(args, _config(args, err), err)
    if args.graph:
        print(inventory_graph(inventory, args.pattern or "all"))
    elif args.host:
        print(dumps(host_vars(inventory, args.host)))
    elif args.list:
        print(dumps(inventory_list(inventory, _listed(inventory, args, err))))
    else:
        hosts, warnings = inventory.target(args.pattern or "all", args.limit)
        _warn(err, warnings)
        print(format_hosts(hosts, inventory))
    return 0


def _listed(inventory: Inventory, args, err: Console) -> list[str]:
    """Names of the hosts --list shows: all, or those a pattern or -l keep."""
    if args.pattern is None and args.limit is None:
        return list(inventory.hosts)
    hosts, warnings = inventory.target(args.pattern or "all", args.limit, False)
    _warn(err, warnings)
    return [host.name for host in hosts if host.name in inventory.hosts]


def cmd_jobs(args, err: Console) -> int:
    """fleet jobs [NAME]: the catalog, or one job's params, attach points, outputs."""
    catalog = Catalog.default()
    print(describe_job(catalog.get(args.name)) if args.name else list_jobs(catalog))
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
    plan = _plan(playbook, catalog, args, err)
    err.print(
        f"Checking {len(plan.jobs)} job(s) on {len(plan.hosts)} host(s)...",
        highlight=False,
    )
    with LiveProgress(err, len(plan.hosts), 0, args.verbose) as progress:
        plan.options.echo = progress.echo if args.verbose else None
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
