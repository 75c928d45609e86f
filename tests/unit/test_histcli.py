"""The history, diff, export and schedule commands through fleet.cli.main, and
RUN arguments (fleet.runref): exit codes, JSON shapes, one-paragraph errors."""

from __future__ import annotations

import json

import pytest
from histrecords import FAST_SLOTS, fixture_results, record, shifted

from fleet.cli import main
from fleet.errors import InputError
from fleet.history import History
from fleet.runfolder import write_run_folder
from fleet.runrecord import load_folder
from fleet.runref import load_record, resolve_run


@pytest.fixture
def hist(tmp_path, monkeypatch):
    """A history with three runs of `sweep` (the last one slower) and one of `disk`."""
    path = tmp_path / "h.sqlite"
    monkeypatch.setenv("FLEET_HISTORY", str(path))
    with History(path) as history:
        history.record(record("s1", 100, {"h1": FAST_SLOTS, "h2": FAST_SLOTS}))
        history.record(record("s2", 200, {"h1": FAST_SLOTS, "h2": FAST_SLOTS}))
        history.record(record("d1", 250, {"h1": FAST_SLOTS}, playbook="disk"))
        history.record(record("s3", 300, {"h1": shifted(FAST_SLOTS, 3),
                                          "h2": FAST_SLOTS, "h3": FAST_SLOTS}))
    return path


def run(capsys, *argv) -> tuple[int, str, str]:
    """main(argv): exit code, stdout, and stderr with rich's wrapping undone."""
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, " ".join(err.split())


def test_run_arguments_resolve(hist, tmp_path):
    assert resolve_run("last", hist).run_id == "s3"
    assert resolve_run("last~1", hist).run_id == "d1"
    assert resolve_run("last~1", hist, playbook="sweep").run_id == "s2"
    assert resolve_run("s1", hist).run_id == "s1"
    folder = tmp_path / "runs" / "r"
    write_run_folder(fixture_results(), str(folder))
    ref = resolve_run(str(folder), None)
    assert ref.from_folder and ref.run_id == "20261126T144200-disk-latency"
    assert ref.run_dir == str(folder)
    assert resolve_run(str(folder / "results.json"), None).run_dir == str(folder)
    assert load_record(str(folder), None)["hosts"]["db4"]["outcome"] == "unreachable"


@pytest.mark.parametrize("text, message", [
    ("last~9", "the history has 4 run"),
    ("nosuchrun", "is not a run folder, 'last', 'last~K' or a recorded run id"),
])
def test_bad_run_arguments(hist, text, message):
    with pytest.raises(InputError, match=message):
        resolve_run(text, hist)


def test_history_lists_newest_first_with_filters(hist, capsys):
    code, out, _ = run(capsys, "history")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["WHEN", "OK", "FAIL", "EXIT", "PLAYBOOK", "RUN"]
    assert [line.split()[-1] for line in lines[1:]] == ["s3", "d1", "s2", "s1"]
    assert max(map(len, lines)) <= 80
    code, out, _ = run(capsys, "history", "--playbook", "sweep", "--host", "h3",
                       "--json")
    assert [r["id"] for r in json.loads(out)] == ["s3"]


def test_history_show_and_prune(hist, capsys):
    code, out, _ = run(capsys, "history", "show", "last~2", "--json")
    assert code == 0 and json.loads(out)["run"]["id"] == "s2"
    code, out, _ = run(capsys, "history", "show", "s3")
    assert out.startswith("RUN s3\n") and "h3" in out
    code, _, err = run(capsys, "history", "prune", "--keep", "1")
    assert code == 0 and "pruned 2 run(s)" in err
    code, out, _ = run(capsys, "history", "--json")
    assert [r["id"] for r in json.loads(out)] == ["s3", "d1"]


def test_diff_exit_codes_and_json_shape(hist, capsys):
    code, out, _ = run(capsys, "diff", "s2", "s3", "--json")
    assert code == 3
    diff = json.loads(out)
    assert diff["a"]["id"] == "s2" and diff["b"]["id"] == "s3"
    job = diff["jobs"][0]
    assert (job["name"], job["kind"]) == ("lat", "histogram")
    host = job["hosts"]["h1"]
    assert host["flag"] == "regressed"
    assert set(host) >= {"flag", "count", "p50", "p99", "distance"}
    assert diff["added"] == ["h3"]
    code, out, _ = run(capsys, "diff", "s3", "s2")
    assert code == 0 and "hosts: 0 regressed, 1 improved, 1 same" in out


def test_diff_without_runs_takes_the_previous_run_of_the_same_playbook(hist, capsys):
    code, out, _ = run(capsys, "diff", "--json")
    assert code == 3 and json.loads(out)["a"]["id"] == "s2"


def test_diff_against_a_baseline(hist, capsys):
    code, out, _ = run(capsys, "diff", "--baseline", "5", "--json")
    diff = json.loads(out)
    assert code == 3
    assert diff["a"]["baseline"] == ["s2", "s1"]
    assert diff["added"] == ["h3"]
    code, out, _ = run(capsys, "diff", "--baseline", "2")
    assert "median of the 2 previous runs" in out
    assert "no history (not compared): h3" in out


@pytest.mark.parametrize("argv, message", [
    (["diff", "a", "b", "c"], "at most two runs"),
    (["diff", "--baseline", "0"], "--baseline must be at least 1"),
    (["diff", "s1", "s2", "--threshold-slots", "0"], "--threshold-slots"),
    (["diff", "s1", "--baseline", "2"], "no run of playbook 'sweep' before s1"),
    (["history", "--limit", "0"], "--limit must be at least 1"),
    (["history", "prune", "--older-than", "soon"], "--older-than must be"),
    (["export", "openmetrics", "nosuch"], "recorded run id"),
])
def test_bad_input_is_one_paragraph_and_exit_1(hist, capsys, argv, message):
    code, out, err = run(capsys, *argv)
    assert code == 1 and message in err and "Traceback" not in err
    assert err.startswith("fleet: ")


def test_a_corrupt_history_is_exit_1_with_the_file_named(tmp_path, capsys,
                                                          monkeypatch):
    path = tmp_path / "h.sqlite"
    path.write_bytes(b"not sqlite at all" * 512)
    monkeypatch.setenv("FLEET_HISTORY", str(path))
    code, _, err = run(capsys, "history")
    assert code == 1 and f"{path}: not a usable fleet history" in err


def test_export_openmetrics_and_prometheus(hist, capsys, tmp_path):
    code, out, _ = run(capsys, "export", "openmetrics", "last")
    assert code == 0 and out.endswith("# EOF\n")
    assert "# TYPE fleet_lat_seconds histogram" in out
    target = tmp_path / "m.prom"
    code, _, _ = run(capsys, "export", "openmetrics", "s1", "--format", "prometheus",
                     "-o", str(target))
    assert code == 0 and "# EOF" not in target.read_text()
    assert 'fleet_host_up{host="h1",playbook="sweep"} 1' in target.read_text()


def test_diff_folded_for_stacks_jobs(tmp_path, capsys, monkeypatch):
    path = tmp_path / "h.sqlite"
    monkeypatch.setenv("FLEET_HISTORY", str(path))
    with History(path) as history:
        history.record(record("a", 1, {"h": FAST_SLOTS},
                              stacks={"h": {"m;f": 3}, "g": {"m;f": 1}}))
        history.record(record("b", 2, {"h": FAST_SLOTS}, stacks={"h": {"m;g": 2}}))
    code, _, err = run(capsys, "diff", "a", "b", "--folded", str(tmp_path / "out"))
    assert code == 0 and "prof.diff.folded" in err
    assert (tmp_path / "out" / "prof.diff.folded").read_text() == "m;f 4 0\nm;g 0 2\n"


def test_schedule_writes_units_lists_and_removes(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("FLEET_HISTORY", str(tmp_path / "h.sqlite"))
    playbook = tmp_path / "pb.yaml"
    playbook.write_text("name: my sweep\nduration: 1s\njobs:\n  - job: vfsreadlat\n")
    units = tmp_path / "units"
    code, out, err = run(capsys, "schedule", str(playbook), "--every", "15m",
                         "--unit-dir", str(units), "--runs", str(tmp_path / "runs"))
    assert code == 0
    assert out == ("systemctl daemon-reload && systemctl enable --now "
                   "fleet-my-sweep.timer\n")
    service = (units / "fleet-my-sweep.service").read_text()
    assert f" run {playbook} --runs {tmp_path / 'runs'} --history " in service
    assert "--textfile-dir /var/lib/prometheus/node-exporter" in service
    code, out, _ = run(capsys, "schedule", "--list", "--unit-dir", str(units))
    assert out.split() == ["fleet-my-sweep", "every", "15m", "my", "sweep"]
    code, out, _ = run(capsys, "schedule", str(playbook), "--every", "1h", "--cron",
                       "--no-textfile")
    assert out.startswith("0 * * * * nice -n 10 ") and "--textfile-dir" not in out
    code, _, err = run(capsys, "schedule", "--remove", "my-sweep", "--unit-dir",
                       str(units))
    assert code == 0 and not list(units.glob("fleet-*"))


def test_schedule_refuses_an_uneven_period(tmp_path, capsys):
    playbook = tmp_path / "pb.yaml"
    playbook.write_text("name: x\nduration: 1s\njobs:\n  - job: vfsreadlat\n")
    code, _, err = run(capsys, "schedule", str(playbook), "--every", "7m",
                       "--unit-dir", str(tmp_path))
    assert code == 1 and "--every must divide an hour" in err


def _after(results, code, tmp_path, **options):
    """histcommands.after_run as fleet run calls it; (exit code, stderr text)."""
    import argparse
    import io

    from rich.console import Console

    from fleet.histcommands import after_run
    from fleet.playbook import Playbook

    given = {k: str(v) for k, v in options.items()}
    args = argparse.Namespace(**{"inventory": None, "no_history": False,
                                 "history": None, "textfile_dir": None, **given})
    playbook = Playbook(path=str(tmp_path / "pb.yaml"), name="disk-latency",
                        hosts="db", duration=1.0)
    out = io.StringIO()
    code = after_run(results, code, playbook, args, Console(file=out, width=200))
    return code, out.getvalue()


def test_after_a_run_it_is_recorded_and_compared_with_the_last(tmp_path):
    results = fixture_results()
    path = tmp_path / "h.sqlite"
    assert _after(results, 4, tmp_path, history=path) == (4, "")
    results["run"]["id"] += "-later"
    results["run"]["started_ns"] += 10**9
    code, err = _after(results, 4, tmp_path, history=path,
                       textfile_dir=tmp_path / "tf")
    assert code == 4
    assert err == "vs last sweep: no host regressed (4 same)\n"
    assert (tmp_path / "tf" / "fleet_disk_latency.prom").exists()
    with History(path) as history:
        assert len(history.runs()) == 2


def test_a_failed_record_or_textfile_is_exit_5_unless_the_run_failed(tmp_path):
    bad = tmp_path / "bad.sqlite"
    bad.write_bytes(b"junk" * 2000)
    results = fixture_results()
    code, err = _after(results, 0, tmp_path, history=bad)
    assert code == 5 and "run not recorded in the history" in err
    assert _after(results, 2, tmp_path, history=bad)[0] == 2
    blocked = tmp_path / "file"
    blocked.write_text("")
    code, err = _after(results, 0, tmp_path, history=tmp_path / "ok.sqlite",
                       textfile_dir=blocked)
    assert code == 5 and "textfile not written" in err


def test_report_takes_a_recorded_run(tmp_path, monkeypatch, capsys):
    # fleet report RUN: a run id or `last` from the history, as well as a folder.
    folder = tmp_path / "runs" / "r"
    write_run_folder(fixture_results(), str(folder))
    path = tmp_path / "h.sqlite"
    monkeypatch.setenv("FLEET_HISTORY", str(path))
    with History(path) as history:
        history.record(load_folder(str(folder)))
    by_folder = run(capsys, "report", str(folder))
    by_last = run(capsys, "report", "last")
    assert by_last[0] == 0 and by_last[1] == by_folder[1]
    run_id = load_folder(str(folder))["run"]["id"]
    assert run(capsys, "report", run_id)[1] == by_folder[1]
    code, _, err = run(capsys, "report", "last~5")
    assert code == 1 and "not a run of the history" in err
