"""What one host reported, built from agent messages: live, or replayed from its log.

``HostRecord`` holds a host's facts, job answers, outputs, window and outcome,
and turns them into the raw result ``fleet.results.build_results`` reads. The
live run (``fleet.hostrun.HostRun``) and ``fleet report --rebuild`` feed it the
same messages, so a rebuilt results.json says what the live one said.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

# A host log line: "+   1.234 <text>" (seconds since the host's start).
_LOG_LINE = re.compile(r"\+\s*[0-9.]+ (.*)")
OUTCOME_MARK = "# outcome "
PUSHED_MARK = "# pushed "
NOTE_MARK = "# note "
START_MARK = "# start_at_ns "


class HostRecord:
    """One host's reported state; ``raw()`` gives its raw result."""

    def __init__(self, name: str, address: str | None, log: str):
        self.name = name
        self.address = address
        self.log_name = log
        self.outcome: str | None = None
        self.reason = ""
        self.facts = None
        self.window = None
        self.agent: dict[str, Any] = {"peak_rss_kb": None, "compile_s": None}
        self.jobs: dict[str, dict] = {}
        self.outputs: dict[str, dict] = {}
        self.notes: list[str] = []
        self.bytes_pushed = 0

    def set_outcome(self, outcome: str, reason: str) -> bool:
        """Keep the first outcome (later failures are its consequences)."""
        if self.outcome is not None:
            return False
        self.outcome, self.reason = outcome, reason
        return True

    def absorb(self, msg: dict) -> bool:
        """Record one agent message (events excepted); True when it is done."""
        kind = msg["type"]
        if kind == "hello":
            self.facts = msg.get("facts")
        elif kind in ("ready", "error") and msg.get("job") is not None:
            self._job_answer(msg)
        elif kind == "hist":
            out = self.output(msg, "histogram")
            out["slots"] = msg["slots"]
            if "intervals" in msg:
                out["intervals"] = msg["intervals"]
        elif kind == "table":
            self.output(msg, "table")["rows"] = msg["rows"]
        elif kind == "done":
            self._done(msg)
            return True
        return False

    def _job_answer(self, msg: dict) -> None:
        """A job's ready/error answer; an error later in the window keeps attach."""
        ok = msg["type"] == "ready"
        job = self.jobs.setdefault(msg["job"], {"attach": [], "compile_s": None,
                                                "notes": []})
        job.update(
            status="ok" if ok else "error",
            error=None if ok else msg["reason"],
            outcome=None if ok else msg["outcome"],
        )
        for key, default in (("attach", []), ("compile_s", None), ("notes", [])):
            if key in msg:
                job[key] = msg.get(key, default)

    def _done(self, msg: dict) -> None:
        """The agent's closing message: its window, skipped runs and costs."""
        self.window = msg.get("window")
        for job_id, runs in (msg.get("missed") or {}).items():
            if job_id in self.jobs:
                self.jobs[job_id]["missed_runs"] = runs
        self.agent = {
            "peak_rss_kb": msg.get("peak_rss_kb"),
            "compile_s": msg.get("compile_s"),
        }

    def output(self, msg: dict, kind: str) -> dict:
        """The raw output record for a (job, output) pair."""
        per_job = self.outputs.setdefault(msg["job"], {})
        return per_job.setdefault(msg["output"], {"kind": kind})

    def count_events(self, msg: dict, count: int, path: Path) -> dict:
        """Count an events batch whose lines went to path."""
        out = self.output(msg, "events")
        out.setdefault("file", str(path))
        out["count"] = out.get("count", 0) + count
        out["lost"] = out.get("lost", 0) + msg.get("lost", 0)
        return out

    def final_outcome(self, interrupted: bool,
                      fail_on_lost: bool = False) -> tuple[str, str]:
        """Outcome of a host that did not fail outright.

        Lost events are a warning in the report (per job and host), not a
        failure, unless the run asked for that (``--fail-on-lost``).
        """
        failed = [(i, j) for i, j in self.jobs.items() if j["status"] != "ok"]
        if failed:
            job_id, job = failed[0]
            return job["outcome"], f"job {job_id}: {job['error']}"
        if interrupted:
            return "interrupted", "run interrupted; partial window reported"
        lost = sum(
            o.get("lost", 0) for outs in self.outputs.values() for o in outs.values()
        )
        if lost and fail_on_lost:
            return "lost-events", f"{lost} events lost (perf buffer full)"
        return "ok", ""

    def raw(self) -> dict:
        """The host's raw result for fleet.results.build_results."""
        return {
            "name": self.name,
            "address": self.address,
            "outcome": self.outcome,
            "reason": self.reason,
            "window": self.window,
            "bytes_pushed": self.bytes_pushed,
            "facts": self.facts,
            "jobs": self.jobs,
            "agent": self.agent,
            "log": self.log_name,
            "notes": self.notes,
            "outputs": self.outputs,
        }


def logged_event_summary(msg: dict) -> str:
    """The log line for an events batch: the message without its events."""
    summary = {k: v for k, v in msg.items() if k != "events"}
    summary["count"] = len(msg["events"])
    return json.dumps(summary, separators=(",", ":"))


def replay_log(record: HostRecord, lines, events_path) -> int | None:
    """Feed a host log's lines into record; return the start_at_ns it logged.

    ``events_path(job, output)`` names the host's event file of an output.
    """
    start_at = None
    for line in lines:
        match = _LOG_LINE.fullmatch(line.rstrip("\n"))
        text = match.group(1) if match else ""
        if text.startswith("{"):
            _replay_message(record, text, events_path)
        elif text.startswith(OUTCOME_MARK):
            outcome, _, reason = text[len(OUTCOME_MARK) :].partition(":")
            record.set_outcome(outcome.strip(), reason.strip())
        elif text.startswith(PUSHED_MARK):
            record.bytes_pushed += int(text[len(PUSHED_MARK) :].split()[0])
        elif text.startswith(NOTE_MARK):
            record.notes.append(text[len(NOTE_MARK) :])
        elif text.startswith(START_MARK):
            start_at = int(text[len(START_MARK) :])
    return start_at


def _replay_message(record: HostRecord, text: str, events_path) -> None:
    """One logged agent message (a cut last line is skipped)."""
    try:
        msg = json.loads(text)
    except ValueError:
        return
    if not isinstance(msg, dict) or "type" not in msg:
        return
    if msg["type"] == "events":
        path = events_path(msg["job"], msg["output"])
        record.count_events(msg, int(msg.get("count", 0)), path)
    else:
        record.absorb(msg)
