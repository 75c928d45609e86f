"""Unit tests for agent.intervals: a histogram drained every interval."""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
for _p in (str(REPO), str(REPO / "fleet")):
    if _p not in sys.path:
        sys.path.append(_p)

from agent.intervals import HistIntervals, merge_slots  # noqa: E402

S = 1_000_000_000
OUT = {"name": "latency", "kind": "histogram", "interval": 1.0}


class Job:
    """A job whose histogram map holds what the test put there; drains empty it."""

    id = "lat"

    def __init__(self):
        self.map = {}
        self.reads = []

    def outputs(self, kind):
        return [OUT] if kind == "histogram" else []

    def add(self, slot, n=1, label=""):
        counts = self.map.setdefault(label, [])
        counts.extend([0] * (slot + 1 - len(counts)))
        counts[slot] += n

    def read_hist(self, out, drain=False):
        assert drain
        taken, self.map = self.map, {}
        return taken


def test_merge_slots_sums_per_label():
    assert merge_slots([{"a": [1, 2]}, {"a": [0, 0, 3], "b": [1]}]) == {
        "a": [1, 2, 3], "b": [1]}


def test_one_read_per_interval_without_drift():
    job, iv = Job(), HistIntervals()
    job.add(3, 5)
    iv.read_due([job], 0, S // 2)  # not due yet
    assert iv.fields(job, OUT) is None
    iv.read_due([job], 0, S + S // 20)  # due, read 50 ms late
    job.add(4, 2)
    iv.read_due([job], 0, 2 * S + S // 100)  # due again: 1 s after 1 s, not after 1.05
    job.add(5, 1)
    iv.read_due([job], 0, 3 * S, final=True)
    fields = iv.fields(job, OUT)
    assert fields["intervals"] == [{"": [0, 0, 0, 5]}, {"": [0, 0, 0, 0, 2]},
                                   {"": [0, 0, 0, 0, 0, 1]}]
    assert fields["slots"] == {"": [0, 0, 0, 5, 2, 1]}


def test_a_final_sliver_joins_the_last_interval():
    job, iv = Job(), HistIntervals()
    job.add(1, 4)
    iv.read_due([job], 0, S)
    job.add(1, 1)
    iv.read_due([job], 0, S + S // 20, final=True)  # 50 ms: less than a tenth
    assert iv.fields(job, OUT)["intervals"] == [{"": [0, 5]}]


def test_outputs_without_interval_are_not_drained():
    job, iv = Job(), HistIntervals()
    job.outputs = lambda kind: [dict(OUT, interval=None)]
    job.add(2)
    iv.read_due([job], 0, 5 * S, final=True)
    assert job.map == {"": [0, 0, 1]}
    assert iv.fields(job, OUT) is None


def test_perf_buffers_open_with_the_jobs_buffer_pages(monkeypatch):
    import types

    from agent.outputs import OutputReader

    class RingBuf:
        pass

    class PerfTable:
        def open_perf_buffer(self, handle, page_cnt, lost_cb, wakeup_events):
            self.page_cnt = page_cnt

    fake = types.ModuleType("bcc.table")
    fake.RingBuf = RingBuf
    monkeypatch.setitem(sys.modules, "bcc", types.ModuleType("bcc"))
    monkeypatch.setitem(sys.modules, "bcc.table", fake)
    tables = {"a": PerfTable(), "b": PerfTable()}

    class Reader(OutputReader):
        plan = {"outputs": [{"name": "a", "kind": "events", "map": "a",
                             "buffer_pages": 256},
                            {"name": "b", "kind": "events", "map": "b"}]}

        def _map(self, name):
            return tables[name]

    Reader().open_events(None, None)
    assert (tables["a"].page_cnt, tables["b"].page_cnt) == (256, 64)
