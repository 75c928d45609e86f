"""Unit tests for the report's findings and text helpers: reasons without
addresses, outliers with their figures, middle cuts, errno names, flags."""

from __future__ import annotations

import pytest

from fleet.report.eventstats import errno_text, event_stats
from fleet.report.findings import generic_reason, outcome_groups, outliers_of
from fleet.report.histogram import short_why
from fleet.report.hostrows import select_rows
from fleet.report.intervals import interval_lines
from fleet.report.text import middle_cut


@pytest.mark.parametrize("reason, address, name, generic", [
    ("127.0.1.4:22: Connect call failed ('127.0.1.4', 22)", "127.0.1.4", "web04",
     "Connect call failed"),
    ("ssh: connect to host 10.0.0.4 port 22: timed out", "10.0.0.4", "db4",
     "ssh: connect to host: timed out"),
    ("web03.example:22: permission denied (publickey)", "web03.example", "web03",
     "permission denied (publickey)"),
    ("job x: prog.c:7:5: error: y", "127.0.1.7", "web07",
     "job x: prog.c:7:5: error: y"),
    ("10.0.0.40:22: refused", "10.0.0.4", "db4", "10.0.0.40:22: refused"),
])
def test_generic_reason(reason, address, name, generic):
    assert generic_reason(reason, address, name) == generic


def test_a_group_of_one_keeps_its_own_words():
    hosts = {"a": {"outcome": "unreachable", "address": "10.0.0.1",
                   "reason": "10.0.0.1:22: Connect call failed ('10.0.0.1', 22)"}}
    (group,) = outcome_groups({"hosts": hosts, "jobs": []})
    assert group.reason == hosts["a"]["reason"]


def test_outlier_figures_name_the_median_host():
    stats = {f"h{i}": {"count": 100, "p50": 63, "p99": 127} for i in range(5)}
    stats["h9"] = {"count": 100, "p50": 63, "p99": 4095}
    entry = {"name": "lat", "unit": "usecs", "hosts": stats, "fleet": {},
             "outliers": [{"host": "h9", "why": "p99 ~32x above fleet"}]}
    (found,) = outliers_of(entry)
    assert (found.host, found.text) == ("h9", "p99 4095 usecs, median host 127")


@pytest.mark.parametrize("text, width, cut", [
    ("/usr/lib/locale/C.UTF-8/LC_IDENTIFICATION", 30, "/usr/lib/…/LC_IDENTIFICATION"),
    ("/usr/lib/locale/C.UTF-8/LC_IDENTIFICATION", 60,
     "/usr/lib/locale/C.UTF-8/LC_IDENTIFICATION"),
    ("/usr/lib/locale/C.UTF-8/LC_IDENTIFICATION", 20, "/…/LC_IDENTIFICATION"),
    ("abcdefghijklmnopqrstuvwxyz", 10, "abcde…wxyz"),
])
def test_middle_cut(text, width, cut):
    assert middle_cut(text, width) == cut
    assert len(middle_cut(text, width)) <= width


def test_errno_names():
    assert [errno_text(v) for v in (-2, -13, 3, 0, "x")] == [
        "ENOENT", "EACCES", 3, 0, "x"]


def test_event_stats_in_one_pass():
    columns = [{"field": "comm"}, {"field": "ret"}, {"field": "lat", "unit": "usecs"}]
    events = [{"comm": "a", "ret": -2, "lat": 3}, {"comm": "a", "ret": 4, "lat": 100},
              {"comm": "b", "ret": -2, "lat": 0}]
    stats = event_stats(iter(events), columns, keep=2)
    assert stats.seen == 3 and stats.first == events[:2]
    assert stats.text["comm"].most_common() == [("a", 2), ("b", 1)]
    assert dict(stats.results["ret"]) == {"ENOENT": 2, "ok": 1}
    assert stats.figures("lat")["max"] == 127


def test_short_why():
    assert short_why("p50 ~16x above fleet; p99 ~16x above fleet") == \
        "p50,p99 ~16x above"
    assert short_why("no samples (median host 40)") == "no samples (median host 40)"


def test_select_rows_outliers_top_bottom_and_the_rest():
    hosts = {f"h{i:02d}": {"count": 100, "p50": 10, "p99": 100 + i} for i in range(30)}
    rows = select_rows(hosts, {"h07": "!"})
    assert rows.shown == ["h07", "h29", "h28", "h27", "h26", "h25",
                          "h02", "h01", "h00"]
    assert len(rows.rest) == 21
    assert rows.rest_line() == ("21 more hosts within the fleet's band: p99 103-124 "
                                "(--all-hosts lists them)")
    assert select_rows(hosts, {}, all_hosts=True).rest == []
    assert select_rows(hosts, {}, sort="name", all_hosts=True).shown[:2] == \
        ["h00", "h01"]


def test_interval_lines_group_long_windows():
    fleet = [[0, i % 7] for i in range(600)]
    entry = {"interval_s": 1.0, "unit": "usecs", "scale": "log2",
             "fleet": {"p99": 1}, "intervals": {"fleet": fleet}}
    lines = interval_lines(entry)
    assert len(lines) <= 4 and all(len(line) <= 80 for line in lines)
    assert lines[0].startswith("count per ")
    assert "(600 intervals of 1s)" in lines[0]
    assert lines[-1].startswith("busiest 6s-7s: 6 samples")
