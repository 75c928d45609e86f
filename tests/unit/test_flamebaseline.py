"""The flame graphs' baseline from a real history file (fleet.flamebaseline),
through `fleet report --html --baseline K` and after `fleet run` records a run."""

from __future__ import annotations

import copy
import html
import json
import re

import pytest
from histrecords import GREW, NS, fixture_results, profile_pair

from fleet.cli import main
from fleet.flamebaseline import load_baseline
from fleet.history import History
from fleet.report.html import render_html
from fleet.runfolder import write_run_folder
from fleet.runrecord import from_results


def run(capsys, *argv) -> tuple[int, str, str]:
    """main(argv): exit code, stdout, and stderr with rich's wrapping undone."""
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, " ".join(err.split())


def after(results: dict, tmp_path, history) -> tuple[int, str]:
    """histcommands.after_run as `fleet run` calls it: (exit code, stderr)."""
    import argparse
    import io

    from rich.console import Console

    from fleet.histcommands import after_run
    from fleet.playbook import Playbook

    args = argparse.Namespace(inventory=None, no_history=False, history=str(history),
                              textfile_dir=None)
    playbook = Playbook(path=str(tmp_path / "pb.yaml"), name="synthetic",
                        hosts="db", duration=1.0)
    out = io.StringIO()
    code = after_run(results, 0, playbook, args, Console(file=out, width=200))
    return code, out.getvalue()


def earlier(doc: dict, run_id: str, hours: int, by: int = 1) -> dict:
    """A copy of a run as an earlier one, each stack count multiplied by ``by``."""
    out = copy.deepcopy(doc)
    out["run"]["id"] = run_id
    out["run"]["started_ns"] -= hours * 3600 * NS
    for row in out["jobs"][0]["rows"]:
        row["hosts"] = {h: n * by for h, n in row["hosts"].items()}
    return out


@pytest.fixture
def recorded(tmp_path):
    """A history with three earlier runs of `synthetic`, one of another playbook,
    and the later run's folder (not recorded)."""
    base, later = profile_pair()
    path = tmp_path / "h.sqlite"
    other = earlier(base, "elsewhere", 1)
    other["playbook"]["name"] = "other"
    with History(path) as history:
        for doc in (earlier(base, "b3", 3, by=100), earlier(base, "b2", 2), base,
                    other):
            history.record(from_results(doc))
    folder = tmp_path / "runs" / later["run"]["id"]
    write_run_folder(later, str(folder))
    return {"path": path, "base": base, "later": later, "folder": folder}


def flame_data(html: str) -> dict:
    """The flame graph's JSON block of a report."""
    found = re.search(r'<div class="flame">.*?<script type="application/json" '
                      r'class="data">(.*?)</script>', html, re.S)
    return json.loads(found.group(1))


def test_the_baseline_is_the_previous_run_of_the_same_playbook(recorded):
    baseline = load_baseline(recorded["path"], recorded["later"])
    base_id = recorded["base"]["run"]["id"]
    assert baseline.runs == ((base_id, recorded["base"]["run"]["started_ns"]),)
    assert baseline.reason == "" and baseline.asked == 1
    db1 = {r["key"]: r["hosts"]["db001"] for r in recorded["base"]["jobs"][0]["rows"]}
    assert baseline.stacks["cpu"]["db001"] == db1
    assert "db002" not in baseline.stacks["cpu"]


def test_k_runs_give_the_per_host_median(recorded):
    baseline = load_baseline(recorded["path"], recorded["later"], 3)
    assert [r[0] for r in baseline.runs] == [recorded["base"]["run"]["id"], "b2", "b3"]
    # counts n, n and 100n: the median is n, the outlying sweep moves nothing
    db1 = {r["key"]: r["hosts"]["db001"] for r in recorded["base"]["jobs"][0]["rows"]}
    assert baseline.stacks["cpu"]["db001"] == db1
    assert len(load_baseline(recorded["path"], recorded["later"], 10).runs) == 3


@pytest.mark.parametrize("change, reason", [
    (lambda doc, tmp: None, "the history is off (--no-history)"),
    (lambda doc, tmp: tmp / "missing.sqlite", "no history at {tmp}/missing.sqlite yet"),
    (lambda doc, tmp: doc["playbook"].update(name="new") or tmp / "h.sqlite",
     "no run of playbook 'new' before this one in the history ({tmp}/h.sqlite)"),
    (lambda doc, tmp: doc["run"].update(started_ns=1) or tmp / "h.sqlite",
     "no run of playbook 'synthetic' before this one in the history"
     " ({tmp}/h.sqlite)"),
])
def test_without_a_baseline_the_reason_is_one_line(recorded, tmp_path, change, reason):
    doc = copy.deepcopy(recorded["later"])
    path = change(doc, tmp_path)
    baseline = load_baseline(path, doc)
    assert baseline.runs == () and baseline.reason == reason.format(tmp=tmp_path)
    page = html.unescape(render_html(doc, baseline))
    assert f"No differential flame graph: {baseline.reason}." in page


def test_a_corrupt_history_is_a_reason_not_a_crash(recorded, tmp_path):
    bad = tmp_path / "bad.sqlite"
    bad.write_bytes(b"junk" * 2000)
    baseline = load_baseline(bad, recorded["later"])
    assert baseline.runs == () and "not a usable fleet history" in baseline.reason


def test_a_run_without_stacks_needs_no_baseline(recorded):
    assert load_baseline(recorded["path"], fixture_results()) is None


def test_report_html_draws_against_the_history(recorded, capsys):
    folder, path = recorded["folder"], recorded["path"]
    code, _, err = run(capsys, "report", str(folder), "--html", "--history", str(path))
    assert code == 0 and err.startswith("HTML report in") and "warning" not in err
    page = (folder / "report.html").read_text()
    assert "the previous run of this playbook" in page
    stacks = flame_data(page)["stacks"]
    assert all(len(stack) == 3 for stack in stacks)  # [key, counts, base counts]
    code, _, _ = run(capsys, "report", str(folder), "--html", "--baseline", "5",
                     "--history", str(path))
    page = (folder / "report.html").read_text()
    assert "the per-host median of the 3 previous runs of this playbook" in page
    assert "(5 asked for, 3 recorded before this run)" in page
    assert f"<code>{recorded['base']['run']['id']}</code>" in page


@pytest.mark.parametrize("argv, message", [
    (["--baseline", "2"], "--baseline K is for the HTML report's differential "
     "flame graph: give --html and K of 1 or more (got 2)"),
    (["--html", "--baseline", "0"], "give --html and K of 1 or more (got 0)"),
])
def test_bad_baseline_options_are_one_paragraph(recorded, capsys, argv, message):
    code, _, err = run(capsys, "report", str(recorded["folder"]), *argv)
    assert code == 1 and message in err and "Traceback" not in err


def test_an_unmet_baseline_is_a_warning(recorded, capsys, tmp_path):
    code, _, err = run(capsys, "report", str(recorded["folder"]), "--html",
                       "--baseline", "2", "--history", str(tmp_path / "none.sqlite"))
    assert code == 0
    assert f"--baseline: no differential flame graph: no history at {tmp_path}" in err
    plain = tmp_path / "plain"
    write_run_folder(fixture_results(), str(plain))
    code, _, err = run(capsys, "report", str(plain), "--html", "--baseline", "2",
                       "--history", str(recorded["path"]))
    assert code == 0 and "the run has no stacks job (profile)" in err


def test_after_a_run_is_recorded_its_report_html_gains_the_baseline(tmp_path):
    # fleet run: report.html is written before the run is recorded; once it is,
    # the report is drawn again when an earlier run of the playbook exists.
    base, later = profile_pair()
    for doc in (base, later):
        doc["run"]["dir"] = str(tmp_path / doc["run"]["id"])
        write_run_folder(doc, doc["run"]["dir"])
    path = tmp_path / "h.sqlite"
    first = (tmp_path / base["run"]["id"] / "report.html").read_text()
    assert after(base, tmp_path, path) == (0, "")
    assert (tmp_path / base["run"]["id"] / "report.html").read_text() == first
    assert "No differential flame graph: no earlier run of this playbook" in first
    code, err = after(later, tmp_path, path)
    assert code == 0 and err.startswith("vs last sweep:")
    page = (tmp_path / later["run"]["id"] / "report.html").read_text()
    named = f"the previous run of this playbook, <code>{base['run']['id']}</code>"
    assert named in page
    grew = [c for c in flame_data(page)["stacks"] if GREW in c[0]]
    assert grew and all(c[2] for c in grew)  # the baseline's counts are there


def test_a_report_html_that_cannot_be_redrawn_is_said_and_kept(tmp_path):
    base, later = profile_pair()
    path = tmp_path / "h.sqlite"
    after(base, tmp_path, path)
    later["run"]["dir"] = str(tmp_path / "gone" / "run")  # no such folder
    code, err = after(later, tmp_path, path)
    assert code == 0
    assert "report.html has no differential flame graph" in " ".join(err.split())
