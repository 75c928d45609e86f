"""Run phases on every host: connect, push, prepare, one shared window, collect.

Concurrency: at most ``forks`` hosts connect/push/compile at once; every host
that got ready then shares one window opened at the same wall-clock instant.
A host that fails ends with its outcome and reason and never costs the other
hosts their results.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import wire
from .bundle import Bundle, source_name
from .hostfiles import HOSTS_DIR, make_private_dir
from .hostrun import GRACE_S, Echo, HostRun, Progress
from .transport import HostFailure
from .transport.base import TransportOptions
from .transport.cache import sha256_hex

__all__ = ["HostRun", "Progress", "RunOptions", "Runner"]

START_LEAD_S = 0.25  # start_at lies this far ahead, so every host hears it in time


@dataclass
class RunOptions:
    """What the runner needs besides hosts and jobs."""

    duration_s: float
    run_dir: Path
    forks: int = 50
    # Each host's deadline from connect to ready (playbook ready_timeout): a
    # host later than that is left out and the others' window opens.
    ready_timeout_s: float = 120.0
    transport: TransportOptions = field(default_factory=TransportOptions)
    check_only: bool = False  # fleet check: prepare every job, open no window
    echo: Echo | None = None  # -v: where host log lines are shown live
    fail_on_lost: bool = False  # a host that lost events ends lost-events, not ok


def _no_progress(host: str, phase: str, detail: str) -> None:
    """Default progress sink: say nothing."""


class Runner:
    """Drives every host through one run."""

    def __init__(
        self,
        hosts,
        jobs,
        options: RunOptions,
        bundle: Bundle,
        progress: Progress | None = None,
    ):
        self.hosts = hosts
        self.jobs = jobs
        self.options = options
        self.bundle = bundle
        self.progress = progress or _no_progress
        self.stop = asyncio.Event()
        self.interrupted = False
        self.start_at_ns: int | None = None
        self.runs: list[HostRun] = []

    def interrupt(self) -> None:
        """Ctrl-C: end the window now, keep what the hosts report."""
        self.interrupted = True
        self.stop.set()
        for run in self.runs:
            if run.in_window:
                run.request_stop()

    def _plan(self) -> tuple[dict, dict]:
        """The plan message (jobs by source file name) and the source files."""
        sources, plans = {}, []
        for job in self.jobs:
            entry = job.to_plan()
            text = entry.pop("source")
            name = source_name(text)
            sources[name] = text.encode()
            plans.append(dict(entry, source_file=name,
                              source_sha256=sha256_hex(sources[name])))
        plan = wire.message(
            "plan",
            jobs=plans,
            duration_s=self.options.duration_s,
            ready_timeout_s=self.options.ready_timeout_s,
            start_lead_s=START_LEAD_S,
            grace_s=GRACE_S,
        )
        return plan, sources

    async def run(self) -> list[dict]:
        """Run every host; return their raw results in inventory order."""
        make_private_dir(self.options.run_dir)
        make_private_dir(self.options.run_dir / HOSTS_DIR)
        plan, sources = self._plan()
        job_ids = [j.id for j in self.jobs]
        runs = [
            HostRun(h, self.options.run_dir, job_ids, self.progress, self.options.echo)
            for h in self.hosts
        ]
        self.runs = runs
        forks = asyncio.Semaphore(max(1, self.options.forks))
        prepared = [asyncio.Event() for _ in runs]
        opened = asyncio.Event()
        tasks = [
            asyncio.ensure_future(self._host(r, forks, plan, sources, ev, opened))
            for r, ev in zip(runs, prepared)
        ]
        if self.options.check_only:
            opened.set()
        else:
            await self._open_window(runs, prepared, opened, tasks)
        await asyncio.gather(*tasks, return_exceptions=True)
        return [r.finish(self.interrupted, self.options.fail_on_lost) for r in runs]

    async def _open_window(self, runs, prepared, opened, tasks) -> None:
        """Wait until every host is ready or out (each has its own deadline), or
        Ctrl-C; then set start_at."""
        waiters = [asyncio.ensure_future(e.wait()) for e in prepared]
        stop = asyncio.ensure_future(self.stop.wait())
        await asyncio.wait(
            [asyncio.ensure_future(asyncio.wait(waiters)), stop],
            return_when=asyncio.FIRST_COMPLETED,
        )
        stop.cancel()
        for run, event, task in zip(runs, prepared, tasks):
            if not event.is_set():
                run.fail("interrupted", "interrupted before the window")
                task.cancel()
        ready = sum(r.ready for r in runs)
        self.start_at_ns = time.time_ns() + int((START_LEAD_S + 0.002 * ready) * 1e9)
        opened.set()

    async def _prepare(self, run: HostRun, plan: dict, sources: dict) -> None:
        """Prepare one host within its own ready deadline."""
        limit = self.options.ready_timeout_s
        try:
            await asyncio.wait_for(
                run.prepare(self.bundle, sources, plan, self.options), limit
            )
        except asyncio.TimeoutError:
            raise HostFailure(
                "timeout",
                f"not ready within {limit:g}s (still at {run.phase}): "
                "left out of the window",
            ) from None

    async def _host(self, run: HostRun, forks, plan, sources, prepared, opened) -> None:
        """One host's whole life; every failure ends as its outcome."""
        try:
            try:
                async with forks:
                    await self._prepare(run, plan, sources)
            finally:
                prepared.set()
            await opened.wait()
            if self.options.check_only:
                return  # closing the channel makes the agent detach and exit
            if self.interrupted:
                run.fail("interrupted", "interrupted before the window")
                return
            await run.trace(self.start_at_ns, self.options.duration_s)
        except HostFailure as failure:
            run.fail(failure.outcome, failure.reason)
        except asyncio.CancelledError:
            run.fail("interrupted" if self.interrupted else "timeout", "cancelled")
        except Exception as err:  # one host's bug never takes the others down
            run.fail("agent-crashed", f"controller error: {type(err).__name__}: {err}")
        finally:
            await asyncio.shield(run.close())
