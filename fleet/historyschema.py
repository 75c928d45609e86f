"""The history file's schema: its versions, the migrations between them, and how
folded stacks are packed (fleet/history.py applies them when it opens a file).

A migration is (version, DDL, data step or None). A new file runs them all in
order; a file at version N runs those after N. Never edit a released
version's DDL: add a version.
"""

from __future__ import annotations

import json
import sqlite3
import zlib
from collections.abc import Mapping

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "pack_stacks", "stack_summary",
           "unpack_stacks"]

_V1 = """
CREATE TABLE runs (
    id INTEGER PRIMARY KEY,
    run_id TEXT NOT NULL UNIQUE,
    playbook TEXT NOT NULL,
    playbook_path TEXT,
    playbook_hash TEXT,
    inventory TEXT,
    pattern TEXT,
    limit_pattern TEXT,
    started_ns INTEGER NOT NULL,
    ended_ns INTEGER,
    exit_code INTEGER,
    run_dir TEXT,
    fleet_version TEXT,
    hosts_ok INTEGER NOT NULL,
    hosts_failed INTEGER NOT NULL
);
CREATE INDEX runs_by_start ON runs (started_ns);
CREATE TABLE hosts (
    run INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    host TEXT NOT NULL,
    outcome TEXT NOT NULL,
    reason TEXT NOT NULL,
    window_s REAL,
    facts TEXT,
    attach TEXT,
    PRIMARY KEY (run, host)
);
CREATE INDEX hosts_by_name ON hosts (host);
CREATE TABLE jobs (
    run INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    name TEXT NOT NULL,
    job TEXT,
    kind TEXT NOT NULL,
    unit TEXT,
    scale TEXT,
    params TEXT,
    PRIMARY KEY (run, seq)
);
CREATE TABLE series (
    run INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    job TEXT NOT NULL,
    host TEXT NOT NULL,
    missed_runs INTEGER NOT NULL DEFAULT 0,
    data TEXT NOT NULL,
    PRIMARY KEY (run, job, host)
);
"""

# Version 2: folded stacks are most of a profile run's bytes, and most hosts
# share most stacks. They move out of the series' JSON into one compressed
# blob per job and run (each distinct stack once), read only when asked; and
# runs get an index for "the last runs of this playbook".
_V2 = """
CREATE TABLE stacks (
    run INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    job TEXT NOT NULL,
    folded BLOB NOT NULL,
    PRIMARY KEY (run, job)
);
CREATE INDEX runs_by_playbook ON runs (playbook, started_ns);
"""


def _move_stacks_out(conn: sqlite3.Connection) -> None:
    """Version 2's data step: stacks from series JSON into the stacks table."""
    rows = conn.execute(
        "SELECT s.run, s.job, s.host, s.data FROM series s JOIN jobs j"
        " ON j.run = s.run AND j.name = s.job WHERE j.kind = 'stacks'"
    ).fetchall()
    per_job: dict[tuple, dict] = {}
    for run, job, host, data in rows:
        stacks = json.loads(data).get("stacks") or {}
        per_job.setdefault((run, job), {})[host] = stacks
        conn.execute(
            "UPDATE series SET data = ? WHERE run = ? AND job = ? AND host = ?",
            (json.dumps(stack_summary(stacks)), run, job, host))
    for (run, job), hosts in per_job.items():
        conn.execute("INSERT INTO stacks VALUES (?, ?, ?)",
                     (run, job, pack_stacks(hosts)))


# (version, DDL, data step or None), applied in order to reach SCHEMA_VERSION.
MIGRATIONS = ((1, _V1, None), (2, _V2, _move_stacks_out))
SCHEMA_VERSION = MIGRATIONS[-1][0]


def pack_stacks(hosts: Mapping[str, Mapping[str, int]]) -> bytes:
    """Every host's folded stacks of one job, each distinct stack stored once:
    zlib of ``{"stacks": [stack, ...], "hosts": {host: [[index, count], ...]}}``."""
    index: dict[str, int] = {}
    counts = {host: [[index.setdefault(stack, len(index)), n]
                     for stack, n in stacks.items()]
              for host, stacks in hosts.items()}
    text = json.dumps({"stacks": list(index), "hosts": counts}, separators=(",", ":"))
    return zlib.compress(text.encode(), 6)


def unpack_stacks(blob: bytes) -> dict[str, dict[str, int]]:
    """The inverse of pack_stacks: {host: {stack: count}}."""
    packed = json.loads(zlib.decompress(blob))
    stacks = packed["stacks"]
    return {host: {stacks[i]: n for i, n in pairs}
            for host, pairs in packed["hosts"].items()}


def stack_summary(stacks: Mapping[str, int]) -> dict[str, int]:
    """What the series row keeps of a host's stacks: samples and distinct stacks."""
    return {"samples": sum(stacks.values()), "distinct": len(stacks)}
