"""Unit tests for fleet.report: the 80-column terminal report and streamed JSON."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path

import pytest
from fleetrun import load_report_fixture
from rich.console import Console

import fleet.report
from fleet.report import dump_results, render_report, render_text
from fleet.report.findings import outcome_groups
from fleet.report.terminal import ReportOptions, linear_lines, log2_lines
from fleet.results import build_results, load_results
from fleet.runfolder import write_run_folder

FIXTURES = Path(__file__).parent / "fixtures" / "report"


@pytest.fixture
def utc(monkeypatch):
    """Render local times in UTC, so expected clock strings are fixed."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def render(results: dict, **options) -> str:
    out = io.StringIO()
    render_report(results, Console(file=out, width=80, color_system=None),
                  ReportOptions(**options))
    return out.getvalue()


@pytest.fixture
def report(utc) -> str:
    return render(build_results(*load_report_fixture()))


def lines_of(text: str) -> list[str]:
    return text.splitlines()


def test_no_line_is_wider_than_80(report):
    assert max(len(line) for line in lines_of(report)) <= 80


def test_header_names_playbook_hosts_and_window(report):
    head = lines_of(report)[:4]
    assert head[0] == "PLAY [disk-latency] playbooks/disk-latency.yaml"
    assert head[1].startswith("hosts     4 (db, limit db:!db9): 3 ok, 1 unreachable")
    assert "2026-11-26 14:42:00.001 -> 14:42:10.006 local (10.0 s)" in head[2]
    assert "exit 4" in head[3]


def test_header_of_an_interrupted_run_without_windows(utc):
    meta, jobs, raws = load_report_fixture()
    meta.update(interrupted=True, limit=None)
    meta["playbook"]["hosts"] = ["db", "!db3"]
    for raw in raws:
        raw["window"] = None
    head = lines_of(render(build_results(meta, jobs, raws)))[:4]
    assert head[1].startswith("hosts     4 (db:!db3): ")
    assert head[2] == "window    none (no host started tracing)"
    assert head[3].endswith("exit 99  INTERRUPTED")


def test_fleet_histogram_in_bcc_style(report):
    lines = lines_of(report)
    start = lines.index("     usecs               : count     distribution")
    assert lines[start + 1] == (
        "        16 -> 31         : 23       |***************                         |"
    )
    assert lines[start + 2].startswith("        32 -> 63         : 59       |*****")
    assert lines[start + 2].endswith("*|")  # the peak fills the bar
    assert lines[start + 4].startswith("       128 -> 255        : 0        |   ")
    assert lines[start + 7].startswith("      1024 -> 2047       : 10       |")
    assert lines[start + 8] == ""  # stops at the last non-empty slot


def test_hosts_side_by_side_with_units_and_outlier_flag(report):
    lines = lines_of(report)
    assert any("usecs   usecs   usecs   usecs" in line for line in lines)
    (db3,) = [line for line in lines if line.startswith("db3 ") and "1023" in line]
    assert db3.split()[:6] == ["db3", "40", "1023", "2047", "2047", "2047"]
    assert "! p50,p99 ~16x above" in db3
    (db1,) = [line for line in lines if line.startswith("db1 ") and "127" in line]
    assert "!" not in db1
    assert any(
        line.startswith("db4 ") and "no data: unreachable" in line for line in lines
    )


def test_keyed_histogram_lists_keys(report):
    lines = lines_of(report)
    assert any(line.split()[:3] == ["vda", "(fleet)", "120"] for line in lines)
    assert any(line.split()[:3] == ["vdb", "(fleet)", "20"] for line in lines)


def test_events_as_one_timeline(report):
    rows = [line.split() for line in lines_of(report) if line.startswith("14:42:")]
    assert len(rows) == 8
    assert [r[:2] for r in rows[:3]] == [
        ["14:42:00.050", "db2"],
        ["14:42:00.100", "db1"],
        ["14:42:00.300", "db1"],
    ]
    assert rows[0][2:] == ["postgres", "5001", "7", "/var/lib/pg/base/1"]
    assert "8 events from 3 hosts (2 lost)" in report
    assert "per host  db1=5 db2=3 db3=0" in report
    assert "8 events total (2 lost) lost on: db2=2" in report


def test_events_are_capped(utc):
    text = render(build_results(*load_report_fixture()), events=3)
    assert len([line for line in lines_of(text) if line.startswith("14:42:")]) == 3
    assert "8 events total (2 lost)" in text
    assert "first 3 shown" in text


def test_table_top_rows(report):
    assert any(
        line.split() == ["postgres", "270", "db1=100", "db3=90", "db2=80"]
        for line in lines_of(report)
    )
    assert "3 keys total, top 3 shown" in report


def test_recap(report):
    lines = lines_of(report)
    start = lines.index("PLAY RECAP " + "*" * 69)
    # ok hosts fold into a range; db2 lost events: ok with a warning, apart
    assert lines[start + 1] == "db[1,3] : ok"
    assert lines[start + 2] == "db2     : ok - warning: 2 events lost in opens"
    assert lines[start + 3].startswith("db4     : unreachable - ssh: connect to")
    assert lines[start + 4].startswith(" " * 10)  # reason wraps under the outcome
    assert lines[-1] == "4 hosts: 3 ok, 1 unreachable (exit 4)"


def test_recap_colors_outcomes():
    out = io.StringIO()
    console = Console(file=out, width=80, force_terminal=True, color_system="standard")
    render_report(build_results(*load_report_fixture()), console)
    text = out.getvalue()
    assert "\x1b[1;32mok\x1b[0m" in text
    assert "\x1b[1;31munreachable\x1b[0m" in text


def test_report_from_loaded_results_matches_live_one(utc, tmp_path):
    built = build_results(*load_report_fixture())
    write_run_folder(built, str(tmp_path))
    loaded = load_results(str(tmp_path / "results.json"))
    assert render(loaded) == render(built)
    assert (tmp_path / "report.txt").read_text() == render_text(built)


def test_render_text_has_no_trailing_blanks(utc):
    text = render_text(build_results(*load_report_fixture()))
    assert all(line == line.rstrip() for line in lines_of(text))
    assert "PLAY RECAP" in text


def test_extreme_input_still_fits_80_columns(utc):
    meta, jobs, raws = load_report_fixture()
    long_name = "host-" + "x" * 95
    raws[0]["name"] = long_name
    raws[3]["reason"] = "no route: " + "y" * 200
    jobs[1]["outputs"][0]["columns"] = [
        {"field": f"field_number_{i}", "unit": "bytes"} for i in range(12)
    ]
    jobs[0]["summary"] = "z" * 150
    text = render(build_results(meta, jobs, raws))
    assert max(len(line) for line in lines_of(text)) <= 80
    assert "no route:" in text


def test_cells_are_not_rich_markup(utc):
    meta, jobs, raws = load_report_fixture()
    raws[0]["outputs"]["syscalls"]["by_comm"]["rows"] = [
        {"key": "[bold]kworker[/bold]", "value": 1000}
    ]
    text = render(build_results(meta, jobs, raws))
    assert "[bold]kworker[/bold]" in text


@pytest.mark.parametrize(
    "slots",
    [
        [0] * 40 + [1, 5],  # past slot 32: bcc's wide layout
        [10**12, 1],  # a count wider than its column
        [1] * 64,
    ],
)
def test_log2_lines_fit_80_columns(slots):
    lines = log2_lines(slots, "nsecs")
    used = [k for k, n in enumerate(slots) if n]
    assert len(lines) == 1 + used[-1] - used[0] + 1  # header, first..last used
    assert max(len(line) for line in lines) <= 80


def test_log2_lines_wide_layout_lines_up():
    lines = log2_lines([0] * 40 + [1, 5], "nsecs")
    assert lines[0].index(":") == lines[1].index(":")
    assert lines[1].startswith(f"{2**39:>20} -> {2**40 - 1:<20} : 1 ")


def test_log2_lines_empty():
    assert log2_lines([0, 0], "usecs") == []


# -- JSON ---------------------------------------------------------------------


def test_dump_results_is_valid_json():
    value = {"a": [1, 2], "b": {"c": None, "d": [{"e": "é"}]}, "f": [], "g": {}}
    out = io.StringIO()
    dump_results(value, out)
    assert json.loads(out.getvalue()) == value


def test_dump_results_streams_lazy_iterables():
    out = io.StringIO()
    written = []

    def events():
        for i in range(5):
            written.append(len(out.getvalue()))
            yield {"ts_ns": i, "host": "h"}

    dump_results({"count": 5, "events": events()}, out)
    # Each event was written before the next one was pulled.
    assert written == sorted(set(written))
    assert json.loads(out.getvalue())["events"] == [
        {"ts_ns": i, "host": "h"} for i in range(5)
    ]
    event_lines = [line for line in out.getvalue().splitlines() if "ts_ns" in line]
    assert len(event_lines) == 5  # one event per line


def test_dump_results_rejects_unknown_objects():
    with pytest.raises(TypeError):
        dump_results({"x": object()}, io.StringIO())


def test_public_surface():
    assert sorted(fleet.report.__all__) == [
        "dump_results",
        "render_report",
        "render_text",
    ]
    for name in fleet.report.__all__:
        assert callable(getattr(fleet.report, name))


# -- recap: hosts with identical outcome and reason share one entry ----------------


def recap_of(text: str) -> list[str]:
    lines = lines_of(text)
    return lines[lines.index("PLAY RECAP " + "*" * 69) + 1 : -1]


def failed_raws(reasons: dict[str, str]) -> tuple[dict, list, list]:
    """The fixture with each named host ended compile-error with its reason."""
    meta, jobs, raws = load_report_fixture()
    for raw in raws:
        if raw["name"] in reasons:
            raw.update(outcome="compile-error", reason=reasons[raw["name"]])
    return meta, jobs, raws


def test_recap_folds_identical_reasons(utc):
    error = ("job strlen-count: strlen_count.c:7:5: error: use of undeclared "
             "identifier 'x'")
    text = render(build_results(*failed_raws(dict.fromkeys(("db1", "db2", "db3"),
                                                            error))))
    recap = recap_of(text)
    assert recap[0] == ("db[1-3] : compile-error - job strlen-count: "
                        "strlen_count.c:7:5: error: use of")
    assert recap[1] == " " * 10 + "undeclared identifier 'x'"
    assert recap[2].startswith("db4     : unreachable - ssh: connect")
    assert sum("compile-error" in line for line in recap) == 1
    assert max(len(line) for line in lines_of(text)) <= 80


def test_recap_keeps_one_line_per_host_when_reasons_differ(utc):
    reasons = {"db1": "prog.c:7:5: error: a", "db2": "prog.c:9:1: error: b"}
    recap = recap_of(render(build_results(*failed_raws(reasons))))
    assert recap[:3] == ["db1 : compile-error - prog.c:7:5: error: a",
                         "db2 : compile-error - prog.c:9:1: error: b",
                         "db3 : ok"]


def test_recap_folds_a_large_fleet_into_80_columns(utc):
    meta, jobs, raws = load_report_fixture()
    template = raws[0]
    raws = [dict(template, name=f"web{i:03d}", outcome="compile-error",
                 reason="prog.c:3:1: error: expected ';'") for i in range(60)]
    raws.append(dict(template, name="db1", outcome="ok", reason=""))
    recap = recap_of(render(build_results(meta, jobs, raws)))
    assert recap[0] == "web[000-059] : compile-error - prog.c:3:1: error: expected ';'"
    assert recap[1] == "db1          : ok"


def test_recap_folds_unreachable_hosts_whatever_their_address(utc):
    meta, jobs, raws = load_report_fixture()
    template = raws[3]
    raws = raws[:3] + [
        dict(template, name=f"web{i:02d}", address=f"127.0.1.{i}",
             reason=f"127.0.1.{i}:22: Connect call failed ('127.0.1.{i}', 22)")
        for i in range(3, 10)]
    text = render(build_results(meta, jobs, raws))
    assert "web[03-09] : unreachable - Connect call failed" in recap_of(text)
    assert "failed    unreachable: web[03-09] (Connect call failed)" in text


def test_outcome_groups_in_inventory_order():
    hosts = {"a": {"outcome": "ok"}, "b": {"outcome": "timeout", "reason": "x  y"},
             "c": {"outcome": "ok", "reason": ""}, "d": {"outcome": "timeout",
                                                        "reason": "x y"}}
    groups = outcome_groups({"hosts": hosts, "jobs": []})
    assert [g.names for g in groups] == [["a", "c"], ["b", "d"]]
    assert [g.reason for g in groups] == ["", "x y"]


# -- linear histograms --------------------------------------------------------------


def test_linear_lines_show_each_value():
    assert linear_lines([0, 0, 4, 0, 2], "msecs") == [
        "     msecs : count     distribution",
        "         2 : 4        |" + "*" * 55 + "|",
        "         3 : 0        |" + " " * 55 + "|",
        "         4 : 2        |" + "*" * 27 + " " * 28 + "|",
    ]
    sparse = linear_lines([1] + [0] * 100 + [1], "")
    assert [line.split(":")[0].strip() for line in sparse[1:3]] == ["0", "101"]
    assert "left out" in sparse[-1]


def test_linear_histogram_report_says_exact(utc):
    meta, jobs, raws = load_report_fixture()
    jobs[0]["outputs"][0]["scale"] = "linear"
    text = render(build_results(meta, jobs, raws))
    assert "hosts side by side (percentiles are exact values):" in text
    assert "     usecs : count     distribution" in text
    assert "-> " not in text.split("JOB [disk_latency]")[1].split("hosts side")[0]


def test_skipped_probe_runs_are_a_warning_under_the_output(utc):
    meta, jobs, raws = load_report_fixture()
    raws[1]["jobs"]["opens"]["missed_runs"] = 16
    text = render_text(build_results(meta, jobs, raws))
    assert max(len(line) for line in lines_of(text)) <= 80
    flat = " ".join(text.split())
    assert (
        "warning: the kernel skipped 16 probe runs (db2=16) because another BPF"
        " program was running on the CPU; counts here are short by as much"
    ) in flat
    # under the opens output, before the next job's title
    warning = flat.index("warning: the kernel skipped")
    assert flat.index("JOB [opens]") < warning < flat.index("JOB [syscalls")
    assert "skipped" not in render_text(build_results(*load_report_fixture()))
