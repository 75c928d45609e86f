"""One host's run: connect, push, prepare, its part of the window, its raw result."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Callable

from . import wire
from .bundle import Bundle
from .hostfiles import events_name, log_name, open_private
from .hostrecord import (
    NOTE_MARK,
    OUTCOME_MARK,
    PUSHED_MARK,
    START_MARK,
    HostRecord,
    logged_event_summary,
)
from .prerequisites import with_remedy
from .transport import HostFailure, transport_for
from .transport.diagnosis import explain_agent_exit

GRACE_S = 10.0  # after the window: time for agents to report (sent in the plan)
STOP_GRACE_S = 4.0  # after Ctrl-C: time for agents to report partial results
DRAIN_S = 2.0  # past a deadline, keep reading while messages still come
HELLO_TIMEOUT_S = 60.0
REAP_TIMEOUT_S = 5.0  # reconnecting to end an agent whose session was lost
STOP = "_local_stop"  # inbox marker, never on the wire

Progress = Callable[[str, str, str], None]  # (host, phase, detail)
Echo = Callable[[str, str, int], None]  # (host, log line, level): the -v sink

# Log levels: -v shows what is logged at LOG_PHASES, -vv adds LOG_STDERR, -vvv
# LOG_WIRE. The host log file keeps every level.
LOG_PHASES = 1  # phases, connection steps, failures, exit status
LOG_STDERR = 2  # the agent's stderr lines
LOG_WIRE = 3  # every protocol message, both ways


class HostRun(HostRecord):
    """One host's state through the run, ending as a raw result dict."""

    def __init__(self, host, run_dir: Path, job_ids: list[str], progress: Progress,
                 echo: Echo | None = None):
        super().__init__(host.name, host.address, log_name(host.name))
        self.host = host
        self.run_dir = run_dir
        self.job_ids = job_ids
        self._report = progress
        self._echo = echo
        self.transport = None
        self.proc = None
        self.bundle_name = None
        self.options = None
        self.inbox: asyncio.Queue = asyncio.Queue()
        self.stderr_tail: list[str] = []
        self.stderr_task = None
        self.phase = "connect"
        self.ready = False
        self.in_window = False
        self.log_path = run_dir / self.log_name
        self._log = open_private(self.log_path, append=True)
        self._log_start = time.monotonic()
        self._log_error: str | None = None
        self._event_files: dict = {}

    def log(self, text: str, level: int = LOG_PHASES) -> None:
        """Append a line to this host's raw log, stamped with seconds since start;
        the -v sink gets it too (it shows the levels asked for).

        A log that cannot be written (disk full) never fails the host.
        """
        if self._echo is not None:
            self._echo(self.name, text.rstrip(), level)
        if self._log_error is not None:
            return
        stamp = time.monotonic() - self._log_start
        try:
            self._log.write(f"+{stamp:8.3f} {text.rstrip()}\n")
            self._log.flush()
        except OSError as err:
            self._log_error = f"{self.log_path}: {err.strerror}"

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
        self.notes.append(text)
        self.log(f"{NOTE_MARK}{text}")
        self._report(self.name, "note", text)

    def fail(self, outcome: str, reason: str) -> None:
        """Record the first failure of this host (later ones are consequences)."""
        if self.set_outcome(outcome, reason):
            self.log(f"{OUTCOME_MARK}{outcome}: {reason}")
            self.progress(self.name, "failed", f"{outcome}: {reason}")

    def _phase(self, phase: str) -> None:
        """Enter a phase of prepare (named when the host is too slow)."""
        self.phase = phase
        self.progress(self.name, phase, "")

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
        """Keep every message in the host log (event batches without the events)."""
        if msg["type"] == "events":
            self.log(logged_event_summary(msg), LOG_WIRE)
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

    async def _ended(self) -> HostFailure:
        """Explain an agent channel that closed before it should have."""
        await self.proc.wait(2)
        if self.stderr_task is not None:  # its last lines say why
            await asyncio.wait([self.stderr_task], timeout=1)
        lost = self.proc.lost()
        if lost:
            where = "mid-window" if self.in_window else f"while {self.phase}"
            return HostFailure(
                "connection-lost",
                f"SSH session lost {where} ({lost}); what arrived before is kept",
            )
        return self._crash_reason()

    def _crash_reason(self) -> HostFailure:
        """Explain an agent that ended before it should have."""
        mark = "fleet-agent: cache-error"  # the loader refused the cached bundle
        cache = [t for t in self.stderr_tail if t.startswith(mark)]
        if cache:
            return HostFailure("cache-error", cache[-1].split(": ", 2)[-1])
        return explain_agent_exit(self.stderr_tail, None)

    async def prepare(self, bundle: Bundle, sources: dict, plan: dict, options) -> None:
        """Connect, push, start the agent, send the plan, await ready per job."""
        self._phase("connect")
        self.options = options
        self.transport = transport_for(
            self.host, options.transport, self.log, self.note
        )
        await self.transport.connect()
        self.address = getattr(self.transport, "address", None) or self.address
        self._phase("push")
        try:
            await self.transport.push({bundle.name: bundle.data, **sources})
        finally:
            self.bytes_pushed = self.transport.bytes_pushed
            self.log(f"{PUSHED_MARK}{self.bytes_pushed} bytes")
            for note in self.transport.notes:
                self.notes.append(note)
                self.log(f"{NOTE_MARK}{note}")
        self.bundle_name = bundle.name
        self.proc = await self.transport.start(
            self.transport.agent_command(bundle.name, bundle.digest)
        )
        asyncio.ensure_future(self._read_stdout())
        self.stderr_task = asyncio.ensure_future(self._read_stderr())
        self._phase("start")
        hello = await self._next(HELLO_TIMEOUT_S)
        if hello is None or hello["type"] != "hello":
            raise await self._ended()
        self.absorb(hello)
        self._phase("compile")
        await self._send(plan)
        await self._await_ready()

    async def _await_ready(self) -> None:
        """Collect one ready or error per job (prepare's own deadline bounds it)."""
        while len(self.jobs) < len(self.job_ids):
            msg = await self.inbox.get()
            if msg is None:
                raise await self._ended()
            if msg["type"] == "error" and msg.get("job") is None:
                reason = with_remedy(msg["outcome"], msg["reason"], self.facts)
                raise HostFailure(msg["outcome"], reason)
            if msg["type"] in ("ready", "error"):
                self.absorb(msg)
        if not any(j["status"] == "ok" for j in self.jobs.values()):
            first = next(iter(self.jobs.values()))
            raise HostFailure(first["outcome"], first["error"])
        self.ready = True
        self.progress(self.name, "ready", "")

    async def trace(self, start_at_ns: int, duration_s: float) -> None:
        """Send start, then take outputs until done; a local "stop" ends the window."""
        self.in_window = True  # from here on, Ctrl-C must reach this host as a stop
        self.log(f"{START_MARK}{start_at_ns}")
        await self._send(wire.message("start", start_at_ns=start_at_ns))
        deadline = (
            time.monotonic()
            + (start_at_ns - time.time_ns()) / 1e9
            + duration_s
            + GRACE_S
        )
        try:
            while True:
                msg = await self._next_before(deadline)
                if msg is None:
                    raise await self._ended()
                if msg["type"] == STOP:
                    await self._send(wire.message("stop"))
                    deadline = min(deadline, time.monotonic() + STOP_GRACE_S)
                elif self._take(msg):
                    return
        finally:
            self.in_window = False

    async def _next_before(self, deadline: float) -> dict | None:
        """Next message by the deadline; past it, only what is still arriving.

        A controller paused (SIGSTOP) past the deadline finds the agents'
        messages waiting in its socket: it reads them before giving up.
        """
        remaining = deadline - time.monotonic()
        for wait in (max(remaining, DRAIN_S), DRAIN_S):
            # A timer due on resume fires before the socket's data is read:
            # one more short wait lets the reader catch up.
            try:
                return await asyncio.wait_for(self.inbox.get(), wait)
            except asyncio.TimeoutError:
                continue
        raise HostFailure("timeout", "agent did not finish the window in time")

    def request_stop(self) -> None:
        """Ctrl-C: have trace() tell the agent to end its window now."""
        self.inbox.put_nowait({"type": STOP})

    def _take(self, msg: dict) -> bool:
        """Handle one in-window message; True when the agent said done."""
        if msg["type"] == "started":
            self.progress(self.name, "window", "")
        if msg["type"] == "events":
            self._write_events(msg)
            return False
        return self.absorb(msg)

    def _write_events(self, msg: dict) -> None:
        """Append an event batch to this host's sorted JSONL file for the output.

        Events that cannot be written (disk full) count as lost, with the reason.
        """
        path = self.run_dir / events_name(self.name, msg["job"], msg["output"])
        out = self.count_events(msg, len(msg["events"]), path)
        try:
            if path not in self._event_files:
                self._event_files[path] = open_private(path)
            f = self._event_files[path]
            for event in msg["events"]:
                f.write(json.dumps(event, separators=(",", ":")) + "\n")
            f.flush()
        except OSError as err:
            out["count"] -= len(msg["events"])
            out["lost"] += len(msg["events"])
            self.fail("lost-events", f"cannot write {path}: {err.strerror}")

    async def close(self) -> None:
        """EOF to the agent, wait briefly for it to exit, close the connection."""
        if self.proc is not None:
            self.proc.close_stdin()
            status = await self.proc.wait(10)  # detaching many probes takes a while
            if status is None and self.proc.lost():
                await self._reap_over_a_new_session()
            elif status is None:
                await self._kill_stuck_agent()
            self.log(f"# agent exit status {status}")
        if self.transport is not None:
            await self.transport.close()
        for f in self._event_files.values():
            try:
                f.close()
            except OSError:
                pass

    async def _kill_stuck_agent(self) -> None:
        """An agent deaf to EOF (stopped, stuck): kill it by pid, then the channel."""
        pid = (self.facts or {}).get("pid")
        if isinstance(pid, int) and pid > 1:
            self.log(f"# agent {pid} ignored EOF: killing it")
            await self.transport.kill_agent(pid, self.bundle_name)
        self.proc.kill()

    async def _reap_over_a_new_session(self) -> None:
        """The session died under a running agent: end it from a fresh one.

        Its own deadline would end it too, but only grace seconds after the
        window; a host that cannot be reached again is left to that deadline.
        """
        pid = (self.facts or {}).get("pid")
        if not isinstance(pid, int) or pid <= 1:
            return
        reaper = transport_for(self.host, self.options.transport, self.log)
        try:
            await asyncio.wait_for(reaper.connect(), REAP_TIMEOUT_S)
            await asyncio.wait_for(
                reaper.kill_agent(pid, self.bundle_name), REAP_TIMEOUT_S
            )
            self.log(f"# agent {pid} ended over a new session")
        except (HostFailure, asyncio.TimeoutError, OSError) as err:
            self.log(f"# agent {pid} left to its own deadline: {err}")
        finally:
            await reaper.close()

    def finish(self, interrupted: bool, fail_on_lost: bool = False) -> dict:
        """The host's raw result for fleet.results.build_results."""
        if self.outcome is None:
            self.set_outcome(*self.final_outcome(interrupted, fail_on_lost))
            self.log(f"{OUTCOME_MARK}{self.outcome}: {self.reason}")
        self.progress(self.name, "done", self.outcome)
        try:
            self._log.close()
        except OSError:
            pass
        if self._log_error:
            self.notes.append(f"host log incomplete: {self._log_error}")
        return self.raw()
