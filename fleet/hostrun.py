"""One host's run: connect, push, prepare, its part of the window, its raw result."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Callable

from . import wire
from .bundle import Bundle
from .prerequisites import with_remedy
from .transport import HostFailure, transport_for
from .transport.diagnosis import explain_agent_exit

GRACE_S = 10.0  # after the window: time for agents to report
STOP_GRACE_S = 4.0  # after Ctrl-C: time for agents to report partial results
STOP = "_local_stop"  # inbox marker, never on the wire

Progress = Callable[[str, str, str], None]  # (host, phase, detail)
Echo = Callable[[str, str, int], None]  # (host, log line, level): the -v sink

# Log levels: -v shows what is logged at LOG_PHASES, -vv adds LOG_STDERR, -vvv
# LOG_WIRE. The host log file keeps every level.
LOG_PHASES = 1  # phases, connection steps, failures, exit status
LOG_STDERR = 2  # the agent's stderr lines
LOG_WIRE = 3  # every protocol message, both ways


class HostRun:
    """One host's state through the run, ending as a raw result dict."""

    def __init__(self, host, run_dir: Path, job_ids: list[str], progress: Progress,
                 echo: Echo | None = None):
        self.host = host
        self.name = host.name
        self.run_dir = run_dir
        self.job_ids = job_ids
        self._report = progress
        self._echo = echo
        self.transport = None
        self.proc = None
        self.inbox: asyncio.Queue = asyncio.Queue()
        self.outcome, self.reason = None, ""
        self.facts = None
        self.window = None
        self.agent = {"peak_rss_kb": None, "compile_s": None}
        self.jobs: dict[str, dict] = {}
        self.outputs: dict[str, dict] = {}
        self.stderr_tail: list[str] = []
        self.ready = False
        self.in_window = False
        self.log_path = run_dir / "hosts" / f"{self.name}.log"
        self._log = open(self.log_path, "a", encoding="utf-8")  # noqa: SIM115
        self._log_start = time.monotonic()
        self._event_files: dict = {}

    def log(self, text: str, level: int = LOG_PHASES) -> None:
        """Append a line to this host's raw log, stamped with seconds since start;
        the -v sink gets it too (it shows the levels asked for)."""
        stamp = time.monotonic() - self._log_start
        self._log.write(f"+{stamp:8.3f} {text.rstrip()}\n")
        self._log.flush()
        if self._echo is not None:
            self._echo(self.name, text.rstrip(), level)

    def progress(self, host: str, phase: str, detail: str) -> None:
        """A phase change: logged (fail() logs failures itself), then displayed."""
        if phase != "failed":
            self.log(f"# {phase}" + (f" {detail}" if detail else ""))
        self._report(host, phase, detail)

    async def _send(self, msg: dict) -> None:
        """Send one protocol message to the agent, logged at LOG_WIRE."""
        self.log("> " + json.dumps(msg, separators=(",", ":")), LOG_WIRE)
        await self.proc.send(wire.encode(msg))

    def note(self, text: str) -> None:
        """Something the user should hear about this host (logged and shown)."""
        self.log(f"# note: {text}")
        self.progress(self.name, "note", text)

    def fail(self, outcome: str, reason: str) -> None:
        """Record the first failure of this host (later ones are consequences)."""
        if self.outcome is None:
            self.outcome, self.reason = outcome, reason
            self.log(f"# outcome {outcome}: {reason}")
            self.progress(self.name, "failed", f"{outcome}: {reason}")

    async def _read_stdout(self) -> None:
        """Decode agent messages into the inbox; None marks EOF."""
        try:
            while True:
                line = await self.proc.stdout.readline()
                if not line:
                    break
                try:
                    msg = wire.decode(line)
                except wire.ProtocolError as err:
                    # Whatever that line carried is gone: never report the
                    # host as complete.
                    self.log(f"# bad message: {err}")
                    self.fail("agent-crashed", f"garbled agent message: {err}")
                    continue
                self._log_message(msg)
                await self.inbox.put(msg)
        except Exception as err:  # a broken channel is EOF for us
            self.log(f"# read error: {err}")
        await self.inbox.put(None)

    def _log_message(self, msg: dict) -> None:
        """Keep every message in the host log (event batches summarised)."""
        if msg["type"] == "events":
            self.log(
                f"events {msg['job']}.{msg['output']}: {len(msg['events'])}"
                f" (lost {msg.get('lost', 0)})", LOG_WIRE
            )
        else:
            self.log(json.dumps(msg, separators=(",", ":")), LOG_WIRE)

    async def _read_stderr(self) -> None:
        """Copy the agent's free-text stderr into the host log."""
        try:
            while True:
                line = await self.proc.stderr.readline()
                if not line:
                    return
                text = line.decode("utf-8", "replace").rstrip()
                self.log(f"stderr: {text}", LOG_STDERR)
                self.stderr_tail = (self.stderr_tail + [text])[-20:]
        except Exception:
            return

    async def _next(self, timeout: float) -> dict | None:
        """Next agent message, None at EOF; HostFailure(timeout) when none comes."""
        try:
            return await asyncio.wait_for(self.inbox.get(), max(timeout, 0.01))
        except asyncio.TimeoutError:
            raise HostFailure("timeout", f"agent silent for {timeout:.0f}s") from None

    def _crash_reason(self) -> HostFailure:
        """Explain an agent that ended before it should have."""
        lost = self.transport.lost_reason() if self.transport else None
        return explain_agent_exit(self.stderr_tail, lost)

    async def prepare(self, bundle: Bundle, sources: dict, plan: dict, options) -> None:
        """Connect, push, start the agent, send the plan, await ready per job."""
        self.progress(self.name, "connect", "")
        self.transport = transport_for(
            self.host, options.transport, self.log, self.note
        )
        await self.transport.connect()
        self.progress(self.name, "push", "")
        await self.transport.push({bundle.name: bundle.data, **sources})
        self.proc = await self.transport.start(
            self.transport.agent_command(bundle.name)
        )
        asyncio.ensure_future(self._read_stdout())
        asyncio.ensure_future(self._read_stderr())
        hello = await self._next(60)
        if hello is None or hello["type"] != "hello":
            await self.proc.wait(2)
            raise self._crash_reason()
        self.facts = hello.get("facts")
        self.progress(self.name, "compile", "")
        await self._send(plan)
        await self._await_ready(options.ready_timeout_s)

    async def _await_ready(self, timeout: float) -> None:
        """Collect one ready or error per job."""
        end = time.monotonic() + timeout
        while len(self.jobs) < len(self.job_ids):
            msg = await self._next(end - time.monotonic())
            if msg is None:
                raise self._crash_reason()
            if msg["type"] == "error" and msg.get("job") is None:
                reason = with_remedy(msg["outcome"], msg["reason"], self.facts)
                raise HostFailure(msg["outcome"], reason)
            if msg["type"] in ("ready", "error"):
                self._job_answer(msg)
        if not any(j["status"] == "ok" for j in self.jobs.values()):
            first = next(iter(self.jobs.values()))
            raise HostFailure(first["outcome"], first["error"])
        self.ready = True
        self.progress(self.name, "ready", "")

    def _job_answer(self, msg: dict) -> None:
        """Record a job's ready/error answer."""
        ok = msg["type"] == "ready"
        self.jobs[msg["job"]] = {
            "status": "ok" if ok else "error",
            "attach": msg.get("attach", []),
            "error": None if ok else msg["reason"],
            "outcome": None if ok else msg["outcome"],
            "compile_s": msg.get("compile_s"),
            "notes": msg.get("notes", []),
        }

    async def trace(self, start_at_ns: int, duration_s: float) -> None:
        """Send start, then take outputs until done; a local "stop" ends the window."""
        self.in_window = True  # from here on, Ctrl-C must reach this host as a stop
        await self._send(wire.message("start", start_at_ns=start_at_ns))
        deadline = (
            time.monotonic()
            + (start_at_ns - time.time_ns()) / 1e9
            + duration_s
            + GRACE_S
        )
        try:
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise HostFailure(
                        "timeout", "agent did not finish the window in time"
                    )
                try:
                    msg = await asyncio.wait_for(self.inbox.get(), remaining)
                except asyncio.TimeoutError:
                    continue
                if msg is None:
                    raise self._crash_reason()
                if msg["type"] == STOP:
                    await self._send(wire.message("stop"))
                    deadline = min(deadline, time.monotonic() + STOP_GRACE_S)
                elif self._take(msg):
                    return
        finally:
            self.in_window = False

    def request_stop(self) -> None:
        """Ctrl-C: have trace() tell the agent to end its window now."""
        self.inbox.put_nowait({"type": STOP})

    def _take(self, msg: dict) -> bool:
        """Handle one in-window message; True when the agent said done."""
        kind = msg["type"]
        if kind == "started":
            self.progress(self.name, "window", "")
        elif kind == "events":
            self._write_events(msg)
        elif kind == "hist":
            out = self._output(msg, "histogram")
            out["slots"] = msg["slots"]
            if "intervals" in msg:
                out["intervals"] = msg["intervals"]
        elif kind == "table":
            self._output(msg, "table")["rows"] = msg["rows"]
        elif kind == "error":
            job = self.jobs.setdefault(msg.get("job") or "?", {"status": "error"})
            job.update(status="error", error=msg["reason"], outcome=msg["outcome"])
        elif kind == "done":
            self.window = msg.get("window")
            for job_id, runs in (msg.get("missed") or {}).items():
                if job_id in self.jobs:
                    self.jobs[job_id]["missed_runs"] = runs
            self.agent = {
                "peak_rss_kb": msg.get("peak_rss_kb"),
                "compile_s": msg.get("compile_s"),
            }
            return True
        return False

    def _output(self, msg: dict, kind: str) -> dict:
        """The raw output record for a (job, output) pair."""
        per_job = self.outputs.setdefault(msg["job"], {})
        return per_job.setdefault(msg["output"], {"kind": kind})

    def _write_events(self, msg: dict) -> None:
        """Append an event batch to this host's sorted JSONL file for the output."""
        out = self._output(msg, "events")
        if "file" not in out:
            path = (
                self.run_dir
                / "hosts"
                / f"{self.name}.{msg['job']}.{msg['output']}.jsonl"
            )
            out.update(file=str(path), count=0, lost=0)
            self._event_files[path] = open(path, "w", encoding="utf-8")  # noqa: SIM115
        f = self._event_files[Path(out["file"])]
        for event in msg["events"]:
            f.write(json.dumps(event, separators=(",", ":")) + "\n")
        out["count"] += len(msg["events"])
        out["lost"] += msg.get("lost", 0)

    async def close(self) -> None:
        """EOF to the agent, wait briefly for it to exit, close the connection."""
        if self.proc is not None:
            self.proc.close_stdin()
            status = await self.proc.wait(10)  # detaching many probes takes a while
            if status is None:
                self.proc.kill()
            self.log(f"# agent exit status {status}")
        if self.transport is not None:
            await self.transport.close()
        for f in self._event_files.values():
            f.close()

    def finish(self, interrupted: bool, fail_on_lost: bool = False) -> dict:
        """The host's raw result for fleet.results.build_results."""
        if self.outcome is None:
            self.outcome, self.reason = self._final_outcome(interrupted, fail_on_lost)
        self.progress(self.name, "done", self.outcome)
        self._log.close()
        pushed = self.transport.bytes_pushed if self.transport else 0
        return {
            "name": self.name,
            "address": getattr(self.transport, "address", None) or self.host.address,
            "outcome": self.outcome,
            "reason": self.reason,
            "window": self.window,
            "bytes_pushed": pushed,
            "facts": self.facts,
            "jobs": self.jobs,
            "agent": self.agent,
            "log": f"hosts/{self.name}.log",
            "outputs": self.outputs,
        }

    def _final_outcome(self, interrupted: bool,
                       fail_on_lost: bool) -> tuple[str, str]:
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
