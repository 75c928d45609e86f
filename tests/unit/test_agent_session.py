"""Unit tests for agent.session (event window, flush, messages) and agent.backend
(attach-point choice, compile flags, compile-error reasons, reading outputs).

The agent imports ``wire`` as a top-level module (as inside the bundle), so the
checkout's fleet/ directory is put on sys.path. Session runs with a fake Outbox
that decodes every message the way the controller would, and a fake Inbox.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import queue
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
for _p in (str(REPO), str(REPO / "fleet")):
    if _p not in sys.path:
        sys.path.append(_p)

import wire  # noqa: E402

from agent import attach, backend, decode, facts, session  # noqa: E402
from agent import btf as btf_mod  # noqa: E402
from agent.backend import (  # noqa: E402
    BccJob,
    JobError,
    choose_points,
    point_label,
    point_unavailable,
    resolve_cflags,
    use_macro,
)
from agent.decode import Decoders  # noqa: E402
from agent.session import BATCH_MAX, Session  # noqa: E402

WALL0 = 1_700_000_000_000_000_000  # wall-clock ns at the window's start
MONO0 = 1_000  # monotonic ns at the window's start
OFFSET = WALL0 - MONO0
OUT = {
    "name": "io",
    "kind": "events",
    "map": "events",
    "time": "ts",
    "decode": {"dev": "disk"},
}
SDA = (8 << 20) | 0
KPROBES_OFF = "kprobes are not available on this kernel (no kprobe_events)"
NO_TP = "no tracepoint %s on this kernel"


class FakeOutbox:
    """Records every message, round-tripped through the wire encoding."""

    def __init__(self):
        self.sent = []

    def send(self, kind, **fields):
        msg = wire.decode(wire.encode(wire.message(kind, **fields)))
        del msg["v"]
        self.sent.append(msg)

    def of(self, kind):
        return [m for m in self.sent if m["type"] == kind]


class FakeInbox:
    """Hands out scripted messages; queue.Empty when the script is used up."""

    def __init__(self, *messages):
        self.messages = list(messages)

    def get(self, timeout):
        if not self.messages:
            raise queue.Empty
        return self.messages.pop(0)


class FakeJob:
    def __init__(self, job_id="job1"):
        self.id = job_id


@pytest.fixture
def disks(monkeypatch):
    monkeypatch.setattr(decode, "block_devices", lambda sys_block=None: {SDA: "sda"})


@pytest.fixture
def sess(tmp_path, disks):
    s = Session(FakeOutbox(), FakeInbox(), str(tmp_path))
    s.window = {"start_ns": WALL0, "start_mono": MONO0}
    s.offset_ns = OFFSET
    return s


def add(s, mono, job_id="job1", name="io", **fields):
    """Put one event straight into pending, as _on_event would."""
    s.pending.append((mono, job_id, name, dict(fields, ts_ns=mono + OFFSET)))


def events_msgs(s):
    return [
        (m["job"], m["output"], [e["ts_ns"] - OFFSET for e in m["events"]], m["lost"])
        for m in s.out.sent
        if m["type"] == "events"
    ]


# ---------------------------------------------------------------------------
# _on_event: window filtering, time conversion, decoding


@pytest.mark.parametrize(
    "mono, end_mono, kept",
    [
        (MONO0 - 1, None, False),  # before the window
        (MONO0, None, True),  # at its start: in
        (MONO0 + 5_000, None, True),
        (1_999, 2_000, True),
        (2_000, 2_000, False),  # at its end: out
        (2_500, 2_000, False),
    ],
)
def test_on_event_window(sess, mono, end_mono, kept):
    if end_mono is not None:
        sess.window["end_mono"] = end_mono
    sess._on_event(FakeJob(), OUT, {"ts": mono, "dev": SDA, "pid": 7})
    if kept:
        assert sess.pending == [
            (mono, "job1", "io", {"pid": 7, "disk": "sda", "ts_ns": mono + OFFSET})
        ]
    else:
        assert sess.pending == []


def test_on_event_before_any_window_is_dropped(sess):
    sess.window = None
    sess._on_event(FakeJob(), OUT, {"ts": 10**12, "dev": SDA})
    assert sess.pending == []


def test_on_event_without_time_field_uses_monotonic_now(sess, monkeypatch):
    monkeypatch.setattr(session.time, "monotonic_ns", lambda: 1_500)
    out = {"name": "calls", "kind": "events"}
    sess._on_event(FakeJob("j2"), out, {"pid": 3, "ts": 99})
    assert sess.pending == [
        (1_500, "j2", "calls", {"pid": 3, "ts": 99, "ts_ns": 1_500 + OFFSET})
    ]


def test_on_event_ts_ns_is_mono_plus_offset(sess):
    sess.offset_ns = 123
    sess._on_event(FakeJob(), {"name": "io", "time": "when"}, {"when": 4_000, "x": 1})
    assert sess.pending == [(4_000, "job1", "io", {"x": 1, "ts_ns": 4_123})]


def test_on_lost_counts_per_job_and_output(sess):
    sess._on_lost(FakeJob("a"), {"name": "io"}, 3)
    sess._on_lost(FakeJob("a"), {"name": "io"}, 4)
    sess._on_lost(FakeJob("b"), {"name": "io"}, 1)
    assert sess.lost == {("a", "io"): 7, ("b", "io"): 1}


# ---------------------------------------------------------------------------
# _flush: hold back past the watermark, sort, batch, lost counts


def test_flush_holds_back_events_past_the_watermark(sess):
    for mono in (50, 10, 30, 90, 70):
        add(sess, mono)
    sess._flush(50)
    assert events_msgs(sess) == [("job1", "io", [10, 30, 50], 0)]
    assert [e[0] for e in sess.pending] == [90, 70]
    sess._flush(60)  # nothing new is ready: nothing sent
    assert len(sess.out.sent) == 1
    sess._flush(100)
    assert events_msgs(sess)[1:] == [("job1", "io", [70, 90], 0)]
    assert sess.pending == []


def test_flush_final_sends_everything_sorted(sess):
    for mono in (300, 100, 200):
        add(sess, mono)
    sess._flush(0, final=True)
    assert events_msgs(sess) == [("job1", "io", [100, 200, 300], 0)]
    assert sess.pending == []


def test_flush_keeps_arrival_order_for_equal_times(sess):
    add(sess, 10, seq="a")
    add(sess, 5, seq="z")
    add(sess, 10, seq="b")
    sess._flush(10)
    assert [e["seq"] for e in sess.out.sent[0]["events"]] == ["z", "a", "b"]


def test_flush_one_message_per_job_and_output_in_sorted_order(sess):
    add(sess, 3, "jobB", "io")
    add(sess, 1, "jobA", "z")
    add(sess, 2, "jobA", "a")
    add(sess, 4, "jobA", "a")
    sess._flush(10)
    assert events_msgs(sess) == [
        ("jobA", "a", [2, 4], 0),
        ("jobA", "z", [1], 0),
        ("jobB", "io", [3], 0),
    ]


@pytest.mark.parametrize(
    "count, sizes",
    [
        (1, [1]),
        (BATCH_MAX - 1, [BATCH_MAX - 1]),
        (BATCH_MAX, [BATCH_MAX]),
        (BATCH_MAX + 1, [BATCH_MAX, 1]),
        (2 * BATCH_MAX + 500, [BATCH_MAX, BATCH_MAX, 500]),
    ],
)
def test_flush_batches_of_batch_max(sess, count, sizes):
    assert BATCH_MAX == 2000
    for mono in range(count, 0, -1):  # arrive in reverse order
        add(sess, mono)
    sess.lost[("job1", "io")] = 7
    sess._flush(count)
    msgs = sess.out.of("events")
    assert [len(m["events"]) for m in msgs] == sizes
    assert [m["lost"] for m in msgs] == [7] + [0] * (len(sizes) - 1)
    sent = [e["ts_ns"] - OFFSET for m in msgs for e in m["events"]]
    assert sent == list(range(1, count + 1))
    assert sess.lost == {}


def test_flush_lost_waits_for_events_or_the_final_flush(sess):
    sess.lost[("job1", "io")] = 4
    sess.lost[("job2", "io")] = 2
    add(sess, 100, "job2", "io")
    sess._flush(50)  # nothing ready: nothing sent, nothing forgotten
    assert sess.out.sent == []
    assert sess.lost == {("job1", "io"): 4, ("job2", "io"): 2}
    sess._flush(100)  # job2 has events: its lost count rides along
    assert events_msgs(sess) == [("job2", "io", [100], 2)]
    assert sess.lost == {("job1", "io"): 4}
    sess._flush(200, final=True)  # job1's count goes out on its own
    assert events_msgs(sess)[1:] == [("job1", "io", [], 4)]
    assert sess.lost == {}


def test_flush_final_with_events_and_lost_on_other_keys(sess):
    sess.lost[("b", "io")] = 9
    add(sess, 5, "a", "io")
    sess._flush(0, final=True)
    assert events_msgs(sess) == [("a", "io", [5], 0), ("b", "io", [], 9)]


def test_flush_final_with_nothing_sends_nothing(sess):
    sess._flush(0, final=True)
    sess._flush(0)
    assert sess.out.sent == []


def test_flush_via_on_event_end_to_end(sess):
    job = FakeJob()
    for mono in (1_300, 1_100, 1_200):
        sess._on_event(job, OUT, {"ts": mono, "dev": SDA, "pid": mono})
    sess._flush(1_200)
    assert sess.out.sent == [
        {
            "type": "events",
            "job": "job1",
            "output": "io",
            "lost": 0,
            "events": [
                {"pid": 1_100, "disk": "sda", "ts_ns": 1_100 + OFFSET},
                {"pid": 1_200, "disk": "sda", "ts_ns": 1_200 + OFFSET},
            ],
        }
    ]


# ---------------------------------------------------------------------------
# the window loop, with a fake clock and a fake BCC job


class Clock:
    def __init__(self, now):
        self.now = now

    def __call__(self):
        return self.now


class ScriptedJob:
    """A job whose polls deliver scripted events and take scripted time."""

    streams = True  # it has an events output to poll

    def __init__(self, sess, clock, script, hist=None):
        self.id = "job1"
        self.sess = sess
        self.clock = clock
        self.script = list(script)  # per poll: (event monos, clock after the poll)
        self.hist = hist
        self.polls = []
        self.misses = [0]  # missed_runs() answers, in turn; the last one repeats

    def missed_runs(self):
        return self.misses.pop(0) if len(self.misses) > 1 else self.misses[0]

    def outputs(self, kind):
        if kind == "events":
            return [OUT]
        if kind == "histogram" and self.hist is not None:
            return [{"name": "lat", "kind": "histogram", "map": "dist"}]
        return []

    def poll(self, timeout_ms):
        self.polls.append(timeout_ms)
        if self.script:
            monos, after = self.script.pop(0)
            for mono in monos:
                self.sess._on_event(self, OUT, {"ts": mono, "dev": SDA})
            self.clock.now = after

    def read_hist(self, out):
        return self.hist

    def window_open(self):
        pass

    def trace_lines(self):
        return []


def test_window_loop_sends_sorted_batches_then_hist_then_done(sess, monkeypatch):
    clock = Clock(MONO0)
    monkeypatch.setattr(session.time, "monotonic_ns", clock)
    job = ScriptedJob(
        sess,
        clock,
        [
            ([1_050], 1_100),  # poll 1: the watermark is the window start: held back
            ([1_150, 1_020], 1_200),  # poll 2: a late event from another CPU
            ([1_250], 1_300),  # poll 3: flushes up to poll 2's start (1_100)
            ([1_290, 1_310], 1_350),  # final poll after the window: 1_310 is outside
        ],
        hist={"": [0, 2, 1]},
    )
    sess.jobs = [job]
    sess.compile_s = 1.23456
    sess._collect_until(1_300)
    assert sess.window["end_mono"] == 1_300
    assert sess.window["end_ns"] == WALL0 + 300
    sess._close_window()
    msgs = sess.out.sent
    assert [m["type"] for m in msgs] == ["events", "hist", "events", "done"]
    assert events_msgs(sess) == [
        ("job1", "io", [1_020, 1_050], 0),
        ("job1", "io", [1_150, 1_250, 1_290], 0),
    ]
    assert msgs[1] == {
        "type": "hist",
        "job": "job1",
        "output": "lat",
        "slots": {"": [0, 2, 1]},
    }
    assert msgs[3]["window"] == {"start_ns": WALL0, "end_ns": WALL0 + 300}
    assert msgs[3]["compile_s"] == 1.235
    assert isinstance(msgs[3]["peak_rss_kb"], int) and msgs[3]["peak_rss_kb"] > 0
    assert job.polls == [session.POLL_MS] * 3 + [0]


def test_done_reports_the_runs_the_kernel_skipped_in_the_window(sess, monkeypatch):
    clock = Clock(MONO0)
    monkeypatch.setattr(session.time, "monotonic_ns", clock)
    monkeypatch.setattr(session.time, "time_ns", lambda: WALL0)
    busy = ScriptedJob(sess, clock, [([], 1_100)])
    busy.misses = [5, 12]  # 5 skipped before the window: they do not count
    quiet = ScriptedJob(sess, clock, [])
    quiet.id, quiet.misses = "job2", [3]
    sess.jobs = [busy, quiet]
    sess._open_window(WALL0)
    sess._collect_until(clock.now + 100)
    sess._close_window()
    assert sess.out.sent[-1]["type"] == "done"
    assert sess.out.sent[-1]["missed"] == {"job1": 7}


def test_window_loop_stops_on_stop(sess, monkeypatch):
    clock = Clock(MONO0)
    monkeypatch.setattr(session.time, "monotonic_ns", clock)
    sess.inbox = FakeInbox({"v": 1, "type": "stop"})
    sess.jobs = [ScriptedJob(sess, clock, [([1_010], 1_100), ([1_150], 1_200)])]
    sess._collect_until(10_000)
    assert sess.stopping is True
    assert sess.window["end_mono"] == 1_100
    assert sess.window["end_ns"] == WALL0 + 100
    sess._close_window()
    assert events_msgs(sess) == [("job1", "io", [1_010], 0)]  # 1_150 is past the end
    assert sess.out.sent[-1]["window"] == {"start_ns": WALL0, "end_ns": WALL0 + 100}


def test_window_loop_stops_on_eof(sess, monkeypatch):
    clock = Clock(MONO0)
    monkeypatch.setattr(session.time, "monotonic_ns", clock)
    sess.inbox = FakeInbox(None)
    sess.jobs = [ScriptedJob(sess, clock, [([], 1_100)])]
    sess._collect_until(10_000)
    assert sess.stopping is True and sess.window["end_mono"] == 1_100


def test_no_event_after_the_window_end_is_sent(sess, monkeypatch):
    clock = Clock(MONO0)
    monkeypatch.setattr(session.time, "monotonic_ns", clock)
    # the last poll starts before the end (1_300) and returns after it, with an
    # event recorded at 1_350: it is pending before end_mono is known
    sess.jobs = [ScriptedJob(sess, clock, [([1_100], 1_200), ([1_250, 1_350], 1_400)])]
    sess._collect_until(1_300)
    sess._close_window()
    end_ns = sess.out.sent[-1]["window"]["end_ns"]
    sent = [e["ts_ns"] for m in sess.out.of("events") for e in m["events"]]
    assert max(sent) < end_ns


# ---------------------------------------------------------------------------
# run / _prepare with fake BCC jobs


class FakeBccJob:
    """Stands in for backend.BccJob: ids starting with 'bad' fail to prepare."""

    made = []

    def __init__(self, plan, decoders):
        self.plan = plan
        self.id = plan["id"]
        self.attach_report = [{"probe": "p", "used": "tracepoint:a:b", "skipped": []}]
        self.closed = False
        self.opened = None
        self.notes = [f"note for {self.id}"]
        self.cache_dir = None
        FakeBccJob.made.append(self)

    def prepare(self):
        assert self.cache_dir is not None  # set by the session before prepare
        if self.id.startswith("bad"):
            raise JobError("compile-error", "program.bpf.c:1:22: error: nope")

    def open_events(self, on_event, on_lost):
        self.opened = (on_event, on_lost)

    def close(self):
        self.closed = True


@pytest.fixture
def fake_backend(monkeypatch):
    FakeBccJob.made = []
    monkeypatch.setattr(backend, "BccJob", FakeBccJob)
    return FakeBccJob.made


def test_prepare_sends_error_and_ready(tmp_path, fake_backend, monkeypatch):
    (tmp_path / "src-1.c").write_text("int from_file;")
    s = Session(FakeOutbox(), FakeInbox(), str(tmp_path))
    ticks = iter([10.0, 10.25, 15.0, 20.0, 20.5])  # the failing job takes one tick
    monkeypatch.setattr(session.time, "monotonic", lambda: next(ticks))
    s._prepare(
        [
            {"id": "good", "source": "int a;"},
            {"id": "bad1", "source": "int b;"},
            {"id": "good2", "source_file": "src-1.c",
             "source_sha256": hashlib.sha256(b"int from_file;").hexdigest()},
        ]
    )
    report = [{"probe": "p", "used": "tracepoint:a:b", "skipped": []}]
    assert s.out.sent == [
        {
            "type": "ready",
            "job": "good",
            "attach": report,
            "compile_s": 0.25,
            "notes": ["note for good"],
        },
        {
            "type": "error",
            "job": "bad1",
            "outcome": "compile-error",
            "reason": "program.bpf.c:1:22: error: nope",
            "attach": report,
        },
        {
            "type": "ready",
            "job": "good2",
            "attach": report,
            "compile_s": 0.5,
            "notes": ["note for good2"],
        },
    ]
    assert {j.cache_dir for j in fake_backend} == {str(tmp_path)}
    assert [j.id for j in s.jobs] == ["good", "good2"]
    assert s.compile_s == 0.75
    assert fake_backend[2].plan["source"] == "int from_file;"
    assert [j.closed for j in fake_backend] == [False, True, False]
    assert fake_backend[0].opened == (s._on_event, s._on_lost)


@pytest.mark.parametrize("text", [b"", b"int evil;"], ids=["empty", "tampered"])
def test_a_source_that_does_not_match_its_hash_is_never_compiled(
    tmp_path, fake_backend, text
):
    (tmp_path / "src-1.c").write_bytes(text)
    s = Session(FakeOutbox(), FakeInbox(), str(tmp_path))
    digest = hashlib.sha256(b"int good;").hexdigest()
    s._prepare([{"id": "j", "source_file": "src-1.c", "source_sha256": digest}])
    assert fake_backend == []  # no job made from it
    assert s.out.sent == [{
        "type": "error", "job": "j", "outcome": "cache-error", "attach": [],
        "reason": "src-1.c in the host's cache does not match its sha256 "
        f"({len(text)} bytes)"}]


@pytest.fixture
def quiet_run(monkeypatch):
    """Session.run without the watchdog thread, mounts or a headers search."""
    monkeypatch.setattr(session, "start_watchdog", lambda deadline: None)
    monkeypatch.setattr(facts, "ensure_tracefs", lambda: None)
    headers = {"path": "/h", "how": "test", "matches_kernel": True}
    monkeypatch.setattr(session, "find_headers", lambda cache_dir: headers)
    return headers


def test_run_without_bcc_says_hello_then_no_bcc(tmp_path, quiet_run):
    s = Session(FakeOutbox(), FakeInbox(), str(tmp_path))
    assert s.run(None) == 1
    hello, error = s.out.sent
    assert hello["type"] == "hello" and hello["agent"] == wire.VERSION
    assert hello["facts"]["bcc"] is None
    assert hello["facts"]["headers"] == quiet_run
    assert error == {
        "type": "error",
        "job": None,
        "outcome": "no-bcc",
        "reason": f"python module bcc not importable by {sys.executable}"
        " or /usr/bin/python3",
    }


def test_run_ends_quietly_on_eof_before_plan(tmp_path, quiet_run):
    class Bcc:
        __version__ = "0.26.0"

    s = Session(FakeOutbox(), FakeInbox(None), str(tmp_path))
    assert s.run(Bcc()) == 0
    assert [m["type"] for m in s.out.sent] == ["hello"]
    assert s.out.sent[0]["facts"]["bcc"] == "0.26.0"


def test_run_with_no_job_prepared_is_done_without_window(
    tmp_path, quiet_run, fake_backend
):
    plan = wire.message(
        "plan",
        jobs=[{"id": "bad", "source": "x"}],
        duration_s=5,
        ready_timeout_s=30,
        grace_s=15,
        cache_dir=str(tmp_path),
    )
    s = Session(FakeOutbox(), FakeInbox(plan), str(tmp_path))
    assert s.run(object()) == 0
    assert [m["type"] for m in s.out.sent] == ["hello", "error", "done"]
    assert s.out.sent[2]["window"] is None and s.out.sent[2]["compile_s"] == 0.0


@pytest.mark.parametrize(
    "script, expected",
    [
        (
            [{"v": 1, "type": "start", "start_at_ns": 1}, {"v": 1, "type": "plan"}],
            "plan",
        ),
        ([{"v": 1, "type": "stop"}], None),
        ([None], None),
        ([], None),  # timeout
    ],
)
def test_wait_for(tmp_path, script, expected):
    s = Session(FakeOutbox(), FakeInbox(*script), str(tmp_path))
    msg = s._wait_for("plan", 0.0)
    assert (msg["type"] if msg else None) == expected


# ---------------------------------------------------------------------------
# backend: macros, labels, choosing points


@pytest.mark.parametrize(
    "kind, target, macro, label",
    [
        (
            "tracepoint",
            "block:block_rq_issue",
            "FLEET_USE_tracepoint__block__block_rq_issue",
            "tracepoint:block:block_rq_issue",
        ),
        (
            "tracepoint",
            "sched:sched_process_exec",
            "FLEET_USE_tracepoint__sched__sched_process_exec",
            "tracepoint:sched:sched_process_exec",
        ),
        (
            "raw_tracepoint",
            "block_rq_issue",
            "FLEET_USE_raw_tracepoint__block_rq_issue",
            "raw_tracepoint:block_rq_issue",
        ),
        (
            "kprobe",
            "blk_account_io_start",
            "FLEET_USE_kprobe__blk_account_io_start",
            "kprobe:blk_account_io_start",
        ),
        (
            "kretprobe",
            "vfs_read.isra.0",
            "FLEET_USE_kretprobe__vfs_read_isra_0",
            "kretprobe:vfs_read.isra.0",
        ),
        ("kprobe", "a-b c", "FLEET_USE_kprobe__a_b_c", "kprobe:a-b c"),
    ],
)
def test_use_macro_and_point_label(kind, target, macro, label):
    point = {"kind": kind, "target": target, "fn": None}
    assert use_macro(point) == macro
    assert point_label(point) == label


def tp(target, kind="tracepoint"):
    return {"kind": kind, "target": target, "fn": None}


UNAVAILABLE = {
    "tracepoint:block:block_io_start": NO_TP % "block:block_io_start",
    "kprobe:blk_mq_start_request": KPROBES_OFF,
    "tracepoint:block:block_rq_issue": NO_TP % "block:block_rq_issue",
}


@pytest.fixture
def checked(monkeypatch):
    calls = []

    def fake(point):
        calls.append(point_label(point))
        return UNAVAILABLE.get(point_label(point))

    monkeypatch.setattr(attach, "point_unavailable", fake)
    return calls


def test_choose_points_first_usable_per_slot(checked):
    submit = {
        "probe": "submit",
        "optional": True,
        "points": [
            tp("block:block_io_start"),
            tp("block:block_rq_insert"),
            tp("block:block_getrq"),
        ],
    }
    complete = {"probe": "complete", "points": [tp("block:block_rq_complete")]}
    chosen, report = choose_points([submit, complete])
    assert chosen == [
        (submit, tp("block:block_rq_insert")),
        (complete, tp("block:block_rq_complete")),
    ]
    assert report == [
        {
            "probe": "submit",
            "used": "tracepoint:block:block_rq_insert",
            "skipped": [
                {
                    "point": "tracepoint:block:block_io_start",
                    "reason": "no tracepoint block:block_io_start on this kernel",
                }
            ],
        },
        {
            "probe": "complete",
            "used": "tracepoint:block:block_rq_complete",
            "skipped": [],
        },
    ]
    # points after the chosen one are never checked
    assert checked == [
        "tracepoint:block:block_io_start",
        "tracepoint:block:block_rq_insert",
        "tracepoint:block:block_rq_complete",
    ]


def test_choose_points_drops_an_optional_slot(checked):
    slot = {
        "probe": "submit",
        "optional": True,
        "points": [tp("block:block_io_start"), tp("blk_mq_start_request", "kprobe")],
    }
    chosen, report = choose_points([slot])
    assert chosen == []
    assert report == [
        {
            "probe": "submit",
            "used": None,
            "skipped": [
                {
                    "point": "tracepoint:block:block_io_start",
                    "reason": "no tracepoint block:block_io_start on this kernel",
                },
                {
                    "point": "kprobe:blk_mq_start_request",
                    "reason": KPROBES_OFF,
                },
            ],
        }
    ]


@pytest.mark.parametrize("optional", [False, None])
def test_choose_points_required_slot_without_a_point_is_an_attach_error(
    checked, optional
):
    ok = {"probe": "complete", "points": [tp("block:block_rq_complete")]}
    issue = {
        "probe": "issue",
        "points": [tp("block:block_rq_issue"), tp("blk_mq_start_request", "kprobe")],
    }
    if optional is not None:
        issue["optional"] = optional
    with pytest.raises(JobError) as info:
        choose_points([ok, issue])
    assert info.value.outcome == "attach-error"
    assert info.value.reason == (
        "probe 'issue' cannot attach (tracepoint:block:block_rq_issue: no "
        "tracepoint block:block_rq_issue on this kernel; kprobe:blk_mq_start_request: "
        "kprobes are not available on this kernel (no kprobe_events))"
    )
    assert str(info.value) == info.value.reason


def test_choose_points_nothing_to_attach(checked):
    assert choose_points([]) == ([], [])
    assert checked == []


# ---------------------------------------------------------------------------
# backend: point_unavailable on a fake tracefs


@pytest.fixture
def tracefs(tmp_path, monkeypatch):
    base = tmp_path / "tracing"
    for event in ("block/block_rq_issue", "sched/sched_switch"):
        (base / "events" / event).mkdir(parents=True)
    (base / "events" / "enable").write_text("0\n")  # a file among the categories
    monkeypatch.setattr(facts, "tracefs_dir", lambda: str(base))
    symbols = {"vfs_read"}
    monkeypatch.setattr(attach, "_kernel_symbol_exists", lambda name: name in symbols)
    return base


@pytest.mark.parametrize(
    "kind, target, kprobes, reason",
    [
        ("tracepoint", "block:block_rq_issue", False, None),
        (
            "tracepoint",
            "nosuch:event",
            False,
            "no tracepoint nosuch:event on this kernel",
        ),
        (
            "tracepoint",
            "block:nosuch",
            False,
            "no tracepoint block:nosuch on this kernel",
        ),
        ("raw_tracepoint", "sched_switch", False, None),
        ("raw_tracepoint", "sched:sched_switch", False, None),
        ("raw_tracepoint", "nosuch", False, "no such raw tracepoint"),
        (
            "kprobe",
            "vfs_read",
            False,
            "kprobes are not available on this kernel (no kprobe_events)",
        ),
        (
            "kretprobe",
            "vfs_read",
            False,
            "kprobes are not available on this kernel (no kprobe_events)",
        ),
        ("kprobe", "vfs_read", True, None),
        ("kretprobe", "nosuch_fn", True, "no kernel function nosuch_fn"),
    ],
)
def test_point_unavailable(tracefs, kind, target, kprobes, reason):
    if kprobes:
        (tracefs / "kprobe_events").write_text("")
    assert point_unavailable({"kind": kind, "target": target}) == reason


def test_point_unavailable_without_tracefs(monkeypatch):
    monkeypatch.setattr(facts, "tracefs_dir", lambda: None)
    for kind in ("tracepoint", "raw_tracepoint"):
        assert (
            point_unavailable(tp("block:block_rq_issue", kind))
            == "tracefs is not mounted and could not be mounted "
            "(mount -t tracefs none /sys/kernel/tracing as root)"
        )
    assert point_unavailable(tp("vfs_read", "kprobe")) == (
        "kprobes are not available on this kernel (no kprobe_events)"
    )


# ---------------------------------------------------------------------------
# backend: host-resolved compile flags


@pytest.mark.parametrize(
    "resolve, flags",
    [
        (None, []),
        ({}, []),
        ({"disk": {"type": "disk", "value": "sda"}}, ["-DFLEET_DEV_DISK=8388608U"]),
        (
            {"disk": {"type": "disk", "value": "nvme0n1"}},
            ["-DFLEET_DEV_DISK=271581184U"],
        ),
        # a disk this host lacks matches nothing
        ({"disk": {"type": "disk", "value": "sdz"}}, ["-DFLEET_DEV_DISK=4294967295U"]),
        # dev 0 is a device number, not "missing"
        ({"disk": {"type": "disk", "value": "zero"}}, ["-DFLEET_DEV_DISK=0U"]),
        (
            {
                "zdisk": {"type": "disk", "value": "sda"},
                "adisk": {"type": "disk", "value": "sdz"},
                "n": {"type": "int", "value": 5},
            },
            ["-DFLEET_DEV_ADISK=4294967295U", "-DFLEET_DEV_ZDISK=8388608U"],
        ),
    ],
)
def test_resolve_cflags(monkeypatch, resolve, flags):
    devs = {"sda": SDA, "nvme0n1": (259 << 20) | 0, "zero": 0}
    monkeypatch.setattr(attach, "disk_dev", devs.get)
    assert resolve_cflags(resolve) == flags


# ---------------------------------------------------------------------------
# backend: compile and load failures


CLANG_ONE = (
    "/virtual/main.c:1:22: error: use of undeclared identifier 'y'\n"
    "int x(void) { return y; }\n"
    "                     ^\n"
    "1 error generated.\n"
)


@pytest.mark.parametrize(
    "message, diagnostics, reason",
    [
        (
            "Failed to compile BPF module <text>",
            CLANG_ONE,
            "program.bpf.c:1:22: error: use of undeclared identifier 'y'",
        ),
        (
            "Failed to compile BPF module <text>",
            "".join(f"/virtual/main.c:{i}:1: error: e{i}\n" for i in range(1, 8)),
            "; ".join(f"program.bpf.c:{i}:1: error: e{i}" for i in range(1, 6)),
        ),
        (
            "Failed to compile BPF module <text>",
            "error: unknown argument: '-fbad'\n"
            "/virtual/include/bcc/helpers.h:9:2: error: h\n",
            "error: unknown argument: '-fbad'; "
            "/virtual/include/bcc/helpers.h:9:2: error: h",
        ),
        (
            "Failed to compile BPF module <text>",
            "/virtual/main.c:3:1: warning: w\n\nline a\nline b\nline c\n\n",
            "Failed to compile BPF module <text> (line a / line b / line c)",
        ),
        (
            "Failed to load BPF program b'f': Permission denied",
            "",
            "Failed to load BPF program b'f': Permission denied",
        ),
        (
            "Failed to load BPF program b'f': Invalid argument",
            "\n  \n",
            "Failed to load BPF program b'f': Invalid argument",
        ),
    ],
)
def test_load_reason(message, diagnostics, reason):
    assert backend._load_reason(message, diagnostics) == reason


@pytest.mark.parametrize(
    "message, outcome",
    [
        ("Failed to compile BPF module <text>", "compile-error"),
        ("Failed to load BPF program b'f': Invalid argument", "compile-error"),
        ("Failed to attach BPF program b'f' to tracepoint block:x", "attach-error"),
        ("could not ATTACH", "attach-error"),
    ],
)
def test_load_outcome(message, outcome):
    assert backend._load_outcome(message) == outcome


def test_captured_stderr_records_and_echoes_fd2(capfd):
    with backend._CapturedStderr() as cap:
        os.write(2, b"clang says hi\n")
        assert cap.text == ""
    assert cap.text == "clang says hi\n"
    assert capfd.readouterr().err == "clang says hi\n"


# ---------------------------------------------------------------------------
# backend: BccJob with a fake BPF object


class FakeTable:
    """A BPF map: (key, value) pairs of ctypes objects (which are unhashable)."""

    def __init__(self, pairs=()):
        self.pairs = list(pairs)
        self.cleared = 0

    def items(self):
        return list(self.pairs)

    def clear(self):
        self.cleared += 1


class FakeBPF:
    def __init__(self, tables):
        self.tables = tables
        self.attached = []
        self.cleaned = 0

    def __getitem__(self, name):
        return self.tables[name]

    def attach_tracepoint(self, tp, fn_name):
        self.attached.append(("tracepoint", tp, fn_name))

    def attach_raw_tracepoint(self, tp, fn_name):
        self.attached.append(("raw_tracepoint", tp, fn_name))

    def attach_kprobe(self, event, fn_name):
        raise Exception(f"Failed to attach BPF program b'{fn_name}' to kprobe {event}")

    def cleanup(self):
        self.cleaned += 1


class DevSlot(ctypes.Structure):
    _fields_ = [("dev", ctypes.c_uint64), ("slot", ctypes.c_uint64)]


class CommKey(ctypes.Structure):
    _fields_ = [("comm", ctypes.c_char * 16), ("dev", ctypes.c_uint32)]


def job_with(tables, outputs):
    job = BccJob(
        {"id": "j", "source": "", "attach": [], "outputs": outputs}, Decoders()
    )
    job.bpf = FakeBPF(tables)
    return job


def test_read_hist_plain_slots():
    table = FakeTable(
        [
            (ctypes.c_int(3), ctypes.c_uint64(5)),
            (ctypes.c_int(0), ctypes.c_uint64(2)),
            (ctypes.c_int(1), ctypes.c_uint64(0)),
        ]
    )
    job = job_with({"dist": table}, [])
    assert job.read_hist({"name": "lat", "map": "dist"}) == {"": [2, 0, 0, 5]}


def test_read_hist_keyed_and_decoded(disks):
    table = FakeTable(
        [
            (DevSlot(SDA, 2), ctypes.c_uint64(4)),
            (DevSlot(SDA, 0), ctypes.c_uint64(1)),
            (DevSlot((8 << 20) | 16, 1), ctypes.c_uint64(3)),
            (DevSlot(SDA, 5), ctypes.c_uint64(0)),  # empty slots are skipped
            (DevSlot(SDA, 2), ctypes.c_uint64(1)),  # the same slot twice: summed
        ]
    )
    job = job_with({"dist": table}, [])
    out = {"name": "lat", "map": "dist", "decode": {"dev": "disk"}}
    assert job.read_hist(out) == {"sda": [1, 0, 5], "8:16": [0, 3]}


def test_read_table_sorted_and_decoded(disks):
    table = FakeTable(
        [
            (CommKey(b"dd", SDA), ctypes.c_uint64(3)),
            (CommKey(b"fio", SDA), ctypes.c_uint64(10)),
            (CommKey(b"cp", (8 << 20) | 1), ctypes.c_uint64(7)),
        ]
    )
    job = job_with({"counts": table}, [])
    out = {"name": "top", "map": "counts", "decode": {"dev": "disk"}}
    assert job.read_table(out) == [
        {"key": "fio,sda", "value": 10},
        {"key": "cp,8:1", "value": 7},
        {"key": "dd,sda", "value": 3},
    ]
    assert job.read_table(out, limit=1) == [{"key": "fio,sda", "value": 10}]
    scalar = FakeTable(
        [
            (ctypes.c_uint32(4), ctypes.c_uint64(1)),
            (ctypes.c_uint32(9), ctypes.c_uint64(2)),
        ]
    )
    job = job_with({"pids": scalar}, [])
    assert job.read_table({"name": "p", "map": "pids"}) == [
        {"key": 9, "value": 2},
        {"key": 4, "value": 1},
    ]


def test_outputs_clear_and_close():
    outputs = [
        {"name": "a", "kind": "histogram", "map": "h"},
        {"name": "b", "kind": "events", "map": "e"},
        {"name": "c", "kind": "table", "map": "t"},
    ]
    tables = {"h": FakeTable(), "e": FakeTable(), "t": FakeTable()}
    job = job_with(tables, outputs)
    assert job.outputs("events") == [outputs[1]]
    assert job.outputs("histogram") == [outputs[0]]
    job.clear()
    assert [tables[n].cleared for n in "het"] == [1, 0, 1]
    bpf = job.bpf
    job.close()
    job.close()  # twice is harmless
    assert bpf.cleaned == 1 and job.bpf is None


@pytest.mark.parametrize(
    "point, attached",
    [
        (
            {"kind": "tracepoint", "target": "block:block_rq_issue", "fn": "on_issue"},
            [("tracepoint", "block:block_rq_issue", "on_issue")],
        ),
        (
            {"kind": "raw_tracepoint", "target": "sched_switch", "fn": "on_sw"},
            [("raw_tracepoint", "sched_switch", "on_sw")],
        ),
    ],
)
def test_attach_explicit_fn(point, attached):
    job = job_with({}, [])
    job._attach(point)
    assert job.bpf.attached == attached


@pytest.mark.parametrize(
    "point, reason",
    [
        (
            {"kind": "kprobe", "target": "vfs_read", "fn": "f"},
            "kprobe:vfs_read: Failed to attach BPF program b'f' to kprobe vfs_read",
        ),
        (
            {"kind": "raw_syscall", "target": "x", "fn": "f"},
            "attach kind raw_syscall is not supported yet",
        ),
    ],
)
def test_attach_failure_is_an_attach_error(point, reason):
    job = job_with({}, [])
    with pytest.raises(JobError) as info:
        job._attach(point)
    assert (info.value.outcome, info.value.reason) == ("attach-error", reason)


def test_prepare_passes_use_macros_and_resolved_flags(monkeypatch, checked):
    monkeypatch.setattr(attach, "disk_dev", {"sda": SDA}.get)
    plan = {
        "id": "j",
        "source": "",
        "outputs": [],
        "attach": [
            {
                "probe": "submit",
                "optional": True,
                "points": [tp("block:block_io_start"), tp("block:block_rq_insert")],
            },
            {
                "probe": "done",
                "points": [
                    {
                        "kind": "tracepoint",
                        "target": "block:block_rq_complete",
                        "fn": "on_done",
                    }
                ],
            },
        ],
        "resolve": {"disk": {"type": "disk", "value": "sda"}},
    }
    job = BccJob(plan, Decoders())
    seen = []

    def fake_compile(cflags, usdt_contexts=()):
        seen.append(cflags)
        return FakeBPF({})

    monkeypatch.setattr(job, "_compile", fake_compile)
    job.prepare()
    assert seen == [
        [
            "-DFLEET_USE_tracepoint__block__block_rq_insert=1",
            "-DFLEET_USE_tracepoint__block__block_rq_complete=1",
            "-DFLEET_DEV_DISK=8388608U",
            f"-DFLEET_AGENT_PID={os.getpid()}",
        ]
    ]
    # only the point naming its fn is attached by hand; the rest auto-attach
    assert job.bpf.attached == [("tracepoint", "block:block_rq_complete", "on_done")]
    assert [r["used"] for r in job.attach_report] == [
        "tracepoint:block:block_rq_insert",
        "tracepoint:block:block_rq_complete",
    ]


@pytest.mark.parametrize(
    "paths, found, flags, notes",
    [
        (None, None, [], []),
        ([], None, [], []),
        (
            ["task_struct.real_parent", "sock.__sk_common.skc_daddr"],
            {"task_struct.real_parent": 2456, "sock.__sk_common.skc_daddr": 0},
            [
                "-DFLEET_OFF_sock____sk_common__skc_daddr=0",
                "-DFLEET_OFF_task_struct__real_parent=2456",
                "-DFLEET_BTF=1",
            ],
            [],
        ),
        (
            ["task_struct.nosuch"],
            btf_mod.BTFError("no member nosuch in task_struct.nosuch"),
            [],
            [
                "no BTF offsets (no member nosuch in task_struct.nosuch): "
                "fields that need a struct walk are left empty"
            ],
        ),
    ],
)
def test_btf_cflags(monkeypatch, tmp_path, paths, found, flags, notes):
    calls = []

    def offsets(paths, cache_dir=None):
        calls.append((list(paths), cache_dir))
        if isinstance(found, Exception):
            raise found
        return found

    monkeypatch.setattr(btf_mod, "offsets", offsets)
    job = BccJob(
        {"id": "j", "source": "", "attach": [], "outputs": [], "btf": paths}, Decoders()
    )
    job.cache_dir = str(tmp_path)
    assert job._btf_cflags() == flags
    assert job.notes == notes
    assert calls == ([(paths, str(tmp_path))] if paths else [])


def test_session_module_constants():
    assert (session.BATCH_MAX, session.POLL_MS) == (2000, 50)
    assert session.PYTHON_CANDIDATES[0] == "/usr/bin/python3"
