"""Unit tests for fleet.diff and the merge figures it uses: flags, keys, hosts on one
side, outcomes, baselines, differential folded stacks, the text and sweep line."""

from __future__ import annotations

import copy

import pytest
from histrecords import fixture_record, record, renamed, shifted

from fleet.diff import (
    EXIT_REGRESSED,
    Thresholds,
    baseline_record,
    diff_exit_code,
    diff_folded,
    diff_runs,
)
from fleet.merge import approx_sum, median_slots, slot_distance
from fleet.report.diffview import render_diff, sweep_line

# 30 samples between 1024 and 4095 usecs (p50 2047, p99 4095).
FAST = [0] * 11 + [10, 20]


@pytest.mark.parametrize("a, b, expected", [
    ([0, 10], [0, 10], 0.0),
    ([0, 10], [0, 0, 10], 1.0),
    ([0, 10], [0, 0, 0, 0, 5], 3.0),          # scaled: counts do not matter
    ([10, 10], [0, 0, 20], 1.5),
    ([], [1], None),
])
def test_slot_distance_is_earth_movers_in_slots(a, b, expected):
    assert slot_distance(a, b) == expected


def test_median_slots_takes_the_lower_middle_of_each_slot():
    assert median_slots([[1, 5], [9, 1, 4], [3, 3]]) == [3, 3]
    assert median_slots([[1, 2], [3, 4]]) == [1, 2]
    assert median_slots([]) == []


def test_approx_sum_uses_slot_midpoints():
    # slot 0: 0; slot 1: 1..1 -> 1; slot 3: 4..7 -> 5.5
    assert approx_sum([2, 1, 0, 2]) == 0 + 1 + 11
    assert approx_sum([0, 2, 3], "linear") == 2 + 6


@pytest.mark.parametrize("b_slots, flag", [
    (FAST, "same"),
    (shifted(FAST, 1), "same"),                # 2x: jitter
    (shifted(FAST, 2), "regressed"),           # 4x
    (shifted(FAST, 5), "regressed"),
    (FAST[2:], "improved"),
    (FAST[:12] + [0] * 3 + [1], "same"),       # 1 slow sample of 11 is not p99
])
def test_flag_by_p50_or_p99_slot_moves(b_slots, flag):
    diff = diff_runs(record("a", 1, {"h": FAST}), record("b", 2, {"h": b_slots}))
    assert diff["jobs"][0]["hosts"]["h"]["flag"] == flag
    assert diff["hosts"]["h"]["flag"] == flag


def test_few_samples_never_flag():
    few = [0] * 11 + [5]
    a, b = record("a", 1, {"h": few}), record("b", 2, {"h": shifted(few, 6)})
    assert diff_runs(a, b)["hosts"]["h"]["flag"] == "same"
    strict = diff_runs(a, b, Thresholds(slots=2, min_count=5))
    assert strict["hosts"]["h"]["flag"] == "regressed"


def test_threshold_slots_is_settable():
    a, b = record("a", 1, {"h": FAST}), record("b", 2, {"h": shifted(FAST, 1)})
    assert diff_runs(a, b, Thresholds(slots=1))["hosts"]["h"]["flag"] == "regressed"
    assert diff_runs(a, b, Thresholds(slots=3))["hosts"]["h"]["flag"] == "same"


def test_histogram_figures_are_pairs_from_merge():
    a, b = record("a", 1, {"h": FAST}), record("b", 2, {"h": shifted(FAST, 5)})
    diff = diff_runs(a, b)
    entry = diff["jobs"][0]["hosts"]["h"]
    assert entry["count"] == [30, 30]
    assert entry["p50"] == [4095, 131071]
    assert entry["p99"] == [4095, 131071]
    assert entry["distance"] == 5.0
    assert entry["why"] == ["lat p99 4095 -> 131071 usecs"]  # a tie: p99 named
    assert diff_exit_code(diff) == EXIT_REGRESSED


def test_hosts_on_one_side_are_added_or_removed_not_compared():
    a = record("a", 1, {"h1": FAST, "old": FAST})
    b = record("b", 2, {"h1": shifted(FAST, 3), "new": shifted(FAST, 9)})
    diff = diff_runs(a, b)
    assert diff["added"] == ["new"] and diff["removed"] == ["old"]
    assert list(diff["hosts"]) == ["h1"]
    assert list(diff["jobs"][0]["hosts"]) == ["h1"]
    assert diff["summary"] == {"same": 0, "improved": 0, "regressed": 1,
                               "added": 1, "removed": 1}


def test_outcome_changes_flag_the_host():
    a = record("a", 1, {"h1": FAST, "h2": FAST}, outcomes={"h3": "unreachable"})
    b = record("b", 2, {"h1": FAST, "h3": FAST}, outcomes={"h2": "attach-error"})
    diff = diff_runs(a, b)
    assert diff["hosts"]["h2"] == {"flag": "regressed",
                                   "why": ["outcome ok -> attach-error"]}
    assert diff["hosts"]["h3"] == {"flag": "improved",
                                   "why": ["outcome unreachable -> ok"]}
    assert diff_exit_code(diff) == EXIT_REGRESSED


def test_keyed_histograms_flag_per_key_and_the_host_takes_the_worst():
    rec_a = record("a", 1, {"h": FAST})
    rec_a["jobs"][0]["hosts"]["h"] = {"slots": {"vda": FAST, "vdb": FAST}}
    rec_b = copy.deepcopy(rec_a)
    rec_b["run"]["id"] = "b"
    rec_b["jobs"][0]["hosts"]["h"] = {"slots": {"vda": FAST, "vdb": shifted(FAST, 4)}}
    entry = diff_runs(rec_a, rec_b)["jobs"][0]["hosts"]["h"]
    assert entry["keys"]["vda"]["flag"] == "same"
    assert entry["keys"]["vdb"]["flag"] == "regressed"
    assert entry["flag"] == "regressed"
    assert "lat[vdb] p99 4095 -> 65535 usecs" in entry["why"]


def test_events_rates_tables_and_jobs_on_one_side():
    a, b = fixture_record(), renamed(fixture_record(), "b", 2)
    b["jobs"] = [j for j in b["jobs"] if j["name"] != "opens"]
    rows = b["jobs"][1]["hosts"]["db1"]["rows"]
    key = next(iter(rows))
    rows[key] += 40
    diff = diff_runs(a, b)
    assert diff["jobs_removed"] == ["opens"] and diff["jobs_added"] == []
    table = next(j for j in diff["jobs"] if j["kind"] == "table")
    assert table["hosts"]["db1"]["rows"][0] == {
        "key": key, "a": rows[key] - 40, "b": rows[key], "delta": 40}
    events = diff_runs(a, renamed(a, "c", 3))["jobs"][1]["hosts"]["db2"]
    assert events["count"] == [3, 3] and events["lost"] == [2, 2]
    assert events["rate"][0] == pytest.approx(3 / 10.002, abs=1e-3)


def test_stacks_that_grew_and_shrank_and_the_differential_folded_lines():
    a = record("a", 1, {"h": FAST}, stacks={"h": {"m;work": 90, "m;idle": 10}})
    b = record("b", 2, {"h": FAST}, stacks={"h": {"m;work": 50, "m;lock": 50}})
    entry = next(j for j in diff_runs(a, b)["jobs"] if j["kind"] == "stacks")
    host = entry["hosts"]["h"]
    assert host["samples"] == [100, 100]
    assert [c["stack"] for c in host["grew"]] == ["m;lock"]
    assert [c["stack"] for c in host["shrank"]] == ["m;work", "m;idle"]
    assert diff_folded({"m;work": 90, "m;idle": 10}, {"m;work": 50, "m;lock": 50}) == [
        "m;idle 10 0", "m;lock 0 50", "m;work 90 50"]


def test_baseline_is_the_per_host_median_and_one_bad_run_does_not_move_it():
    runs = [record("r3", 3, {"h": FAST, "gone": FAST}),
            record("r2", 2, {"h": shifted(FAST, 6)}),    # one bad sweep
            record("r1", 1, {"h": FAST})]
    base = baseline_record(runs)
    assert base["run"]["baseline"] == ["r3", "r2", "r1"]
    assert base["jobs"][0]["hosts"]["h"]["slots"][""] == FAST
    latest = record("r4", 4, {"h": shifted(FAST, 6), "new": FAST})
    diff = diff_runs(base, latest)
    assert diff["hosts"]["h"]["flag"] == "regressed"
    assert diff["added"] == ["new"] and diff["removed"] == ["gone"]
    assert diff["a"]["baseline"] == ["r3", "r2", "r1"]
    assert "no history (not compared): new" in render_diff(diff)


def test_text_fits_80_columns_and_names_both_runs():
    a, b = fixture_record(), renamed(fixture_record(), "b-run", 2)
    for data in b["jobs"][0]["hosts"].values():
        data["slots"] = {k: shifted(s, 4) for k, s in data["slots"].items()}
    text = render_diff(diff_runs(a, b))
    assert text.splitlines()[0] == f"DIFF {a['run']['id']} -> b-run"
    assert max(len(line) for line in text.splitlines()) <= 80
    assert "hosts: 3 regressed, 0 improved, 1 same" in text


def test_sweep_line_names_the_worst_percentile_per_host_and_fits():
    hosts = {f"db{i}": FAST for i in range(1, 9)}
    slow = {h: shifted(s, 3) for h, s in hosts.items()}
    line = sweep_line(diff_runs(record("a", 1, hosts), record("b", 2, slow)))
    assert line == ("vs last sweep: 8 hosts regressed "
                    "(db1 lat p99 4095 -> 32767 usecs, ...)")
    assert len(sweep_line(diff_runs(record("a", 1, hosts), record("b", 2, slow)),
                          width=120).split(", ")) == 3
    calm = sweep_line(diff_runs(record("a", 1, hosts), record("b", 2, hosts)))
    assert calm == "vs last sweep: no host regressed (8 same)"
