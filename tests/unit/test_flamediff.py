"""The differential flame graph's data (fleet.report.flamediff): which frames
grew or shrank between two folded inputs, and what the stacks section embeds."""

from __future__ import annotations

import pytest

from fleet.report.flamediff import (
    MIN_CHANGE,
    StackBaseline,
    diff_view,
    frame_changes,
    frame_values,
    most_changed,
)

BASE = {"app;main;read": 50, "app;main;parse": 30, "app;gc": 20}


def directions(base, this) -> dict[str, str]:
    return {path: c.direction for path, c in frame_changes(base, this).items()}


def test_each_stack_counts_for_every_frame_above_it():
    assert frame_values({"a;b;c": 3, "a;b": 2, "a;d": 1, "x": 0}) == {
        "a": 6, "a;b": 5, "a;b;c": 3, "a;d": 1}


@pytest.mark.parametrize("this, expected", [
    # parse doubles, read stays: parse and its parent main grow, the rest shrink
    ({"app;main;read": 50, "app;main;parse": 60, "app;gc": 20},
     {"app": "same", "app;main": "grew", "app;main;read": "shrank",
      "app;main;parse": "grew", "app;gc": "shrank"}),
    # the same shape at twice the samples (a longer window): nothing changed
    ({"app;main;read": 100, "app;main;parse": 60, "app;gc": 40},
     {"app": "same", "app;main": "same", "app;main;read": "same",
      "app;main;parse": "same", "app;gc": "same"}),
    # gc is gone, a new frame came: gone frames shrink, new ones grow
    ({"app;main;read": 50, "app;main;parse": 30, "app;main;alloc": 20},
     {"app": "same", "app;main": "grew", "app;main;read": "same",
      "app;main;parse": "same", "app;main;alloc": "grew", "app;gc": "shrank"}),
])
def test_frames_grow_and_shrink_by_their_share_of_all_samples(this, expected):
    assert directions(BASE, this) == expected


def test_counts_shares_and_delta_of_a_frame():
    this = {"app;main;read": 50, "app;main;parse": 130, "app;gc": 20}
    parse = frame_changes(BASE, this)["app;main;parse"]
    assert (parse.count, parse.base) == (130, 30)
    assert parse.share == pytest.approx(0.65) and parse.base_share == pytest.approx(0.3)
    assert parse.delta == pytest.approx(0.35)


def test_a_change_below_the_bound_is_same():
    # 1 sample of 2000 is 0.05 points: below MIN_CHANGE (0.1 points)
    base = {"a;f": 1000, "a;g": 1000}
    assert MIN_CHANGE == 0.001
    assert directions(base, {"a;f": 1001, "a;g": 999})["a;f"] == "same"
    assert directions(base, {"a;f": 1002, "a;g": 998}) == {
        "a": "same", "a;f": "grew", "a;g": "shrank"}


def test_an_empty_side_has_zero_shares():
    assert directions({}, {"a;b": 5}) == {"a": "grew", "a;b": "grew"}
    assert directions({"a;b": 5}, {}) == {"a": "shrank", "a;b": "shrank"}


def test_most_changed_names_where_the_change_is_not_each_frame_above_it():
    this = {"app;main;read": 50, "app;main;parse": 60, "app;gc": 20,
            "ssh;loop;select": 70}
    base = dict(BASE, **{"ssh;loop;select": 10})
    grew, shrank = most_changed(frame_changes(base, this))
    # ssh and ssh;loop carry exactly ssh;loop;select's samples: only it is listed
    assert [c.path for c in grew] == ["ssh;loop;select", "app;main;parse"]
    assert [c.path for c in shrank] == ["app", "app;main;read", "app;main", "app;gc"]
    assert grew[0].delta > grew[1].delta > 0 > shrank[0].delta
    assert most_changed(frame_changes(base, this), n=1)[0] == grew[:1]


def flame_of(rows):
    hosts = sorted({h for r in rows for h in r["hosts"]})
    index = {h: i for i, h in enumerate(hosts)}
    return {"hosts": hosts, "stacks": [
        [r["key"], [x for h, n in r["hosts"].items() for x in (index[h], n)]]
        for r in rows]}


ROWS = [{"key": "app;main;read", "total": 30, "hosts": {"h1": 10, "h2": 20}},
        {"key": "app;main;parse", "total": 60, "hosts": {"h1": 60}}]


def test_diff_view_adds_baseline_counts_per_host_of_this_run():
    flame = flame_of(ROWS)
    baseline = StackBaseline(
        runs=(("r2", 2 * 10**9), ("r1", 10**9)), asked=3,
        stacks={"cpu": {"h1": {"app;main;read": 40, "app;gc": 5},
                        "h2": {"app;main;read": 10},
                        "gone": {"app;main;parse": 99}}})
    view = diff_view("cpu", ROWS, flame, baseline)
    # per stack: [key, this run's counts, the baseline's]; host indexes shared
    assert flame["stacks"] == [
        ["app;main;read", [0, 10, 1, 20], [0, 40, 1, 10]],
        ["app;main;parse", [0, 60], []],
        ["app;gc", [], [0, 5]],
    ]
    assert flame["min_change"] == MIN_CHANGE
    assert [r["id"] for r in view["runs"]] == ["r2", "r1"]
    assert view["asked"] == 3 and view["samples"] == 55  # host "gone" left out
    assert view["no_base"] == ""
    # gc's share went to main: main grew with parse, under an unchanged app
    assert [c["path"] for c in view["grew"]] == ["app;main;parse", "app;main"]
    assert [c["frame"] for c in view["shrank"]] == ["read", "gc"]
    assert view["grew"][0] == {"frame": "parse", "path": "app;main;parse",
                               "base": 0.0, "now": 66.7, "delta": 66.7}


def test_diff_view_without_a_baseline_says_why():
    flame = flame_of(ROWS)
    assert "no earlier run" in diff_view("cpu", ROWS, flame, None)["reason"]
    why = StackBaseline(reason="no history at /x yet")
    assert diff_view("cpu", ROWS, flame, why) == {"reason": "no history at /x yet"}
    other = StackBaseline(runs=(("r1", 1),), stacks={"prof": {}})
    assert diff_view("cpu", ROWS, flame, other) == {
        "reason": "the baseline's runs have no stacks job 'cpu'"}
    assert all(len(stack) == 2 for stack in flame["stacks"])  # left as it was


def test_diff_view_names_hosts_without_a_baseline():
    flame = flame_of(ROWS)
    baseline = StackBaseline(runs=(("r1", 1),), stacks={"cpu": {"h1": {"app": 3}}})
    assert diff_view("cpu", ROWS, flame, baseline)["no_base"] == "h2"
