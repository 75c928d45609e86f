"""Live progress while a run works: hosts per phase and the window's clock."""

from __future__ import annotations

import time

from rich.console import Console
from rich.live import Live
from rich.text import Text

PHASES = ("connect", "push", "compile", "ready", "window", "done", "failed")


class LiveProgress:
    """A one-line rich display fed by the runner's progress callback."""

    def __init__(self, console: Console, total: int, duration_s: float):
        self.console = console
        self.total = total
        self.duration_s = duration_s
        self.phase: dict[str, str] = {}
        self.window_started: float | None = None
        self.live = Live(
            self._render(), console=console, refresh_per_second=4, transient=True
        )

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
        self.live.update(self._render())

    def _render(self) -> Text:
        counts = {p: 0 for p in PHASES}
        for phase in self.phase.values():
            counts[phase] = counts.get(phase, 0) + 1
        parts = [f"{p} {counts[p]}" for p in PHASES if counts[p]]
        line = f"{self.total} hosts: " + (" · ".join(parts) or "starting")
        if self.window_started is not None:
            spent = min(time.monotonic() - self.window_started, self.duration_s)
            line += f" · window {spent:4.1f}/{self.duration_s:g}s"
        return Text(line[: self.console.width - 1])
