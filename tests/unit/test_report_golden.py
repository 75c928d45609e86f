"""Exact renders of the terminal report at 80 columns, against golden files.

The golden files were reviewed by eye. After an intended change to the report,
regenerate them with ``FLEET_UPDATE_GOLDEN=1 pytest tests/unit/test_report_golden.py``
and read the diff before committing it.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest
from fleetrun import load_report_fixture
from synthrun import synthetic_results

from fleet.report import render_text
from fleet.report.terminal import ReportOptions
from fleet.results import build_results

GOLDEN = Path(__file__).parent / "golden"
SLOW = 3


@pytest.fixture(autouse=True)
def utc(monkeypatch):
    """Local times in UTC, so the clock strings in the golden files are fixed."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.fixture(scope="module")
def fleet200() -> dict:
    return synthetic_results(200, 20_000, slow=SLOW)


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("FLEET_UPDATE_GOLDEN"):
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8"), f"{path} differs"


def test_fixture_report_golden():
    check_golden("fixture.txt", render_text(build_results(*load_report_fixture())))


def test_200_hosts_golden(fleet200):
    check_golden("fleet200.txt", render_text(fleet200))


def test_200_hosts_all_hosts_sorted_by_name(fleet200):
    text = render_text(fleet200, ReportOptions(all_hosts=True, sort="name",
                                               events=3))
    rows = [line.split()[0] for line in text.splitlines()
            if re.match(r"db\d{3} +\d+ ", line)]
    slow = sorted(slow_hosts(fleet200))
    first_job = rows[:198]  # disk_latency: every ok host, outliers first
    assert first_job[:3] == slow
    assert first_job[3:] == [h for h in fleet200["jobs"][0]["hosts"] if h not in slow]
    assert "--all-hosts lists them" not in text


def slow_hosts(results: dict) -> list[str]:
    return [o["host"] for o in results["jobs"][0]["outliers"]]


def test_200_hosts_fit_80_columns_and_150_lines(fleet200):
    lines = render_text(fleet200).splitlines()
    assert max(len(line) for line in lines) <= 80
    assert len(lines) <= 150


def test_200_hosts_slow_ones_named_in_the_first_40_lines(fleet200):
    slow = slow_hosts(fleet200)
    assert len(slow) == SLOW
    head = "\n".join(render_text(fleet200).splitlines()[:40])
    for host in slow:
        assert re.search(rf"^outliers? *{host} disk_latency p99 \d+ usecs|"
                         rf"^ {{10}}{host} disk_latency p99", head, re.M), host


def test_200_hosts_fleet_counts_are_the_sum_of_the_hosts(fleet200):
    text = render_text(fleet200)
    for entry in fleet200["jobs"]:
        if entry["kind"] == "histogram":
            total = sum(h["count"] for h in entry["hosts"].values())
            assert entry["fleet"]["count"] == total
            assert re.search(rf"^\(fleet\) +{total} ", text, re.M)
        elif entry["kind"] == "events":
            total = sum(h["count"] for h in entry["hosts"].values())
            assert entry["count"] == total == len(entry["events"])
            assert f"{total} events from 198 hosts" in text
    assert "200 hosts: 198 ok, 2 unreachable (exit 4)" in text
