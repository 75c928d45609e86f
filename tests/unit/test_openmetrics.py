"""Unit tests for fleet.export.openmetrics: the families of a run, both text
formats through real parsers (prometheus_client's strict OpenMetrics parser,
promtool check metrics), the atomic textfile."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess

import pytest
from histrecords import fixture_record, record
from prometheus_client.openmetrics.parser import text_string_to_metric_families
from prometheus_client.parser import text_string_to_metric_families as parse_text

from fleet.export.openmetrics import (
    run_families,
    textfile_name,
    to_openmetrics,
    to_prometheus,
    write_textfile,
)


def _skip_or_fail(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"prerequisite missing in CI: {reason}", pytrace=False)
    pytest.skip(reason)


def promtool(text: str) -> subprocess.CompletedProcess:
    """The real `promtool check metrics` on text."""
    if shutil.which("promtool") is None:
        _skip_or_fail("promtool not installed (Debian package prometheus)")
    return subprocess.run(["promtool", "check", "metrics"], input=text,
                          capture_output=True, text=True, timeout=60)


def samples(families, name: str) -> dict:
    """{sorted label items: value} of one family's samples named ``name``."""
    return {tuple(sorted(s.labels.items())): s.value
            for f in families for s in f.samples if s.name == name}


@pytest.fixture
def om_families():
    return list(text_string_to_metric_families(to_openmetrics(
        run_families(fixture_record()))))


def test_openmetrics_parses_strictly(om_families):
    types = {f.name: f.type for f in om_families}
    assert types["fleet_disk_latency_seconds"] == "histogram"
    assert types["fleet_opens_events"] == "counter"
    assert types["fleet_syscalls_by_comm_calls"] == "gauge"
    assert types["fleet_host_up"] == "gauge"
    units = {f.name: f.unit for f in om_families}
    assert units["fleet_disk_latency_seconds"] == "seconds"


def test_histogram_buckets_are_cumulative_slot_upper_bounds_in_seconds(om_families):
    rec = fixture_record()
    job = rec["jobs"][0]
    vda = job["hosts"]["db1"]["slots"]["vda"]
    buckets = samples(om_families, "fleet_disk_latency_seconds_bucket")
    labels = {"host": "db1", "job": "disk_latency", "key": "vda",
              "playbook": "disk-latency"}
    mine = {dict(k)["le"]: v for k, v in buckets.items()
            if all(dict(k).get(n) == v for n, v in labels.items())}
    # slot k holds values up to 2^k - 1 usecs
    assert mine["0"] == vda[0]
    assert mine["1e-06"] == sum(vda[:2])
    assert mine["0.000127"] == sum(vda[:8])
    assert mine["+Inf"] == sum(vda)
    count = samples(om_families, "fleet_disk_latency_seconds_count")
    assert count[tuple(sorted(labels.items()))] == sum(vda)
    sums = samples(om_families, "fleet_disk_latency_seconds_sum")
    midpoints = sum(n * ((2 ** (k - 1) + 2 ** k - 1) / 2 if k else 0)
                    for k, n in enumerate(vda))
    assert sums[tuple(sorted(labels.items()))] == pytest.approx(midpoints / 1e6)


def test_host_up_events_and_run_timestamp(om_families):
    up = samples(om_families, "fleet_host_up")
    assert {dict(k)["host"]: v for k, v in up.items()} == {
        "db1": 1, "db2": 1, "db3": 1, "db4": 0}
    lost = samples(om_families, "fleet_opens_lost_events_total")
    assert {dict(k)["host"]: v for k, v in lost.items()} == {
        "db1": 0, "db2": 2, "db3": 0}
    stamp = samples(om_families, "fleet_run_timestamp_seconds")
    assert list(stamp.values()) == [1795704118]


def test_prometheus_text_passes_promtool_and_matches_openmetrics():
    families = run_families(fixture_record())
    text = to_prometheus(families)
    done = promtool(text)
    assert done.returncode == 0, done.stdout + done.stderr
    parsed = {s.name: s.value for f in parse_text(text) for s in f.samples
              if s.name == "fleet_run_exit_code"}
    assert parsed == {"fleet_run_exit_code": 4}


def test_promtool_would_catch_a_broken_counter():
    broken = "# HELP x_events events\n# TYPE x_events counter\nx_events 1\n"
    assert promtool(broken).returncode != 0


def test_label_values_are_escaped_and_names_are_snake_case():
    rec = record("r", 1, {'we"ird\\host\n': [0, 3]}, playbook="Health Sweep")
    rec["jobs"][0]["name"] = "Disk-Latency.v2"
    text = to_openmetrics(run_families(rec))
    families = list(text_string_to_metric_families(text))
    assert "fleet_disk_latency_v2_seconds" in {f.name for f in families}
    hosts = {s.labels.get("host") for f in families for s in f.samples}
    assert 'we"ird\\host\n' in hosts
    assert promtool(to_prometheus(run_families(rec))).returncode == 0


def test_tables_named_like_reserved_suffixes_get_a_value_suffix():
    rec = record("r", 1, {"h": [1]})
    rec["jobs"].append({"name": "strlen_count", "job": "strlen_count",
                        "kind": "table", "unit": None, "scale": None, "params": {},
                        "missed_runs": {}, "hosts": {"h": {"rows": {"abc": 5}}}})
    text = to_prometheus(run_families(rec))
    assert 'fleet_strlen_count_value{host="h",job="strlen_count",key="abc"' in text
    assert promtool(text).returncode == 0


def test_textfile_is_written_atomically_readable_by_others(tmp_path):
    rec = fixture_record()
    path = write_textfile(rec, tmp_path / "tf")
    assert path.name == textfile_name("disk-latency") == "fleet_disk_latency.prom"
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert path.read_text() == to_prometheus(run_families(rec))
    write_textfile(rec, tmp_path / "tf")
    assert [p.name for p in (tmp_path / "tf").iterdir()] == [path.name]
