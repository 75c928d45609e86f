"""Run history in SQLite (stdlib sqlite3): record runs, list, load, prune, migrate.

One file holds every recorded run (see runrecord.py for what a run keeps). The
file is opened in WAL mode with a busy timeout, so sweeps finishing at the same
moment all record; every write is one ``BEGIN IMMEDIATE`` transaction. The
schema carries its version in ``schema_version`` and is brought up to date by
the migrations of historyschema.py, in order, when a file is opened.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from fleet.errors import FleetError
from fleet.historyschema import (
    MIGRATIONS,
    SCHEMA_VERSION,
    pack_stacks,
    stack_summary,
    unpack_stacks,
)

__all__ = [
    "BUSY_TIMEOUT_S",
    "EXIT_NOT_RECORDED",
    "SCHEMA_VERSION",
    "History",
    "HistoryError",
    "default_path",
]

# A run that finished and wrote its run folder, but could not be recorded.
EXIT_NOT_RECORDED = 5

# A writer waits this long for another one to finish before giving up: a
# 200-host record takes well under a second, so this is many records' worth.
BUSY_TIMEOUT_S = 30.0


class HistoryError(FleetError):
    """The history file cannot be used: corrupt, foreign, or from a newer fleet."""


def default_path(environ: Mapping[str, str] = os.environ) -> Path:
    """$FLEET_HISTORY, else $XDG_DATA_HOME/fleet/history.sqlite (~/.local/share)."""
    if environ.get("FLEET_HISTORY"):
        return Path(environ["FLEET_HISTORY"])
    data = environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data) / "fleet" / "history.sqlite"


class History:
    """An open history file; use as a context manager or call close()."""

    def __init__(self, path: str | os.PathLike, create: bool = True):
        """Open (and create or migrate) the history at ``path``."""
        self.path = Path(path)
        if not create and not self.path.exists():
            raise HistoryError(f"{self.path}: no history here yet (nothing recorded)")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S,
                                        isolation_level=None)
        except sqlite3.Error as error:
            raise HistoryError(
                f"{self.path}: cannot open the history: {error}") from None
        try:
            self._setup_when_free()
        except sqlite3.DatabaseError as error:
            self.conn.close()
            raise self._unusable(error) from None
        except HistoryError:
            self.conn.close()
            raise

    def __enter__(self) -> History:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Close the database connection."""
        self.conn.close()

    def _unusable(self, error: Exception) -> HistoryError:
        """The error for a file SQLite cannot read (not a database, damaged)."""
        return HistoryError(
            f"{self.path}: not a usable fleet history ({error}); move it away, or "
            "point --history (or FLEET_HISTORY) at another file"
        )

    def _setup_when_free(self) -> None:
        """_setup, retried while another process holds the file.

        Switching a new file to WAL takes an exclusive lock that SQLite does
        not wait for (no busy handler there), so two fleets creating the
        history at the same moment would see "database is locked".
        """
        deadline = time.monotonic() + BUSY_TIMEOUT_S
        while True:
            try:
                return self._setup()
            except sqlite3.OperationalError as error:
                if "locked" not in str(error) or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def _setup(self) -> None:
        """Pragmas, then the schema check and migrations."""
        self.conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        self.conn.execute("PRAGMA foreign_keys = ON")
        if self.conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            self.conn.execute("PRAGMA journal_mode = WAL")
        self.conn.execute("PRAGMA synchronous = NORMAL")
        with self.transaction():
            self._migrate(SCHEMA_VERSION)

    def _migrate(self, target: int) -> None:
        """Bring the schema to version ``target`` (inside a write transaction)."""
        version = self._version()
        if version > SCHEMA_VERSION:
            raise HistoryError(
                f"{self.path}: written by a newer fleet (history schema {version}; "
                f"this fleet knows up to {SCHEMA_VERSION}); upgrade fleet"
            )
        for number, ddl, step in MIGRATIONS:
            if version < number <= target:
                for statement in ddl.split(";"):
                    if statement.strip():
                        self.conn.execute(statement)
                if step is not None:
                    step(self.conn)
                self.conn.execute("DELETE FROM schema_version")
                self.conn.execute("INSERT INTO schema_version VALUES (?)", (number,))
                version = number

    def _version(self) -> int:
        """The file's schema version; 0 for a new, empty file."""
        tables = {row[0] for row in self.conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")}
        if "schema_version" not in tables:
            if tables:
                raise HistoryError(
                    f"{self.path}: an SQLite database, but not a fleet history (it "
                    f"has tables {', '.join(sorted(tables))} and no schema_version); "
                    "point --history (or FLEET_HISTORY) at another file"
                )
            self.conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
            return 0
        row = self.conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
        return int(row[0] or 0)

    @property
    def version(self) -> int:
        """The schema version of the open file."""
        return self._version()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, taken at once so concurrent writers queue."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    def record(self, record: Mapping[str, Any]) -> int:
        """Store one run record (runrecord.py); return its row id.

        Recording a run id that is already there replaces it, so recording a
        run folder twice keeps one copy.
        """
        run, hosts = record["run"], record["hosts"]
        ok = sum(1 for h in hosts.values() if h["outcome"] == "ok")
        try:
            with self.transaction() as conn:
                conn.execute("DELETE FROM runs WHERE run_id = ?", (run["id"],))
                row = conn.execute(
                    "INSERT INTO runs (run_id, playbook, playbook_path, playbook_hash,"
                    " inventory, pattern, limit_pattern, started_ns, ended_ns,"
                    " exit_code, run_dir, fleet_version, hosts_ok, hosts_failed)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (run["id"], run["playbook"], run.get("playbook_path"),
                     run.get("playbook_hash"), run.get("inventory"), run.get("pattern"),
                     run.get("limit"), run["started_ns"], run.get("ended_ns"),
                     run.get("exit_code"), run.get("run_dir"),
                     run.get("fleet_version"), ok, len(hosts) - ok),
                ).lastrowid
                self._insert_hosts(row, hosts)
                self._insert_jobs(row, record["jobs"])
        except sqlite3.DatabaseError as error:
            raise self._unusable(error) from None
        return row

    def _insert_hosts(self, row: int, hosts: Mapping[str, Mapping]) -> None:
        """One row per host of the run."""
        self.conn.executemany(
            "INSERT INTO hosts VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(row, name, h["outcome"], h.get("reason") or "", h.get("window_s"),
              json.dumps(h.get("facts")), json.dumps(h.get("attach") or {}))
             for name, h in hosts.items()],
        )

    def _insert_jobs(self, row: int, jobs: list) -> None:
        """One row per job output, one series row per host, stacks apart."""
        series, stacks = [], []
        for seq, job in enumerate(jobs):
            self.conn.execute(
                "INSERT INTO jobs VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (row, seq, job["name"], job.get("job"), job["kind"], job.get("unit"),
                 job.get("scale"), json.dumps(job.get("params") or {})),
            )
            missed = job.get("missed_runs") or {}
            if job["kind"] == "stacks":
                stacks.append((row, job["name"], pack_stacks(
                    {host: data["stacks"] for host, data in job["hosts"].items()})))
            for host, data in job["hosts"].items():
                if job["kind"] == "stacks":
                    data = stack_summary(data["stacks"])
                series.append((row, job["name"], host, int(missed.get(host, 0)),
                               json.dumps(data, separators=(",", ":"))))
        self.conn.executemany("INSERT INTO series VALUES (?, ?, ?, ?, ?)", series)
        self.conn.executemany("INSERT INTO stacks VALUES (?, ?, ?)", stacks)

    def runs(self, playbook: str | None = None, host: str | None = None,
             limit: int | None = None, before_ns: int | None = None,
             run_id: str | None = None) -> list[dict]:
        """Run summaries, newest first, filtered by playbook, host, start or id."""
        where, args = [], []
        if run_id is not None:
            where.append("run_id = ?")
            args.append(run_id)
        if playbook is not None:
            where.append("playbook = ?")
            args.append(playbook)
        if host is not None:
            where.append("id IN (SELECT run FROM hosts WHERE host = ?)")
            args.append(host)
        if before_ns is not None:
            where.append("started_ns < ?")
            args.append(before_ns)
        sql = ("SELECT id, run_id, playbook, playbook_path, playbook_hash, inventory,"
               " pattern, limit_pattern, started_ns, ended_ns, exit_code, run_dir,"
               " fleet_version, hosts_ok, hosts_failed FROM runs")
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY started_ns DESC, id DESC"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return [_run_summary(row) for row in self._query(sql, args)]

    def _query(self, sql: str, args=()) -> list[tuple]:
        """Run a read query, turning a damaged file into a HistoryError."""
        try:
            return self.conn.execute(sql, args).fetchall()
        except sqlite3.DatabaseError as error:
            raise self._unusable(error) from None

    def find(self, run_id: str) -> dict | None:
        """The summary of one run by its run id, or None."""
        found = self.runs(run_id=run_id)
        return found[0] if found else None

    def load(self, run_id: str, with_stacks: bool = True) -> dict[str, Any]:
        """The full run record of one run (runrecord.py's shape)."""
        summary = self.find(run_id)
        if summary is None:
            raise HistoryError(f"{self.path}: no run {run_id!r} recorded")
        row = summary.pop("row")
        hosts = {
            name: {"outcome": outcome, "reason": reason, "window_s": window_s,
                   "facts": json.loads(facts), "attach": json.loads(attach)}
            for name, outcome, reason, window_s, facts, attach in self._query(
                "SELECT host, outcome, reason, window_s, facts, attach FROM hosts"
                " WHERE run = ?", (row,))
        }
        for key in ("hosts_ok", "hosts_failed"):
            summary.pop(key)
        return {"run": summary, "hosts": hosts, "jobs": self._jobs(row, with_stacks)}

    def _jobs(self, row: int, with_stacks: bool) -> list[dict]:
        """The job records of one run, with their per-host data."""
        jobs = {}
        for name, job, kind, unit, scale, params in self._query(
                "SELECT name, job, kind, unit, scale, params FROM jobs WHERE run = ?"
                " ORDER BY seq", (row,)):
            jobs[name] = {"name": name, "job": job, "kind": kind, "unit": unit,
                          "scale": scale, "params": json.loads(params or "{}"),
                          "hosts": {}, "missed_runs": {}}
        for job, host, missed, data in self._query(
                "SELECT job, host, missed_runs, data FROM series WHERE run = ?",
                (row,)):
            jobs[job]["hosts"][host] = json.loads(data)
            if missed:
                jobs[job]["missed_runs"][host] = missed
        if with_stacks:
            for job, folded in self._query(
                    "SELECT job, folded FROM stacks WHERE run = ?", (row,)):
                for host, stacks in unpack_stacks(folded).items():
                    jobs[job]["hosts"][host] = {"stacks": stacks}
        return list(jobs.values())

    def folded_stacks(self, run_id: str, job: str) -> dict[str, dict[str, int]]:
        """Per host, the folded stacks of one stacks job of a run: {host: {stack: n}}.

        What a differential flame graph needs (see diff.diff_folded).
        """
        rows = self._query(
            "SELECT s.folded FROM stacks s JOIN runs r ON r.id = s.run"
            " WHERE r.run_id = ? AND s.job = ?", (run_id, job))
        return unpack_stacks(rows[0][0]) if rows else {}

    def prune(self, keep: int | None = None, older_than_s: float | None = None,
              now_ns: int | None = None) -> int:
        """Delete runs beyond the newest ``keep`` of each playbook, or older than
        ``older_than_s`` seconds; return how many runs went."""
        now_ns = time.time_ns() if now_ns is None else now_ns
        with self.transaction() as conn:
            before = conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0]
            if keep is not None:
                conn.execute(
                    "DELETE FROM runs WHERE id IN (SELECT id FROM (SELECT id,"
                    " ROW_NUMBER() OVER (PARTITION BY playbook ORDER BY started_ns"
                    " DESC, id DESC) AS n FROM runs) WHERE n > ?)", (keep,))
            if older_than_s is not None:
                cutoff = now_ns - int(older_than_s * 1e9)
                conn.execute("DELETE FROM runs WHERE started_ns < ?", (cutoff,))
            gone = before - conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0]
        if gone:
            self.conn.execute("VACUUM")  # give the space back to the file system
        return gone


_SUMMARY_FIELDS = ("row", "id", "playbook", "playbook_path", "playbook_hash",
                   "inventory", "pattern", "limit", "started_ns", "ended_ns",
                   "exit_code", "run_dir", "fleet_version", "hosts_ok", "hosts_failed")


def _run_summary(row: tuple) -> dict[str, Any]:
    """A runs row as a dict (``row`` is the database's own id, ``id`` the run id)."""
    return dict(zip(_SUMMARY_FIELDS, row))
