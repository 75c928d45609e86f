"""Live progress while a run works: hosts per phase and the window's clock."""

from __future__ import annotations

import time

from rich.console import Console
from rich.live import Live
from rich.text import Text

# The runner's phase names, and what the display calls them (hosts "in" a phase).
PHASES = {"connect": "connecting", "push": "pushing", "compile": "compiling",
          "ready": "ready", "window": "tracing", "done": "done", "failed": "failed"}


class LiveProgress:
    """A one-line rich display fed by the runner's progress callback.

    Live asks for the line at every refresh (``get_renderable``), so the clock
    moves even while no host changes phase.
    """

    def __init__(self, console: Console, total: int, duration_s: float,
                 verbosity: int = 0):
        self.console = console
        self.total = total
        self.duration_s = duration_s
        self.verbosity = verbosity
        self.phase: dict[str, str] = {}
        self.window_started: float | None = None
        self.started = time.monotonic()
        self.live = Live(console=console, refresh_per_second=4, transient=True,
                         get_renderable=self.render)

    def __enter__(self) -> LiveProgress:
        self.live.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self.live.__exit__(*exc)

    def __call__(self, host: str, phase: str, detail: str) -> None:
        """Runner callback: a host entered a phase (or has a note to show)."""
        if phase == "note":
            note = Text(f"{host}: {detail}", style="yellow")
            self.console.print(note, soft_wrap=False)
            return
        if phase == "window" and self.window_started is None:
            self.window_started = time.monotonic()
        if self.phase.get(host) != "failed":
            self.phase[host] = phase
        if phase == "failed":
            self.console.print(Text(f"{host}: {detail}", style="red"), soft_wrap=False)

    def echo(self, host: str, text: str, level: int) -> None:
        """-v sink: a host log line at or below the asked level, printed above
        the live line (rich keeps the two apart), prefixed with the host."""
        if level <= self.verbosity:
            line = Text.assemble((f"<{host}> ", "bold"), text)
            self.console.print(line, soft_wrap=True, highlight=False)

    def render(self) -> Text:
        """The line as of now: hosts per phase, then the clock."""
        counts = {p: 0 for p in PHASES}
        for phase in self.phase.values():
            counts[phase] = counts.get(phase, 0) + 1
        parts = [f"{PHASES[p]} {counts[p]}" for p in PHASES if counts[p]]
        line = f"{self.total} hosts: " + (" · ".join(parts) or "starting")
        now = time.monotonic()
        if self.window_started is not None:
            spent = min(now - self.window_started, self.duration_s)
            line += f" · window {spent:4.1f}/{self.duration_s:g}s"
        else:
            line += f" · {now - self.started:.0f}s"
        return Text(line[: self.console.width - 1])
