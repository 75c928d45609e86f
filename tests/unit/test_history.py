"""Unit tests for fleet.history: record and load, filters, prune, concurrent
writers, migration from schema 1, corrupt, foreign and newer files."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from histrecords import NS, fixture_record, record, renamed

from fleet.history import SCHEMA_VERSION, History, HistoryError, default_path
from fleet.historyschema import MIGRATIONS

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def history(tmp_path):
    with History(tmp_path / "h.sqlite") as opened:
        yield opened


def test_a_recorded_run_loads_back_as_it_was(history):
    rec = fixture_record()
    history.record(rec)
    assert history.load(rec["run"]["id"]) == rec


def test_stacks_are_kept_per_host_and_compressed_apart(history):
    stacks = {"h1": {"main;f;g": 7, "main;h": 3}, "h2": {"main;f": 1}}
    rec = record("r1", 100, {"h1": [0, 5], "h2": [0, 1]}, stacks=stacks)
    history.record(rec)
    assert history.folded_stacks("r1", "prof") == stacks
    assert history.load("r1")["jobs"][2]["hosts"] == {h: {"stacks": s}
                                                       for h, s in stacks.items()}
    light = history.load("r1", with_stacks=False)["jobs"][2]["hosts"]
    assert light == {"h1": {"samples": 10, "distinct": 2},
                     "h2": {"samples": 1, "distinct": 1}}


def test_recording_the_same_run_twice_keeps_one(history):
    rec = record("r1", 100, {"h1": [1]})
    history.record(rec)
    history.record(rec)
    assert [r["id"] for r in history.runs()] == ["r1"]


def test_runs_newest_first_filtered_by_playbook_host_and_limit(history):
    history.record(record("old", 100, {"a": [1]}))
    history.record(record("new", 300, {"b": [1]}))
    history.record(record("other", 200, {"a": [1]}, playbook="disk"))
    assert [r["id"] for r in history.runs()] == ["new", "other", "old"]
    assert [r["id"] for r in history.runs(playbook="sweep")] == ["new", "old"]
    assert [r["id"] for r in history.runs(host="a")] == ["other", "old"]
    assert [r["id"] for r in history.runs(limit=1)] == ["new"]
    assert [r["id"] for r in history.runs(before_ns=300 * NS)] == ["other", "old"]


def test_run_summary_counts_ok_and_failed_hosts(history):
    history.record(record("r", 1, {"a": [1]}, outcomes={"b": "unreachable"}))
    summary = history.runs()[0]
    assert (summary["hosts_ok"], summary["hosts_failed"]) == (1, 1)


def test_prune_keeps_the_newest_n_of_each_playbook(history):
    for i in range(5):
        history.record(record(f"s{i}", 100 + i, {"a": [1]}))
    history.record(record("d0", 50, {"a": [1]}, playbook="disk"))
    assert history.prune(keep=2) == 3
    assert [r["id"] for r in history.runs()] == ["s4", "s3", "d0"]
    # the rows of pruned runs went with them
    assert history.conn.execute("SELECT COUNT(*) FROM series").fetchone()[0] == 6


def test_prune_older_than(history):
    history.record(record("old", 100, {"a": [1]}))
    history.record(record("new", 1000, {"a": [1]}))
    assert history.prune(older_than_s=500, now_ns=1100 * NS) == 1
    assert [r["id"] for r in history.runs()] == ["new"]


def test_the_file_is_in_wal_mode_with_a_busy_timeout(history):
    assert history.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert history.conn.execute("PRAGMA busy_timeout").fetchone()[0] >= 10_000
    assert history.version == SCHEMA_VERSION


WRITER = """
import sys
sys.path[:0] = [sys.argv[3], sys.argv[3] + "/tests"]
from histrecords import record
from fleet.history import History
with History(sys.argv[1]) as history:
    for i in range(25):
        hosts = {f"h{k}": [0, 1, 2, i] for k in range(50)}
        history.record(record(f"{sys.argv[2]}-{i}", i, hosts))
"""


def test_two_processes_recording_at_once_both_record(tmp_path):
    path = tmp_path / "h.sqlite"
    History(path).close()  # created once: the race under test is between records
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, str(path), name,
                                 str(REPO)], stderr=subprocess.PIPE, text=True)
               for name in ("a", "b")]
    for writer in writers:
        _, err = writer.communicate(timeout=120)
        assert writer.returncode == 0, err
    with History(path) as history:
        ids = {r["id"] for r in history.runs()}
    assert ids == {f"{w}-{i}" for w in "ab" for i in range(25)}


def test_two_processes_creating_a_new_file_at_once(tmp_path):
    path = tmp_path / "h.sqlite"
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, str(path), name,
                                 str(REPO)], stderr=subprocess.PIPE, text=True)
               for name in ("a", "b")]
    for writer in writers:
        _, err = writer.communicate(timeout=120)
        assert writer.returncode == 0, err
    with History(path) as history:
        assert len(history.runs()) == 50


def _schema_1_file(path: Path) -> None:
    """A history as fleet's schema 1 wrote it: stacks inside the series JSON."""
    conn = sqlite3.connect(path)
    version, ddl, _ = MIGRATIONS[0]
    conn.executescript("CREATE TABLE schema_version (version INTEGER NOT NULL);"
                       + ddl + f"INSERT INTO schema_version VALUES ({version});")
    conn.execute("INSERT INTO runs (id, run_id, playbook, started_ns, hosts_ok,"
                 " hosts_failed) VALUES (1, 'r1', 'cpu', 5, 1, 0)")
    conn.execute("INSERT INTO hosts VALUES (1, 'h1', 'ok', '', 4.0, 'null', '{}')")
    conn.execute("INSERT INTO jobs VALUES (1, 0, 'profile', 'profile', 'stacks',"
                 " 'samples', NULL, '{}')")
    conn.execute("""INSERT INTO series VALUES (1, 'profile', 'h1', 0,
                 '{"stacks": {"main;work": 9, "main;idle": 1}}')""")
    conn.commit()
    conn.close()


def test_a_schema_1_file_is_migrated_and_keeps_its_stacks(tmp_path):
    path = tmp_path / "h.sqlite"
    _schema_1_file(path)
    with History(path) as history:
        assert history.version == SCHEMA_VERSION == 2
        assert history.folded_stacks("r1", "profile") == {
            "h1": {"main;work": 9, "main;idle": 1}}
        light = history.load("r1", with_stacks=False)
        assert light["jobs"][0]["hosts"]["h1"] == {"samples": 10, "distinct": 2}
        history.record(record("r2", 10, {"h1": [1]}, playbook="cpu"))
        assert [r["id"] for r in history.runs(playbook="cpu")] == ["r2", "r1"]


def test_a_corrupt_file_is_a_clear_error(tmp_path):
    path = tmp_path / "h.sqlite"
    path.write_bytes(os.urandom(8192))
    with pytest.raises(HistoryError) as err:
        History(path)
    assert str(path) in str(err.value)
    assert "not a usable fleet history" in str(err.value)
    assert "--history" in str(err.value)


def test_a_truncated_history_is_a_clear_error(tmp_path):
    path = tmp_path / "h.sqlite"
    with History(path) as history:
        for i in range(30):
            history.record(record(f"r{i}", i, {f"h{k}": [1] * 30 for k in range(40)}))
        history.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    with pytest.raises(HistoryError, match="not a usable fleet history"):
        with History(path) as history:
            history.load("r29")


def test_a_foreign_sqlite_file_is_not_touched(tmp_path):
    path = tmp_path / "other.sqlite"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE photos (id INTEGER)")
    conn.commit()
    conn.close()
    with pytest.raises(HistoryError, match="not a fleet history.*photos"):
        History(path)
    conn = sqlite3.connect(path)
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    assert tables == {"photos"}


def test_a_file_from_a_newer_fleet_is_refused(tmp_path):
    path = tmp_path / "h.sqlite"
    History(path).close()
    conn = sqlite3.connect(path)
    conn.execute("UPDATE schema_version SET version = 99")
    conn.commit()
    conn.close()
    with pytest.raises(HistoryError, match="newer fleet.*schema 99"):
        History(path)


def test_opening_without_create_needs_a_file(tmp_path):
    with pytest.raises(HistoryError, match="no history here yet"):
        History(tmp_path / "none.sqlite", create=False)
    assert not (tmp_path / "none.sqlite").exists()


@pytest.mark.parametrize("environ, expected", [
    ({"FLEET_HISTORY": "/x/h.db"}, "/x/h.db"),
    ({"XDG_DATA_HOME": "/data"}, "/data/fleet/history.sqlite"),
    ({"HOME": "/home/u"}, "/home/u/.local/share/fleet/history.sqlite"),
])
def test_default_path(environ, expected, monkeypatch):
    monkeypatch.setenv("HOME", environ.get("HOME", "/home/u"))
    assert str(default_path(environ)) == expected


def test_renamed_copy_is_another_run(history):
    rec = record("a", 1, {"h": [1]})
    history.record(rec)
    history.record(renamed(rec, "b", 2))
    assert [r["id"] for r in history.runs()] == ["b", "a"]
