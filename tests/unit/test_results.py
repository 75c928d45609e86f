"""Unit tests for fleet.results: exit codes, the results document, the run folder."""

from __future__ import annotations

import json
import os
import tracemalloc
from pathlib import Path

import pytest
from fleetrun import load_report_fixture

import fleet.results as results_mod
from fleet.merge import sum_slots
from fleet.results import (
    EventStream,
    build_results,
    exit_code,
    load_results,
)
from fleet.runfolder import write_run_folder

FIXTURES = Path(__file__).parent / "fixtures" / "report"


@pytest.fixture
def built() -> dict:
    return build_results(*load_report_fixture())


def job(results: dict, name: str) -> dict:
    return next(entry for entry in results["jobs"] if entry["name"] == name)


# -- exit codes ---------------------------------------------------------------


@pytest.mark.parametrize(
    "outcomes, interrupted, expected",
    [
        ([], False, 0),
        (["ok", "ok"], False, 0),
        (["ok", "no-bcc"], False, 2),
        (["ok", "lost-events"], False, 2),
        (["compile-error", "attach-error", "timeout"], False, 2),
        (["ok", "interrupted"], False, 2),  # a host cut short, run not interrupted
        (["ok", "unreachable"], False, 4),
        (["ok", "auth-failed"], False, 4),  # Ansible: login failures are unreachable
        (["ok", "host-key-failed"], False, 4),
        (["agent-crashed", "unreachable"], False, 4),
        (["ok"], True, 99),
        (["unreachable", "no-bcc"], True, 99),
    ],
)
def test_exit_code(outcomes, interrupted, expected):
    raws = [{"name": f"h{i}", "outcome": o} for i, o in enumerate(outcomes)]
    assert exit_code(raws, interrupted) == expected


# -- build_results ------------------------------------------------------------


def test_top_level_sections(built):
    assert built["schema"] == 1
    assert built["fleet_version"] == "0.1.0"
    assert built["playbook"] == {
        "name": "disk-latency",
        "path": "playbooks/disk-latency.yaml",
        "hosts": "db",
    }
    assert built["outcomes"] == {"ok": 3, "unreachable": 1}
    run = built["run"]
    assert run["exit_code"] == 4
    assert run["id"] == "20261126T144200-disk-latency"
    assert (run["limit"], run["forks"], run["interrupted"]) == ("db:!db9", 10, False)
    assert run["window"] == {
        "start_ns": 1795704120001000000,
        "end_ns": 1795704130006000000,
    }


def test_hosts_keep_inventory_order_and_failed_host_fields(built):
    assert list(built["hosts"]) == ["db1", "db2", "db3", "db4"]
    db4 = built["hosts"]["db4"]
    assert db4["outcome"] == "unreachable"
    assert db4["reason"].startswith("ssh: connect to host 10.0.0.4")
    assert (db4["window"], db4["facts"], db4["jobs"]) == (None, None, {})
    assert built["hosts"]["db1"]["bytes_pushed"] == 48213
    assert built["hosts"]["db1"]["log"] == "hosts/db1.log"


def test_one_entry_per_job_output_named_by_output_when_several(built):
    assert [(e["name"], e["kind"]) for e in built["jobs"]] == [
        ("disk_latency", "histogram"),
        ("opens", "events"),
        ("syscalls.by_comm", "table"),
        ("syscalls.latency", "histogram"),
    ]
    entry = job(built, "syscalls.by_comm")
    assert (entry["job"], entry["output"], entry["unit"]) == (
        "syscount",
        "by_comm",
        "calls",
    )


def test_fleet_histogram_is_the_sum_of_hosts(built):
    entry = job(built, "disk_latency")
    assert list(entry["hosts"]) == ["db1", "db2", "db3"]  # db4 has no data
    host_slots = [h["slots"] for h in entry["hosts"].values()]
    assert entry["fleet"]["slots"] == sum_slots(host_slots)
    assert entry["fleet"]["slots"] == [0, 0, 0, 0, 0, 23, 59, 18, 0, 10, 20, 10]
    assert entry["fleet"]["count"] == 140
    assert (entry["fleet"]["p50"], entry["fleet"]["p99"]) == (63, 2047)


def test_keyed_histogram_keeps_keys_and_sums_per_key(built):
    entry = job(built, "disk_latency")
    assert list(entry["keys"]) == ["vda", "vdb"]  # busiest key first
    for per_key in entry["keys"].values():
        slots = [h["slots"] for h in per_key["hosts"].values()]
        assert per_key["fleet"]["slots"] == sum_slots(slots)
    assert list(entry["keys"]["vdb"]["hosts"]) == ["db1", "db2"]
    assert entry["keys"]["vdb"]["fleet"]["slots"] == [0, 0, 0, 0, 0, 5, 15]
    # A host's own histogram is the sum over its keys.
    assert entry["hosts"]["db1"]["slots"] == [0, 0, 0, 0, 0, 15, 25, 10]


def test_outlier_host_is_flagged(built):
    entry = job(built, "disk_latency")
    assert [o["host"] for o in entry["outliers"]] == ["db3"]
    assert [o["host"] for o in entry["keys"]["vda"]["outliers"]] == ["db3"]


def test_unkeyed_histogram_has_no_keys_and_counts_an_empty_host(built):
    entry = job(built, "syscalls.latency")
    assert "keys" not in entry
    assert entry["fleet"]["slots"] == [1, 2, 3]
    assert entry["hosts"]["db3"] == {
        "slots": [],
        "count": 0,
        "p50": None,
        "p90": None,
        "p99": None,
        "max": None,
    }


def test_events_entry_counts_and_lazy_sorted_timeline(built):
    entry = job(built, "opens")
    assert entry["count"] == 8
    assert entry["lost"] == {"db2": 2}
    assert entry["hosts"]["db3"] == {"count": 0, "lost": 0}
    assert [c["field"] for c in entry["columns"]] == ["comm", "pid", "lat", "fname"]
    assert isinstance(entry["events"], EventStream)
    timeline = list(entry["events"])
    assert len(timeline) == 8
    times = [e["ts_ns"] for e in timeline]
    assert times == sorted(times)
    assert [e["host"] for e in timeline[:3]] == ["db2", "db1", "db1"]
    assert list(entry["events"]) == timeline  # re-iterable


def test_event_stream_reads_in_small_batches(built, monkeypatch):
    expected = list(job(built, "opens")["events"])
    monkeypatch.setattr(results_mod, "EVENT_BATCH", 2)
    assert list(job(built, "opens")["events"]) == expected


def test_table_entry(built):
    entry = job(built, "syscalls.by_comm")
    assert entry["top"] == 5
    assert [(r["key"], r["total"]) for r in entry["rows"]] == [
        ("postgres", 270),
        ("cron", 7),
        ("sshd", 5),
    ]
    assert entry["rows"][0]["hosts"] == {"db1": 100, "db2": 80, "db3": 90}


def test_ok_host_without_an_output_counts_as_zero_samples():
    meta, jobs, raws = load_report_fixture()
    raws[2]["outputs"] = {}
    entry = job(build_results(meta, jobs, raws), "disk_latency")
    assert entry["hosts"]["db3"]["count"] == 0
    assert entry["fleet"]["count"] == 100


def test_interrupted_run():
    meta, jobs, raws = load_report_fixture()
    meta["interrupted"] = True
    assert build_results(meta, jobs, raws)["run"]["exit_code"] == 99


# -- run folder ---------------------------------------------------------------


def test_write_run_folder_round_trips(built, tmp_path):
    run_dir = tmp_path / "run"
    write_run_folder(built, str(run_dir))
    assert sorted(os.listdir(run_dir)) == ["report.html", "report.txt", "results.json"]
    with open(run_dir / "results.json") as source:
        raw = json.load(source)  # valid JSON on its own
    loaded = load_results(str(run_dir / "results.json"))
    assert loaded == raw
    events = job(loaded, "opens")["events"]
    assert events == list(job(built, "opens")["events"])
    assert [e["ts_ns"] for e in events] == sorted(e["ts_ns"] for e in events)
    assert job(loaded, "disk_latency")["fleet"] == job(built, "disk_latency")["fleet"]
    assert loaded["hosts"] == built["hosts"]
    report = (run_dir / "report.txt").read_text()
    assert "PLAY RECAP" in report
    assert max(len(line) for line in report.splitlines()) <= 80


def test_failed_write_keeps_old_results_and_leaves_no_temp_file(built, tmp_path):
    write_run_folder(built, str(tmp_path))
    before = (tmp_path / "results.json").read_text()
    broken = dict(built, extra=object())  # not serialisable: fails midway
    with pytest.raises(TypeError):
        write_run_folder(broken, str(tmp_path))
    assert (tmp_path / "results.json").read_text() == before
    assert sorted(os.listdir(tmp_path)) == ["report.html", "report.txt", "results.json"]


def test_write_run_folder_streams_events(tmp_path):
    """Peak memory stays flat: 30k events are never held at once."""
    per_host = 10_000
    raws = []
    for h in range(3):
        path = tmp_path / f"h{h}.jsonl"
        with open(path, "w") as out:
            for i in range(per_host):
                event = {"ts_ns": 3 * i + h, "comm": "postgres", "fname": f"/f/{i}"}
                out.write(json.dumps(event) + "\n")
        raws.append(
            {
                "name": f"h{h}",
                "address": f"10.0.0.{h}",
                "outcome": "ok",
                "outputs": {
                    "j": {
                        "e": {
                            "kind": "events",
                            "file": str(path),
                            "count": per_host,
                            "lost": 0,
                        }
                    }
                },
            }
        )
    jobs = [
        {
            "id": "j",
            "outputs": [
                {"name": "e", "kind": "events", "columns": [{"field": "comm"}]}
            ],
        }
    ]
    results = build_results({"id": "big", "playbook": {}}, jobs, raws)
    tracemalloc.start()
    try:
        write_run_folder(results, str(tmp_path / "run"))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # Holding 30k event dicts alone would take well over 10 MB.
    assert peak < 3_000_000
    events = job(load_results(str(tmp_path / "run" / "results.json")), "j")["events"]
    assert [e["ts_ns"] for e in events] == list(range(3 * per_host))


# -- custom job outputs: linear histograms and bpf_trace_printk lines ------------


def test_linear_histogram_entry_has_scale_and_exact_percentiles():
    meta, jobs, raws = load_report_fixture()
    jobs[0]["outputs"][0]["scale"] = "linear"
    entry = job(build_results(meta, jobs, raws), "disk_latency")
    assert entry["scale"] == "linear"
    slots = entry["fleet"]["slots"]
    assert entry["fleet"]["max"] == len(slots) - 1  # slot k is the value k
    assert all(s["max"] == len(s["slots"]) - 1 for s in entry["hosts"].values())
    key = next(iter(entry["keys"].values()))
    assert key["fleet"]["max"] == len(key["fleet"]["slots"]) - 1
    log2 = job(build_results(*load_report_fixture()), "disk_latency")
    assert log2["scale"] == "log2" and log2["fleet"]["max"] == 2 ** (len(slots) - 1) - 1


def test_trace_output_is_an_events_entry_with_comm_pid_message(tmp_path):
    meta, _, raws = load_report_fixture()
    lines = tmp_path / "db1.trace.jsonl"
    lines.write_text('{"ts_ns": 5, "comm": "sync", "pid": 7, "message": "hi"}\n')
    jobs = [{"id": "mine", "job": "mine", "params": {}, "summary": "s",
             "outputs": [{"name": "trace", "kind": "trace", "map": None,
                          "columns": []}]}]
    for raw in raws:
        raw["outputs"] = {}
    raws[0]["outputs"] = {"mine": {"trace": {"kind": "events", "file": str(lines),
                                             "count": 1, "lost": 0}}}
    [entry] = build_results(meta, jobs, raws)["jobs"]
    assert entry["kind"] == "events"
    assert entry["columns"] == [{"field": "comm"}, {"field": "pid"},
                                {"field": "message"}]
    assert entry["count"] == 1
    assert list(entry["events"]) == [
        {"host": "db1", "ts_ns": 5, "comm": "sync", "pid": 7, "message": "hi"}]


def test_missed_runs_per_job_name_the_hosts_that_skipped_some():
    meta, jobs, raws = load_report_fixture()
    raws[1]["jobs"]["opens"]["missed_runs"] = 16
    raws[2]["jobs"]["syscalls"]["missed_runs"] = 3
    built = build_results(meta, jobs, raws)
    assert job(built, "opens")["missed_runs"] == {"db2": 16}
    # every output of a job carries its job's count
    assert job(built, "syscalls.by_comm")["missed_runs"] == {"db3": 3}
    assert job(built, "syscalls.latency")["missed_runs"] == {"db3": 3}
    assert job(built, "disk_latency")["missed_runs"] == {}
    assert built["hosts"]["db2"]["jobs"]["opens"]["missed_runs"] == 16
