"""What history, diff, export and schedule do, and what run does after a run."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path

from rich.console import Console

from fleet import schedule as sched
from fleet.diff import (
    Thresholds,
    baseline_record,
    diff_exit_code,
    diff_folded,
    diff_runs,
    fleet_stacks,
)
from fleet.errors import FleetError, InputError
from fleet.export.openmetrics import (
    run_families,
    to_openmetrics,
    to_prometheus,
    write_textfile,
)
from fleet.flamebaseline import redraw_with_baseline
from fleet.history import EXIT_NOT_RECORDED, History, default_path
from fleet.report.diffview import render_diff, sweep_line
from fleet.report.historyview import render_record, render_runs
from fleet.results import EXIT_INTERRUPTED
from fleet.runrecord import content_hash, from_results
from fleet.runref import load_record

_AGE_UNITS = {"d": 86400, "w": 7 * 86400}


def history_path(args) -> Path | None:
    """--no-history: None; else --history, $FLEET_HISTORY or the XDG default."""
    if getattr(args, "no_history", False):
        return None
    return Path(args.history) if getattr(args, "history", None) else default_path()


def _print(text: str) -> None:
    sys.stdout.write(text)


def _dump(value) -> None:
    json.dump(value, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")


# ---------------------------------------------------------------------------
# after fleet run / fleet trace


def _inventory_text(sources: list[str] | None) -> str | None:
    """The -i sources as one text, paths made absolute (host lists as given)."""
    if not sources:
        return None
    return ",".join(os.path.abspath(s) if os.path.exists(s) else s for s in sources)


def after_run(results: Mapping, code: int, playbook, args, err: Console) -> int:
    """Record the run, write its textfile, print the sweep line, draw the
    differential flame graph into report.html; the exit code.

    Failing here never loses the run: its folder is already written. The run's
    own exit code stands when it is not 0; else EXIT_NOT_RECORDED says that
    recording or exporting failed.
    """
    inventory = _inventory_text(args.inventory)
    described = {"job": [(j.job, j.params) for j in playbook.jobs],
                 "hosts": playbook.hosts, "duration": playbook.duration}
    record = from_results(results, inventory,
                          content_hash(str(playbook.path), described))
    failed = False
    if getattr(args, "textfile_dir", None):
        try:
            write_textfile(record, args.textfile_dir)
        except OSError as error:
            err.print(f"fleet: textfile not written: {error}", highlight=False)
            failed = True
    path = history_path(args)
    if path is not None:
        try:
            _record(record, path, err)
        except (FleetError, OSError) as error:
            err.print(f"fleet: run not recorded in the history: {error}. Its "
                      f"results are in {record['run']['run_dir']}/", markup=False,
                      highlight=False, soft_wrap=True)
            failed = True
        else:
            redraw_with_baseline(results, path, err)
    return code or (EXIT_NOT_RECORDED if failed else 0)


def _record(record: Mapping, path: Path, err: Console) -> None:
    """Record a run; print how it compares with the previous run of its playbook."""
    with History(path) as history:
        history.record(record)
        run = record["run"]
        if run.get("exit_code") == EXIT_INTERRUPTED:
            return  # a cut-short window says nothing about the fleet
        previous = history.runs(playbook=run["playbook"], before_ns=run["started_ns"],
                                limit=1)
        if previous:
            before = history.load(previous[0]["id"], with_stacks=False)
            err.print(sweep_line(diff_runs(before, record)), markup=False,
                      highlight=False)


# ---------------------------------------------------------------------------
# fleet history


def cmd_history(args, err: Console) -> int:
    """fleet history [show RUN | prune ...]."""
    if args.history_command == "show":
        return _history_show(args)
    if args.history_command == "prune":
        return _history_prune(args, err)
    if args.limit < 1:
        raise InputError(f"--limit must be at least 1, got {args.limit}")
    path = history_path(args)
    if not path.exists():
        runs = []
    else:
        with History(path) as history:
            runs = history.runs(args.playbook, args.host, args.limit)
    if args.json:
        _dump([{k: v for k, v in run.items() if k != "row"} for run in runs])
    else:
        _print(render_runs(runs))
    return 0


def _history_show(args) -> int:
    record = load_record(args.run, history_path(args), with_stacks=False)
    if args.json:
        _dump(record)
    else:
        _print(render_record(record))
    return 0


def prune_age(text: str) -> float:
    """--older-than: 30d, 2w, or a duration like 12h."""
    text = text.strip()
    if text[-1:] in _AGE_UNITS and text[:-1].replace(".", "", 1).isdigit():
        return float(text[:-1]) * _AGE_UNITS[text[-1]]
    from fleet.playbook import parse_duration

    return parse_duration(text, what="--older-than")


def _history_prune(args, err: Console) -> int:
    if args.keep is not None and args.keep < 1:
        raise InputError(f"--keep must be at least 1, got {args.keep}")
    age = prune_age(args.older_than) if args.older_than else None
    with History(history_path(args), create=False) as history:
        gone = history.prune(keep=args.keep, older_than_s=age)
    err.print(f"pruned {gone} run(s) from {history.path}", highlight=False,
              soft_wrap=True)
    return 0


# ---------------------------------------------------------------------------
# fleet diff


def cmd_diff(args, err: Console) -> int:
    """fleet diff [A] [B] [--baseline K]."""
    thresholds = _thresholds(args)
    path = history_path(args)
    if args.baseline is not None:
        record_a, record_b = _baseline_sides(args, path)
    else:
        record_a, record_b = _two_sides(args, path)
    diff = diff_runs(record_a, record_b, thresholds)
    if args.folded:
        _write_folded(record_a, record_b, Path(args.folded), err)
    if args.json:
        _dump(diff)
    else:
        _print(render_diff(diff))
    return diff_exit_code(diff)


def _thresholds(args) -> Thresholds:
    if args.threshold_slots < 1:
        raise InputError(f"--threshold-slots must be at least 1, "
                         f"got {args.threshold_slots}")
    if args.min_count < 1:
        raise InputError(f"--min-count must be at least 1, got {args.min_count}")
    return Thresholds(args.threshold_slots, args.min_count)


def _two_sides(args, path: Path | None) -> tuple[dict, dict]:
    """A and B from 0, 1 or 2 RUN arguments."""
    runs = list(args.runs)
    if len(runs) > 2:
        raise InputError(f"fleet diff takes at most two runs (A B), got {len(runs)}")
    record_b = load_record(runs[1] if len(runs) == 2 else "last", path, args.playbook)
    if runs:
        return load_record(runs[0], path, args.playbook), record_b
    earlier = _earlier(record_b, path, 1)
    return load_record(earlier[0]["id"], path), record_b


def _earlier(record: Mapping, path: Path | None, k: int) -> list[dict]:
    """The k runs of the record's playbook before it, newest first."""
    run = record["run"]
    if path is None or not path.exists():
        raise InputError("no history to find earlier runs in; give two runs")
    with History(path) as history:
        runs = history.runs(playbook=run["playbook"], before_ns=run["started_ns"],
                            limit=k)
    if not runs:
        raise InputError(f"no run of playbook {run['playbook']!r} before "
                         f"{run['id']} in {path}: nothing to compare with")
    return runs


def _baseline_sides(args, path: Path | None) -> tuple[dict, dict]:
    """B, and the median of the K runs before it."""
    if args.baseline < 1:
        raise InputError(f"--baseline must be at least 1, got {args.baseline}")
    if len(args.runs) > 1:
        raise InputError("with --baseline, fleet diff takes one run (B)")
    record_b = load_record(args.runs[0] if args.runs else "last", path, args.playbook)
    earlier = _earlier(record_b, path, args.baseline)
    return baseline_record([load_record(r["id"], path) for r in earlier]), record_b


def _write_folded(record_a: Mapping, record_b: Mapping, out: Path,
                  err: Console) -> None:
    """DIR/<job>.diff.folded for every stacks job both sides have."""
    jobs_a = {j["name"]: j for j in record_a["jobs"] if j["kind"] == "stacks"}
    out.mkdir(parents=True, exist_ok=True)
    for job in record_b["jobs"]:
        if job["name"] in jobs_a:
            lines = diff_folded(fleet_stacks(jobs_a[job["name"]]), fleet_stacks(job))
            path = out / f"{job['name']}.diff.folded"
            path.write_text("".join(line + "\n" for line in lines))
            err.print(f"wrote {path}", highlight=False, soft_wrap=True)


# ---------------------------------------------------------------------------
# fleet export openmetrics


def cmd_export(args, err: Console) -> int:
    """fleet export openmetrics RUN."""
    record = load_record(args.run, history_path(args), with_stacks=False)
    families = run_families(record)
    text = to_openmetrics(families) if args.format == "openmetrics" \
        else to_prometheus(families)
    if args.output:
        Path(args.output).write_text(text)
    else:
        _print(text)
    return 0


# ---------------------------------------------------------------------------
# fleet schedule


def cmd_schedule(args, err: Console) -> int:
    """fleet schedule PLAYBOOK --every P | --list | --remove NAME."""
    if args.list:
        return _schedule_list(args)
    if args.remove:
        for path in sched.remove_units(args.remove, args.unit_dir):
            err.print(f"removed {path}", highlight=False, soft_wrap=True)
        err.print("then: systemctl daemon-reload", highlight=False)
        return 0
    if not args.playbook or not args.every:
        raise InputError("fleet schedule needs a PLAYBOOK and --every PERIOD "
                         "(or --list, or --remove NAME)")
    schedule = _schedule(args)
    if args.cron:
        log = os.path.join(os.path.abspath(args.runs), f"{schedule.name}.cron.log")
        _print(sched.cron_line(schedule, log) + "\n")
        return 0
    for path in sched.install_units(schedule, args.unit_dir):
        err.print(f"wrote {path}", highlight=False, soft_wrap=True)
    _print(f"systemctl daemon-reload && systemctl enable --now {schedule.name}.timer\n")
    return 0


def _schedule(args) -> sched.Schedule:
    """The Schedule of the command line; the playbook is loaded to check it."""
    from fleet.catalog import Catalog
    from fleet.playbook import load_playbook, parse_duration

    playbook = load_playbook(Path(args.playbook), Catalog.default())
    delay = None
    if args.random_delay:
        delay = int(parse_duration(args.random_delay, what="--random-delay"))
    return sched.Schedule(
        name=sched.unit_name(playbook.name), every=args.every,
        command=sched.fleet_command() + _run_args(args), playbook=playbook.name,
        nice=args.nice, random_delay_s=delay, user=args.user)


def _run_args(args) -> list[str]:
    """The `fleet run` arguments of a scheduled sweep, every path absolute."""
    out = ["run", os.path.abspath(args.playbook)]
    if args.inventory:
        inv = args.inventory
        out += ["-i", os.path.abspath(inv) if os.path.exists(inv) else inv]
    for flag, value in (("-l", args.limit), ("-f", args.forks), ("-d", args.duration)):
        if value is not None:
            out += [flag, str(value)]
    if args.known_hosts:
        out += ["--known-hosts", os.path.abspath(args.known_hosts)]
    out += ["--runs", os.path.abspath(args.runs),
            "--history", os.path.abspath(history_path(args))]
    if not args.no_textfile:
        out += ["--textfile-dir", os.path.abspath(args.textfile_dir)]
    return out


def _schedule_list(args) -> int:
    units = sched.installed_units(args.unit_dir)
    if not units:
        _print(f"no fleet sweeps in {args.unit_dir}\n")
    for unit in units:
        _print(f"{unit['name']:<28} every {unit['every'] or '?':<6} "
               f"{unit['playbook'] or ''}\n")
    return 0
