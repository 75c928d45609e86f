"""Unit tests for fleet.hostrun: what one host's agent messages turn into."""

from __future__ import annotations

import asyncio
import json
from types import SimpleNamespace

from fleet import wire
from fleet.hostrun import HostRun


def host_run(tmp_path) -> HostRun:
    (tmp_path / "hosts").mkdir()
    host = SimpleNamespace(name="db1", address="127.0.1.1")
    return HostRun(host, tmp_path, ["biosnoop"], lambda *a: None)


class Lines:
    """An agent stdout that yields the given lines, then EOF."""

    def __init__(self, lines):
        self.lines = list(lines)

    async def readline(self):
        return self.lines.pop(0) if self.lines else b""


def test_a_garbled_agent_line_fails_the_host(tmp_path):
    run = host_run(tmp_path)
    good = wire.encode(wire.message("started", window={"start_ns": 1}))
    run.proc = SimpleNamespace(stdout=Lines([good, b'{"v":1,"type":"events",\n']))
    asyncio.run(run._read_stdout())
    assert run.inbox.get_nowait()["type"] == "started"
    assert run.inbox.get_nowait() is None  # EOF after it; the bad line is not passed on
    assert run.outcome == "agent-crashed"
    assert run.reason.startswith("garbled agent message: not JSON")
    assert "# bad message" in run.log_path.read_text()


def test_done_keeps_the_runs_each_job_missed(tmp_path):
    run = host_run(tmp_path)
    run.jobs["biosnoop"] = {"status": "ok"}
    done = wire.message("done", window={"start_ns": 1, "end_ns": 2},
                        missed={"biosnoop": 16, "not-a-job": 3})
    assert run._take(json.loads(wire.encode(done))) is True
    assert run.jobs == {"biosnoop": {"status": "ok", "missed_runs": 16}}


def lost_run(tmp_path) -> HostRun:
    run = host_run(tmp_path)
    run.jobs["biosnoop"] = {"status": "ok"}
    batch = wire.message("events", job="biosnoop", output="io",
                         events=[{"ts_ns": 1}], lost=7)
    run._take(json.loads(wire.encode(batch)))
    return run


def test_lost_events_are_a_warning_not_a_failure(tmp_path):
    raw = lost_run(tmp_path).finish(False)
    assert (raw["outcome"], raw["reason"]) == ("ok", "")
    assert raw["outputs"]["biosnoop"]["io"]["lost"] == 7


def test_fail_on_lost_makes_lost_events_a_failure(tmp_path):
    raw = lost_run(tmp_path).finish(False, fail_on_lost=True)
    assert raw["outcome"] == "lost-events"
    assert raw["reason"] == "7 events lost (perf buffer full)"
