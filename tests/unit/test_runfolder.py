"""Unit tests for fleet.hostfiles and fleet.runfolder: safe names, private
modes, the fallback folder, deferred Ctrl-C and the rebuild from host logs."""

from __future__ import annotations

import json
import os
import signal
import stat
from pathlib import Path

import pytest
from fleetrun import load_report_fixture

from fleet import wire
from fleet.hostfiles import events_name, file_stem, log_name, open_private
from fleet.hostrecord import HostRecord, logged_event_summary, replay_log
from fleet.results import build_results
from fleet.runfolder import (
    RunFolder,
    interrupts_deferred,
    rebuild,
    run_record,
    write_run_folder,
)

HOSTILE = ["../../../../tmp/x/ESCAPED", "a\x00b", ".", "..", ".hidden", "a/b",
           "tab\there", "new\nline", "%2F", "~", "h" * 400, "", "é", "C:\\x"]


@pytest.mark.parametrize("name", HOSTILE)
def test_file_stems_stay_in_one_folder(tmp_path, name):
    stem = file_stem(name)
    assert "/" not in stem and "\x00" not in stem and not stem.startswith(".")
    assert all(c.isprintable() for c in stem) and len(stem) <= 120
    path = tmp_path / log_name(name)
    path.parent.mkdir(exist_ok=True)
    with open_private(path) as f:
        f.write("x")
    assert path.parent == tmp_path / "hosts"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_file_stems_are_injective():
    names = HOSTILE + ["a%00b", "%2E", "..x", "h" * 399, "h" * 401]
    assert len({file_stem(n) for n in names}) == len(names)
    assert events_name("a", "b.c", "o") != events_name("a.b", "c", "o")


def test_open_private_refuses_a_symlink(tmp_path):
    (tmp_path / "target").write_text("keep")
    (tmp_path / "link").symlink_to(tmp_path / "target")
    with pytest.raises(OSError):
        open_private(tmp_path / "link")
    assert (tmp_path / "target").read_text() == "keep"


class FakeHost:
    def __init__(self, name):
        self.name, self.address = name, "127.0.0.1"


def test_run_folder_is_private(tmp_path):
    folder = RunFolder(tmp_path / "runs" / "r1", "r1")
    folder.create(run_record({"id": "r1"}, [], [FakeHost("h")]))
    assert folder.problem is None
    for path in (folder.path, folder.path / "hosts"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o700
    assert stat.S_IMODE((folder.path / "run.json").stat().st_mode) == 0o600


def test_an_unwritable_folder_falls_back_to_tmpdir(tmp_path, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    import tempfile
    monkeypatch.setattr(tempfile, "tempdir", None)
    (tmp_path / "runs").write_text("a file, not a folder")
    folder = RunFolder(tmp_path / "runs" / "r1", "r1")
    folder.create(run_record({"id": "r1"}, [], []))
    assert folder.path == tmp_path / "tmp" / "fleet-r1"
    assert "ENOTDIR" in folder.problem and str(tmp_path / "runs") in folder.problem
    assert f"results are in {folder.path}/" in folder.problem
    results = build_results(*load_report_fixture())
    folder.write(results)
    assert json.loads((folder.path / "results.json").read_text())["schema"] == 1


def test_ctrl_c_while_writing_waits_for_the_files(tmp_path):
    results = build_results(*load_report_fixture())
    with interrupts_deferred() as pending:
        os.kill(os.getpid(), signal.SIGINT)
        os.kill(os.getpid(), signal.SIGTERM)
        write_run_folder(results, tmp_path)
    assert pending == [signal.SIGINT, signal.SIGTERM]
    assert sorted(os.listdir(tmp_path)) == ["report.html", "report.txt", "results.json"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def logged(lines: list[str]) -> list[str]:
    return [f"+{i:8.3f} {text}" for i, text in enumerate(lines)]


def msg(kind, **fields):
    return json.dumps(wire.message(kind, **fields), separators=(",", ":"))


def test_replay_rebuilds_a_hosts_record(tmp_path):
    events = wire.message("events", job="j", output="e", events=[{"ts_ns": 1}],
                          lost=2)
    lines = logged([
        "# pushed 100 bytes", "# note cached x was empty: pushed again",
        msg("hello", agent=1, facts={"pid": 42}),
        msg("ready", job="j", attach=[], compile_s=0.5, notes=[]),
        "# start_at_ns 1000", logged_event_summary(events),
        msg("hist", job="j", output="h", slots={"": [0, 1]}),
        msg("done", window={"start_ns": 1, "end_ns": 2}, missed={"j": 3},
            peak_rss_kb=9, compile_s=0.5),
        "# outcome ok:", '{"cut off',
    ])
    record = HostRecord("h", "a", "hosts/h.log")
    start = replay_log(record, lines, lambda j, o: tmp_path / f"{j}.{o}")
    raw = record.raw()
    assert start == 1000
    assert (raw["outcome"], raw["bytes_pushed"], raw["facts"]) == ("ok", 100,
                                                                  {"pid": 42})
    assert raw["notes"] == ["cached x was empty: pushed again"]
    assert raw["jobs"]["j"]["status"] == "ok"
    assert raw["jobs"]["j"]["missed_runs"] == 3
    assert raw["outputs"]["j"]["e"] == {"kind": "events", "file": str(tmp_path / "j.e"),
                                        "count": 1, "lost": 2}
    assert raw["outputs"]["j"]["h"]["slots"] == {"": [0, 1]}


def test_rebuild_marks_a_host_without_an_end_as_interrupted(tmp_path):
    folder = RunFolder(tmp_path / "r", "r")
    jobs = [{"id": "j", "job": "j", "params": {}, "summary": "",
             "outputs": [{"name": "e", "kind": "events", "columns": []}]}]
    folder.create(run_record({"id": "r", "playbook": {}}, jobs,
                             [FakeHost("../x"), FakeHost("ok")]))
    (folder.path / log_name("../x")).write_text("\n".join(logged([
        msg("hello", agent=1, facts={"pid": 1})])) + "\n")
    (folder.path / log_name("ok")).write_text("\n".join(logged([
        msg("ready", job="j", attach=[]), "# outcome ok:"])) + "\n")
    results, again = rebuild(folder.path)
    assert again.problem is None
    assert results["hosts"]["../x"]["outcome"] == "interrupted"
    assert results["hosts"]["ok"]["outcome"] == "ok"
    assert json.loads(Path(folder.path / "results.json").read_text())["hosts"].keys() \
        == {"../x", "ok"}
