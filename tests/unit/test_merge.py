"""Unit tests for fleet.merge: log2 slots, percentiles, outliers, merges."""

from __future__ import annotations

import itertools
import json

import pytest

from fleet.merge import (
    hist_stats,
    iter_jsonl,
    merge_events,
    merge_tables,
    outliers,
    percentile,
    slot_of,
    slot_range,
    sum_slots,
)


@pytest.mark.parametrize(
    "k, expected",
    [
        (0, (0, 0)),
        (1, (1, 1)),
        (2, (2, 3)),
        (3, (4, 7)),
        (5, (16, 31)),
        (11, (1024, 2047)),
        (64, (2**63, 2**64 - 1)),
    ],
)
def test_slot_range(k, expected):
    assert slot_range(k) == expected


def test_slot_range_rejects_negative():
    with pytest.raises(ValueError):
        slot_range(-1)


def test_slot_of_inverts_slot_range():
    for k in range(40):
        low, high = slot_range(k)
        assert slot_of(low) == k == slot_of(high)


@pytest.mark.parametrize(
    "lists, expected",
    [
        ([[1, 2], [0, 0, 3]], [1, 2, 3]),  # unequal lengths
        ([[0, 0, 0, 0, 5], [1]], [1, 0, 0, 0, 5]),
        ([[0, 1, 0, 0], [1]], [1, 1]),  # trailing zeros trimmed
        ([[0, 0], []], []),
        ([[7]], [7]),
        ([], []),
    ],
)
def test_sum_slots(lists, expected):
    assert sum_slots(lists) == expected


def test_sum_slots_takes_a_generator_and_leaves_inputs_alone():
    first = [1, 2]
    assert sum_slots(iter([first, [1, 1, 1]])) == [2, 3, 1]
    assert first == [1, 2]


def _stats(count, p50, p90, p99, top):
    return {"count": count, "p50": p50, "p90": p90, "p99": p99, "max": top}


@pytest.mark.parametrize(
    "slots, expected",
    [
        ([], _stats(0, None, None, None, None)),
        ([0, 0, 0], _stats(0, None, None, None, None)),
        ([5], _stats(5, 0, 0, 0, 0)),  # all in slot 0: the value 0
        ([0, 0, 0, 0, 0, 7], _stats(7, 31, 31, 31, 31)),  # one slot, 16..31
        ([0, 4, 0, 0], _stats(4, 1, 1, 1, 1)),  # trailing zeros do not move max
        # 3 samples: p50 rank ceil(1.5)=2 falls in slot 1; p90 rank 3, slot 1.
        ([1, 2], _stats(3, 1, 1, 1, 1)),
        # rank 50 of 100 is the last sample of slot 0: the boundary stays there.
        ([50, 50], _stats(100, 0, 1, 1, 1)),
        ([98, 1, 1], _stats(100, 0, 0, 1, 3)),
        ([10, 0, 0, 0, 90], _stats(100, 15, 15, 15, 15)),
        # 15 | 25 | 10 in 16..31, 32..63, 64..127: rank 25 -> slot 6, 45 -> slot 7.
        ([0, 0, 0, 0, 0, 15, 25, 10], _stats(50, 63, 127, 127, 127)),
        # 989 | 10 | 1 from slot 10: p99 rank 990 is the first of slot 11.
        ([0] * 10 + [989, 10, 1], _stats(1000, 1023, 1023, 2047, 4095)),
    ],
)
def test_hist_stats(slots, expected):
    assert hist_stats(slots) == expected


def test_percentile_zero_is_the_lowest_slot():
    assert percentile([0, 0, 3, 1], 0) == 3
    assert percentile([0, 0, 3, 1], 100) == 7
    assert percentile([], 50) is None


# -- outliers -----------------------------------------------------------------


def at(slot: int, n: int = 100) -> dict:
    """Stats of n samples all in one slot."""
    return hist_stats([0] * slot + [n])


def test_similar_hosts_are_not_flagged():
    assert outliers({"a": at(6), "b": at(6), "c": at(7), "d": at(5)}) == []


def test_host_far_above_is_flagged_on_p50_and_p99():
    found = outliers({"a": at(6), "b": at(6), "c": at(10), "d": at(6)})
    assert found == [{"host": "c", "why": "p50 ~16x above fleet; p99 ~16x above fleet"}]


def test_host_far_below_is_flagged():
    found = outliers({"a": at(8), "b": at(8), "c": at(6)})
    assert found == [{"host": "c", "why": "p50 ~4x below fleet; p99 ~4x below fleet"}]


def test_one_slot_apart_is_not_an_outlier_but_two_is():
    assert outliers({"a": at(6), "b": at(6), "c": at(7)}) == []
    assert [o["host"] for o in outliers({"a": at(6), "b": at(6), "c": at(8)})] == ["c"]


def test_tail_only_outlier_is_flagged_on_p99():
    tail = hist_stats([0] * 6 + [95, 0, 0, 0, 5])
    found = outliers({"a": at(6), "b": at(6), "c": at(6), "x": tail})
    assert found == [{"host": "x", "why": "p99 ~16x above fleet"}]


def test_hosts_with_few_samples_are_not_compared():
    assert outliers({"a": at(6), "b": at(6), "c": at(6), "x": at(12, n=5)}) == []


def test_two_hosts_are_not_a_fleet():
    assert outliers({"a": at(2), "b": at(12)}) == []


def test_silent_host_in_busy_fleet_is_flagged():
    found = outliers({"a": at(6), "b": at(6), "z": hist_stats([])})
    assert found == [{"host": "z", "why": "no samples (median host 100)"}]


def test_silent_host_in_quiet_fleet_is_not_flagged():
    assert outliers({"a": at(6, 3), "b": at(6, 3), "z": hist_stats([])}) == []


def test_outliers_keep_host_order():
    stats = {"z": at(12), "a": at(6), "m": at(6), "b": at(6), "c": at(1)}
    assert [o["host"] for o in outliers(stats)] == ["z", "c"]


# -- tables -------------------------------------------------------------------


def test_merge_tables_sums_and_sorts_by_total():
    rows = merge_tables(
        {
            "db1": [{"key": "sshd", "value": 5}, {"key": "pg", "value": 100}],
            "db2": [{"key": "cron", "value": 5}, {"key": "pg", "value": 80}],
            "db3": [{"key": "pg", "value": 1}, {"key": "pg", "value": 2}],
        }
    )
    assert rows == [
        {"key": "pg", "total": 183, "hosts": {"db1": 100, "db2": 80, "db3": 3}},
        {"key": "cron", "total": 5, "hosts": {"db2": 5}},  # tie: by key
        {"key": "sshd", "total": 5, "hosts": {"db1": 5}},
    ]


def test_merge_tables_empty():
    assert merge_tables({}) == []
    assert merge_tables({"db1": []}) == []


# -- events -------------------------------------------------------------------


def events(host: str, times: list[int]) -> list[dict]:
    return [{"ts_ns": t, "host": host} for t in times]


def test_merge_events_interleaves_three_hosts_and_an_empty_one():
    streams = [
        events("a", [1, 4, 9, 10]),
        events("b", [2, 3, 11]),
        [],
        events("c", [0, 5, 6, 7, 8]),
    ]
    merged = list(merge_events(iter(s) for s in streams))
    assert [e["ts_ns"] for e in merged] == list(range(12))
    assert [e["host"] for e in merged][:4] == ["c", "a", "b", "b"]


def test_merge_events_keeps_input_order_on_ties():
    merged = merge_events([events("a", [1, 2]), events("b", [1, 2]), events("c", [1])])
    assert [e["host"] for e in merged] == ["a", "b", "c", "a", "b"]


def test_merge_events_streams():
    pulled = []

    def endless(host: str, start: int):
        for t in itertools.count(start, 3):
            pulled.append(host)
            yield {"ts_ns": t, "host": host}

    merged = merge_events([endless("a", 0), endless("b", 1), endless("c", 2)])
    first = list(itertools.islice(merged, 30))
    assert [e["ts_ns"] for e in first] == list(range(30))
    # Only the heap's one pending event per stream is read ahead.
    assert len(pulled) <= 30 + 3


def test_merge_events_custom_key():
    merged = merge_events([[{"t": 3}], [{"t": 1}, {"t": 4}]], key=lambda e: e["t"])
    assert [e["t"] for e in merged] == [1, 3, 4]


def write_jsonl(path, objects, blank_every: int = 0) -> None:
    with open(path, "w") as out:
        for i, obj in enumerate(objects, 1):
            out.write(json.dumps(obj) + "\n")
            if blank_every and i % blank_every == 0:
                out.write("\n")


@pytest.mark.parametrize("batch", [0, 1, 2, 7, 1000])
def test_iter_jsonl_reads_every_object_in_any_batch_size(tmp_path, batch):
    objects = [{"ts_ns": i, "n": i * 2} for i in range(20)]
    path = tmp_path / "e.jsonl"
    write_jsonl(path, objects, blank_every=3)
    assert list(iter_jsonl(str(path), batch)) == objects


def test_iter_jsonl_names_the_bad_line(tmp_path):
    path = tmp_path / "e.jsonl"
    path.write_text('{"ts_ns": 1}\n\n{"ts_ns": \n')
    with pytest.raises(ValueError, match=r"e\.jsonl:3: bad JSON"):
        list(iter_jsonl(str(path)))
    with pytest.raises(ValueError, match=r"e\.jsonl:3: bad JSON"):
        list(iter_jsonl(str(path), batch=1))


# -- linear histograms: slot k holds exactly the value k ------------------------


@pytest.mark.parametrize(
    "slots, expected",
    [
        ([], _stats(0, None, None, None, None)),
        ([5], _stats(5, 0, 0, 0, 0)),
        ([0, 0, 0, 0, 0, 7], _stats(7, 5, 5, 5, 5)),  # log2 would say 31
        ([1, 2], _stats(3, 1, 1, 1, 1)),
        ([50, 50], _stats(100, 0, 1, 1, 1)),
        ([0] * 10 + [989, 10, 1], _stats(1000, 10, 10, 11, 12)),
        ([0, 10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0],
         _stats(11, 1, 1, 21, 21)),
    ],
)
def test_hist_stats_linear(slots, expected):
    assert hist_stats(slots, "linear") == expected


def test_linear_percentile_and_range():
    assert slot_range(7, "linear") == (7, 7)
    assert percentile([0, 0, 0, 3, 1], 99, "linear") == 4
    assert percentile([0, 0, 0, 3, 1], 99) == 15  # the same slots read as log2
    with pytest.raises(ValueError, match="scale must be one of log2, linear"):
        slot_range(1, "log10")
