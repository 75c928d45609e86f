"""Unit tests for `fleet report RUN`: a run rendered again from results.json alone."""

from __future__ import annotations

import json
import time

import pytest
from fleetrun import load_report_fixture

from fleet.cli import main
from fleet.report.progress import LiveProgress
from fleet.results import build_results
from fleet.runfolder import write_run_folder


@pytest.fixture
def run_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    folder = tmp_path / "20261126T144200-disk-latency"
    write_run_folder(build_results(*load_report_fixture()), str(folder))
    yield folder
    monkeypatch.undo()
    time.tzset()


def test_report_prints_the_run_folders_report(run_dir, capsys):
    assert main(["report", str(run_dir)]) == 0
    printed = [line.rstrip() for line in capsys.readouterr().out.splitlines()]
    assert printed == (run_dir / "report.txt").read_text().splitlines()


def test_report_takes_the_results_json_too(run_dir, capsys):
    assert main(["report", str(run_dir / "results.json"), "--events", "2"]) == 0
    assert "first 2 shown" in capsys.readouterr().out


def test_report_recomputes_figures_from_the_hosts(run_dir, capsys):
    path = run_dir / "results.json"
    doc = json.loads(path.read_text())
    latency = doc["jobs"][0]
    latency["hosts"]["db1"]["slots"] = [0] * 5 + [1000]  # an edited host
    del latency["keys"]
    latency["fleet"] = {"slots": [], "count": 0}  # stale fleet figures, ignored
    doc["outcomes"] = {}
    path.write_text(json.dumps(doc))
    assert main(["report", str(run_dir), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    fleet = out["jobs"][0]["fleet"]
    assert fleet["count"] == 1000 + 50 + 40
    assert fleet["slots"][5] == sum(
        h["slots"][5] for h in latency["hosts"].values() if len(h["slots"]) > 5)
    assert fleet["p50"] == 31  # most samples now sit in db1's 16-31 slot
    assert out["outcomes"] == {"ok": 3, "unreachable": 1}


def test_report_html_default_and_named(run_dir, tmp_path, capsys):
    (run_dir / "report.html").unlink()
    assert main(["report", str(run_dir), "--html"]) == 0
    assert (run_dir / "report.html").read_text().startswith("<!doctype html>")
    assert capsys.readouterr().out == ""  # --html alone prints no text report
    target = tmp_path / "x.html"
    assert main(["report", str(run_dir), "--html", str(target), "--text"]) == 0
    assert target.stat().st_size > 10_000
    assert "PLAY RECAP" in capsys.readouterr().out


def test_report_all_hosts_and_sort(run_dir, capsys):
    assert main(["report", str(run_dir), "--sort", "name"]) == 0
    text = capsys.readouterr().out
    assert text.index("\ndb3 ") < text.index("\ndb1 ") < text.index("\ndb2 ")


@pytest.mark.parametrize("args, message", [
    (["report", "/nonexistent/run"], "/nonexistent/run: no results.json here"),
    (["report", "{bad}"], "no results.json here"),
    (["report", "RUN", "--events", "-1"], "--events must be 0 or more"),
    (["report", "RUN", "--sort", "p42"], "invalid choice: 'p42'"),
])
def test_report_bad_input_is_one_paragraph(run_dir, capsys, args, message):
    args = [a.replace("RUN", str(run_dir)).replace("{bad}", str(run_dir / "x"))
            for a in args]
    with pytest.raises(SystemExit) if "--sort" in args else _nothing():
        assert main(args) == 1
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_report_of_a_broken_results_json(run_dir, capsys):
    (run_dir / "results.json").write_text('{"hosts": {}, "jobs": [{"kind": 3}]}')
    assert main(["report", str(run_dir)]) == 1
    err = "".join(capsys.readouterr().err.split())  # rich wraps the long path
    assert f"{run_dir}/results.json:jobs[0]needsanameandakind" in err
    (run_dir / "results.json").write_text(
        '{"hosts": {"a": {}}, "jobs": [{"name": "x", "kind": "events"}]}')
    assert main(["report", str(run_dir)]) == 1
    err = "".join(capsys.readouterr().err.split())
    assert "results.jsondoesnotfollowdocs/results.md(KeyError" in err
    (run_dir / "results.json").write_text("{not json")
    assert main(["report", str(run_dir)]) == 1
    assert "cannot read results: Expecting property name" in capsys.readouterr().err


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_progress_clock_moves_without_events(monkeypatch):
    from rich.console import Console

    now = [100.0]
    monkeypatch.setattr(time, "monotonic", lambda: now[0])
    progress = LiveProgress(Console(width=80), 3, 10)
    for host, phase in (("a", "connect"), ("b", "compile"), ("c", "window")):
        progress(host, phase, "")
    now[0] += 2.5
    assert progress.render().plain == (
        "3 hosts: connecting 1 · compiling 1 · tracing 1 · window  2.5/10s")
    now[0] += 3
    assert progress.render().plain.endswith("window  5.5/10s")
