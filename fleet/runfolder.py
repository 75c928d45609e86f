"""The run folder: results.json, report.txt, run.json, host logs and event files.

Above results and report in the layering. Results are never lost: a folder
that cannot be written (read-only, a file, a full disk) falls back to
``$TMPDIR/fleet-<run id>/`` and says so; Ctrl-C while the files are written
waits until results.json and report.txt are in place; and the host logs plus
run.json are enough to write results.json again (``fleet report --rebuild``).
"""

from __future__ import annotations

import contextlib
import errno
import json
import signal
import tempfile
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Callable, TextIO

from .atomicfile import atomic_write
from .errors import FleetError, InputError
from .hostfiles import HOSTS_DIR, events_name, log_name, make_private_dir
from .hostrecord import HostRecord, replay_log
from .report.html import render_html
from .report.json import dump_results
from .report.terminal import render_text
from .results import build_results

RUN_RECORD = "run.json"  # what a rebuild needs besides the host logs


class RunFolderError(FleetError):
    """Neither the run folder nor its fallback can be written."""


class RunFolder:
    """Where one run's files go: the asked-for folder, or the fallback."""

    def __init__(self, path: Path, run_id: str):
        self.path = Path(path)
        self.run_id = run_id
        self.problem: str | None = None  # why the asked-for folder was not used

    def create(self, record: Mapping[str, Any]) -> None:
        """Make the folder (0700) and write run.json; fall back if it cannot be."""
        try:
            self._create_at(self.path, record)
        except OSError as err:
            self._fall_back(err, lambda path: self._create_at(path, record))

    @staticmethod
    def _create_at(path: Path, record: Mapping[str, Any]) -> None:
        make_private_dir(path)
        make_private_dir(path / HOSTS_DIR)
        atomic_write(path / RUN_RECORD,
                      lambda out: json.dump(record, out, default=str))

    def write(self, results: dict) -> None:
        """Write results.json, report.txt and folded stacks; fall back on failure."""
        try:
            write_run_folder(results, self.path)
        except OSError as err:
            def write_there(path: Path) -> None:
                make_private_dir(path)
                results["run"]["dir"] = str(path)
                write_run_folder(results, path)

            self._fall_back(err, write_there)

    def _fall_back(self, err: OSError, write: Callable[[Path], None]) -> None:
        """Use $TMPDIR/fleet-<run id>/ instead; say what failed, and where to look."""
        fallback = fallback_dir(self.run_id)
        try:
            write(fallback)
        except OSError as also:
            raise RunFolderError(
                f"cannot write the run folder {self.path} ({err.strerror}) nor "
                f"the fallback {fallback} ({also.strerror})"
            ) from None
        name = errno.errorcode.get(err.errno or 0, "?")
        where = err.filename or self.path
        self.problem = (
            f"cannot write the run folder {self.path} ({where}: {err.strerror}, "
            f"{name}); results are in {fallback}/ instead"
        )
        self.path = fallback


def fallback_dir(run_id: str) -> Path:
    """$TMPDIR/fleet-<run id>/, or a fresh variant of it if that name is taken."""
    base = Path(tempfile.gettempdir()) / f"fleet-{run_id}"
    path, n = base, 1
    while path.exists() and not (path / RUN_RECORD).exists():
        n += 1
        path = base.with_name(f"{base.name}-{n}")
    return path


def write_run_folder(results: Mapping[str, Any], run_dir: Path) -> None:
    """Write results.json (events streamed in), report.txt and report.html."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    atomic_write(run_dir / "results.json", lambda out: dump_results(results, out))
    atomic_write(run_dir / "report.txt", lambda out: out.write(render_text(results)))
    atomic_write(run_dir / "report.html", lambda out: out.write(render_html(results)))
    for entry in results.get("jobs") or []:
        if entry["kind"] == "stacks":
            atomic_write(run_dir / f"{entry['name']}.folded",
                          lambda out, e=entry: write_folded(e, out))


def write_folded(entry: Mapping[str, Any], out: TextIO) -> None:
    """Merged stacks in FlameGraph's folded format: ``frame;frame;frame count``."""
    for row in entry.get("rows") or []:
        out.write(f"{row['key']} {row['total']}\n")


@contextlib.contextmanager
def interrupts_deferred() -> Iterator[list[int]]:
    """Hold SIGINT/SIGTERM while the results are written; yields those that came."""
    pending: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield pending
        return
    signals = (signal.SIGINT, signal.SIGTERM)
    saved = {sig: signal.signal(sig, lambda sig, _: pending.append(sig))
             for sig in signals}
    try:
        yield pending
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)


def run_record(meta: Mapping, jobs: list, hosts: list) -> dict:
    """What run.json holds: the run's meta, job metadata and hosts in order."""
    return {
        "meta": dict(meta),
        "jobs": jobs,
        "hosts": [{"name": h.name, "address": h.address, "log": log_name(h.name)}
                  for h in hosts],
    }


def rebuild(run_dir: str | Path) -> tuple[dict, RunFolder]:
    """Rebuild results.json and report.txt from run.json and the host logs."""
    folder_path = Path(run_dir)
    record = _read_record(folder_path)
    raws, starts = [], []
    for host in record["hosts"]:
        raw, start_at = _replay_host(folder_path, host)
        raws.append(raw)
        starts.append(start_at)
    meta = dict(record["meta"])
    meta.update(
        dir=str(folder_path),
        start_at_ns=next((s for s in starts if s), None),
        ended_ns=_latest_mtime_ns(folder_path),
        interrupted=any(r["outcome"] == "interrupted" for r in raws),
    )
    results = build_results(meta, record["jobs"], raws)
    folder = RunFolder(folder_path, meta.get("id") or folder_path.name)
    folder.write(results)
    return results, folder


def _read_record(run_dir: Path) -> dict:
    """run.json of a run folder; a folder without one is bad input."""
    path = run_dir / RUN_RECORD
    try:
        with open(path, encoding="utf-8") as source:
            record = json.load(source)
    except OSError as err:
        raise InputError(f"not a run folder: cannot read {RUN_RECORD} "
                         f"({err.strerror})", str(run_dir)) from None
    except ValueError as err:
        raise InputError(f"{RUN_RECORD} is not valid JSON: {err}", str(path)) from None
    if not isinstance(record, dict) or not {"meta", "jobs", "hosts"} <= set(record):
        raise InputError("expected meta, jobs and hosts", str(path))
    return record


def _replay_host(run_dir: Path, host: Mapping) -> tuple[dict, int | None]:
    """One host's raw result from its log; a host that never finished is said so."""
    name = host["name"]
    record = HostRecord(name, host.get("address"), log_name(name))

    def events_path(job: str, output: str) -> Path:
        return run_dir / events_name(name, job, output)

    try:
        with open(run_dir / log_name(name), encoding="utf-8", errors="replace") as log:
            start_at = replay_log(record, log, events_path)
    except OSError:
        start_at = None
    if record.outcome is None:
        record.set_outcome("interrupted", "the controller stopped before this host "
                           "finished; rebuilt from its log")
    return record.raw(), start_at


def _latest_mtime_ns(run_dir: Path) -> int | None:
    """When a file of the run last changed (the run's end, as best known)."""
    times = [p.stat().st_mtime_ns for p in (run_dir / HOSTS_DIR).glob("*")]
    return max(times, default=None)


def write_message(folder: RunFolder) -> str:
    """The line naming where the results are."""
    return f"Results in {folder.path}/"
