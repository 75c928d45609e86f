"""The agent's life: hello, compile and attach, one aligned window, report, exit.

The agent is its own watchdog: it detaches and exits on stdin EOF, on ``stop``
and at its own deadline, even if the controller is gone.
"""

import hashlib
import os
import queue
import sys
import time

import wire

from agent import facts, onepass
from agent.backend import JobError, detach_all
from agent.channel import (  # noqa: F401  (re-exported: agent.session's old surface)
    PYTHON_CANDIDATES,
    REEXEC_FLAG,
    Inbox,
    Outbox,
    fallback_from,
    import_bcc,
    log,
    peak_rss_kb,
    start_watchdog,
)
from agent.decode import Decoders
from agent.headers import find_headers
from agent.intervals import HistIntervals

# The controller sends the plan as soon as it reads hello: waiting longer means
# it is gone or frozen. (Timings after the plan come in the plan: grace_s.)
PLAN_TIMEOUT_S = 10.0
STARTUP_S = 120.0  # bcc import and a first header merge, before hello
POLL_MS = 50
BATCH_MAX = 2000


class Session:
    """One run of the agent on this host."""

    def __init__(self, out, inbox, cache_dir):
        self.out = out
        self.inbox = inbox
        self.cache_dir = cache_dir
        self.jobs = []
        self.decoders = Decoders()
        self.pending = []
        self.lost = {}
        self.missed_before = {}  # job id -> its skipped runs when the window opened
        self.window = None
        self.offset_ns = 0
        self.compile_s = 0.0
        self.stopping = False
        self.grace_s = 0.0  # from the plan: the controller's one value
        self.series_last = {}
        self.intervals = HistIntervals()
        self.symbols_warmed = 0  # monotonic ns of the last warm_symbols pass
        self.deadline = [time.monotonic() + STARTUP_S]

    def run(self, bcc):
        """Drive the whole session; returns the process exit code."""
        start_watchdog(self.deadline)
        note = facts.ensure_tracefs()
        headers = find_headers(self.cache_dir)
        version = getattr(bcc, "__version__", None) if bcc else None
        host_facts = facts.gather(version, headers, note)
        host_facts.update(pid=os.getpid(), python_fallback_from=fallback_from())
        self.deadline[0] = time.monotonic() + PLAN_TIMEOUT_S + 1
        self.out.send("hello", agent=wire.VERSION, facts=host_facts)
        if bcc is None:
            self.out.send(
                "error",
                job=None,
                outcome="no-bcc",
                reason="python module bcc not importable by %s or %s"
                % (sys.executable, ", ".join(PYTHON_CANDIDATES[:1])),
            )
            return 1
        plan = self._wait_for("plan", PLAN_TIMEOUT_S)
        if plan is None:
            return 0
        self.grace_s = float(plan["grace_s"])
        self.deadline[0] = (
            time.monotonic()
            + plan["ready_timeout_s"]
            + plan.get("start_lead_s", 1.0)
            + plan["duration_s"]
            + self.grace_s
        )
        self._prepare(plan["jobs"])
        if not self.jobs:
            self.out.send(
                "done", window=None, peak_rss_kb=peak_rss_kb(), compile_s=self.compile_s
            )
            return 0
        try:
            return self._trace(plan)
        finally:
            detach_all(self.jobs)

    def _wait_for(self, kind, timeout):
        """Wait for one message type; None on EOF, stop or timeout."""
        end = time.monotonic() + timeout
        while True:
            try:
                msg = self.inbox.get(end - time.monotonic())
            except queue.Empty:
                log("no %s within %.0fs" % (kind, timeout))
                return None
            if msg is None or msg["type"] == "stop":
                return None
            if msg["type"] == kind:
                return msg

    def _prepare(self, job_plans):
        """Compile and attach every job; ready or error for each.

        Jobs that can share a BCC module are compiled together first (one
        clang start instead of one per job); any job of a group that fails
        that way is compiled alone, which is where its own error shows.
        """
        from agent.backend import BccJob

        jobs = []
        for plan in job_plans:
            if "source" not in plan:
                try:
                    plan["source"] = read_verified(
                        self.cache_dir, plan["source_file"], plan["source_sha256"]
                    )
                except JobError as err:
                    self.out.send("error", job=plan["id"], outcome=err.outcome,
                                  reason=err.reason, attach=[])
                    continue
            job = BccJob(plan, self.decoders)
            job.cache_dir = self.cache_dir
            jobs.append(job)
        alone = self._prepare_together(jobs)
        for job in jobs:
            if job in alone:
                self._prepare_alone(job)

    def _prepare_together(self, jobs):
        """Compile mergeable jobs in groups; return the jobs left to compile alone."""
        alone = [job for job in jobs if not onepass.mergeable(job)]
        candidates = []
        for job in jobs:
            if job in alone:
                continue
            try:
                job.plan_compile()
                candidates.append(job)
            except JobError:
                alone.append(job)  # compiled alone, its error is reported there
        for group in onepass.groups(candidates):
            if len(group) < 2:
                alone.extend(group)
                continue
            began = time.monotonic()
            try:
                onepass.compile_group(group)
            except Exception as err:  # any failure: fall back, never lose a job
                log("one-pass compile of %s failed (%s); compiling them one by one"
                    % (", ".join(j.id for j in group), str(err).splitlines()[0]))
                alone.extend(group)
                continue
            spent = time.monotonic() - began
            self.compile_s += spent
            for job in group:
                job.notes.append("compiled in one pass with %s" % ", ".join(
                    j.id for j in group if j is not job))
                self._ready(job, spent / len(group))
        return alone

    def _ready(self, job, spent):
        """A prepared job: open its buffers and say ready."""
        job.open_events(self._on_event, self._on_lost)
        self.jobs.append(job)
        self.out.send("ready", job=job.id, attach=job.attach_report,
                      compile_s=round(spent, 3), notes=job.notes)

    def _prepare_alone(self, job):
        """Compile one job in its own module; ready or error."""
        began = time.monotonic()
        try:
            job.prepare()
        except JobError as err:
            job.close()
            self.out.send("error", job=job.id, outcome=err.outcome,
                          reason=err.reason, attach=job.attach_report)
            return
        spent = time.monotonic() - began
        self.compile_s += spent
        self._ready(job, spent)

    def _trace(self, plan):
        """Wait for start, trace one window, send the outputs and done."""
        start_at = self._wait_for_start()
        if start_at is None:
            return 0
        self._open_window(start_at)
        end_mono = self.window["start_mono"] + int(plan["duration_s"] * 1e9)
        self.deadline[0] = end_mono / 1e9 + self.grace_s
        self._collect_until(end_mono)
        self._close_window()
        return 0

    def _wait_for_start(self):
        """Discard pre-window events until ``start`` arrives; its start_at_ns."""
        while True:
            self._poll(POLL_MS)
            self.pending = []
            try:
                msg = self.inbox.get(0)
            except queue.Empty:
                continue
            if msg is None or msg["type"] == "stop":
                return None
            if msg["type"] == "start":
                return msg["start_at_ns"]

    def _open_window(self, start_at_ns):
        """Sleep until start_at (wall clock), then clear the maps: window open."""
        remaining = (start_at_ns - time.time_ns()) / 1e9
        if remaining > 0.003:
            time.sleep(remaining - 0.003)
        while time.time_ns() < start_at_ns:
            pass
        wall, mono = time.time_ns(), time.monotonic_ns()
        for job in self.jobs:
            job.window_open()
        self.offset_ns = wall - mono
        self.window = {"start_ns": wall, "start_mono": mono}
        self.pending = []
        self.lost = {}  # perf buffers overflowing before the window do not count
        self.missed_before = {job.id: job.missed_runs() for job in self.jobs}
        self.out.send("started", window={"start_ns": wall})

    def _collect_until(self, end_mono):
        """Poll events until the window ends or the controller says stop/EOF."""
        watermark = self.window["start_mono"]
        while time.monotonic_ns() < end_mono and not self.stopping:
            cycle_start = time.monotonic_ns()
            self._poll(POLL_MS)
            self._flush(watermark)
            watermark = cycle_start
            self._series_due(cycle_start)
            self.intervals.read_due(self.jobs, self.window["start_mono"], cycle_start)
            self._warm_symbols(cycle_start)
            self._check_inbox()
        self.window["end_mono"] = min(time.monotonic_ns(), end_mono)
        self.window["end_ns"] = self.window["end_mono"] + self.offset_ns

    def _series_due(self, now_mono, final=False):
        """Every series and interval table: at each interval, read, zero and send.

        A series sends one row of counters; a table read every interval sends
        its top rows (bcc's top tools), each stamped with the interval.
        """
        for job in self.jobs:
            for out in job.outputs("series") + periodic_tables(job):
                key = (job.id, out["name"])
                last = self.series_last.get(key, self.window["start_mono"])
                interval_ns = int(float(out.get("interval") or 1) * 1e9)
                if now_mono - last < (100_000_000 if final else interval_ns):
                    continue  # (a final row shorter than 0.1 s says nothing)
                rows = ([job.read_series(out)] if out["kind"] == "series"
                        else job.read_top(out))
                for row in rows:
                    row["secs"] = round((now_mono - last) / 1e9, 3)
                    row["ts_ns"] = now_mono + self.offset_ns
                self.series_last[key] = now_mono
                self._send_events(job.id, out["name"], rows, 0)

    def _send_hist(self, job, out):
        """Send a histogram: the window's slots, and its intervals if it has any."""
        fields = self.intervals.fields(job, out) or {"slots": job.read_hist(out)}
        self.out.send("hist", job=job.id, output=out["name"], **fields)

    def _warm_symbols(self, now_mono):
        """Load symbols of new processes: of user-address keys (usym) at every
        poll, since their processes may be short-lived; of stacks twice a second."""
        stacks = now_mono - self.symbols_warmed >= 500_000_000
        if stacks:
            self.symbols_warmed = now_mono
        for job in self.jobs:
            for out in user_symbol_outputs(job) + (job.outputs("stacks") if stacks
                                                   else []):
                job.warm_symbols(out)

    def _check_inbox(self):
        """Notice stop or EOF without blocking."""
        try:
            msg = self.inbox.get(0)
        except queue.Empty:
            return
        if msg is None or msg["type"] == "stop":
            self.stopping = True

    def _close_window(self):
        """Read histograms and tables, flush the last events, say done."""
        end_mono = self.window["end_mono"]
        self.intervals.read_due(self.jobs, self.window["start_mono"], end_mono, True)
        for job in self.jobs:
            for out in job.outputs("histogram"):
                self._send_hist(job, out)
            for out in job.outputs("table"):
                if out.get("interval"):
                    continue  # sent every interval, as events
                self.out.send(
                    "table", job=job.id, output=out["name"], rows=job.read_table(out)
                )
            for out in job.outputs("stacks"):
                self.out.send(
                    "table", job=job.id, output=out["name"], rows=job.read_stacks(out)
                )
            for out in job.outputs("trace"):
                lines = job.trace_lines()
                self._send_events(job.id, out["name"], lines, self._trace_lost(job))
        self._series_due(end_mono, final=True)
        self._poll(0)
        # The last poll may deliver events stamped after the window's end.
        self.pending = [e for e in self.pending if e[0] < end_mono]
        self._flush(end_mono, final=True)
        window = {"start_ns": self.window["start_ns"], "end_ns": self.window["end_ns"]}
        missed = {
            job.id: job.missed_runs() - self.missed_before.get(job.id, 0)
            for job in self.jobs
        }
        self.out.send(
            "done",
            window=window,
            missed={job_id: n for job_id, n in missed.items() if n > 0},
            peak_rss_kb=peak_rss_kb(),
            compile_s=round(self.compile_s, 3),
        )

    @staticmethod
    def _trace_lost(job):
        """Trace lines lost to overwrites: all of them if our start mark is gone.

        The kernel's overrun count covers every program's lines, so it bounds
        this job's loss from above; it is reported as such.
        """
        trace = job.trace
        if not trace.saw_start:
            log("trace buffer overwrote this window's start mark: lines lost")
            return max(trace.overruns, 1)
        return trace.overruns

    def _poll(self, timeout_ms):
        """Poll every job's perf buffers once."""
        streaming = [job for job in self.jobs if job.streams]
        for job in streaming:
            job.poll(timeout_ms if job is streaming[-1] else 0)
        if not streaming and timeout_ms:
            time.sleep(timeout_ms / 1000.0)

    def _on_event(self, job, out, record):
        """Perf buffer callback: keep in-window events with wall-clock ts_ns."""
        mono = record.pop(out["time"], None) if out.get("time") else time.monotonic_ns()
        if self.window is None or mono < self.window["start_mono"]:
            return
        if "end_mono" in self.window and mono >= self.window["end_mono"]:
            return
        record = self.decoders.apply(record, out.get("decode"))
        record["ts_ns"] = mono + self.offset_ns
        self.pending.append((mono, job.id, out["name"], record))

    def _on_lost(self, job, out, count):
        """Perf buffer lost callback: count per (job, output)."""
        key = (job.id, out["name"])
        self.lost[key] = self.lost.get(key, 0) + count

    def _flush(self, watermark, final=False):
        """Send, sorted, every pending event at or before the watermark.

        Events from different CPUs arrive slightly out of order; holding back
        the ones newer than the previous poll keeps each host's stream sorted.
        """
        ready = [e for e in self.pending if final or e[0] <= watermark]
        if not ready and not (final and self.lost):
            return
        self.pending = [] if final else [e for e in self.pending if e[0] > watermark]
        ready.sort(key=lambda e: e[0])
        batches = {}
        for _, job_id, name, record in ready:
            batches.setdefault((job_id, name), []).append(record)
        keys = set(batches) | (set(self.lost) if final else set())
        for job_id, output in sorted(keys):
            key = (job_id, output)
            lost = self.lost.pop(key, 0)
            self._send_events(job_id, output, batches.get(key, []), lost)

    def _send_events(self, job_id, output, events, lost):
        """Send events in batches of BATCH_MAX; the lost count rides on the first."""
        for i in range(0, max(len(events), 1), BATCH_MAX):
            self.out.send("events", job=job_id, output=output,
                          events=events[i:i + BATCH_MAX], lost=lost if i == 0 else 0)


def read_verified(cache_dir, name, digest):
    """A cached source's text, from bytes checked against its sha256 (read once)."""
    try:
        with open(os.path.join(cache_dir, name), "rb") as f:
            data = f.read()
    except OSError as err:
        raise JobError(
            "cache-error", "cannot read %s: %s" % (name, err.strerror)
        ) from None
    if hashlib.sha256(data).hexdigest() != digest:
        raise JobError(
            "cache-error",
            "%s in the host's cache does not match its sha256 (%d bytes)"
            % (name, len(data)),
        )
    return data.decode("utf-8")


def periodic_tables(job):
    """The job's table outputs read every interval (sent as events)."""
    return [out for out in job.outputs("table") if out.get("interval")]


def user_symbol_outputs(job):
    """Tables and histograms whose keys hold user addresses of processes (usym)."""
    return [out for out in job.outputs("table") + job.outputs("histogram")
            if "usym" in (out.get("decode") or {}).values()]


def main():
    """Agent entry point: protect stdout, import bcc, run one session."""
    out = Outbox()
    bcc = import_bcc(out)
    cache_dir = os.path.dirname(os.path.abspath(sys.argv[0]))
    inbox = Inbox(sys.stdin.buffer)
    try:
        code = Session(out, inbox, cache_dir).run(bcc)
    except Exception as err:  # report, never die silently
        import traceback

        traceback.print_exc()
        out.send(
            "error",
            job=None,
            outcome="agent-crashed",
            reason="%s: %s" % (type(err).__name__, err),
        )
        code = 1
    sys.stderr.flush()
    os._exit(code)
