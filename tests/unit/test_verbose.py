"""Unit tests of -v/-vv/-vvv: host log lines reach the live console by level."""

from __future__ import annotations

import asyncio
import io
from types import SimpleNamespace

import pytest
from rich.console import Console

from fleet import wire
from fleet.hostrun import HostRun
from fleet.report.progress import LiveProgress


class Lines:
    """An agent stream that yields the given lines, then EOF."""

    def __init__(self, lines):
        self.lines = list(lines)

    async def readline(self):
        return self.lines.pop(0) if self.lines else b""


def shown(tmp_path, verbosity: int) -> list[str]:
    """What a host run's console shows at a verbosity; its log keeps it all."""
    out = io.StringIO()
    console = Console(file=out, width=80, color_system=None)
    (tmp_path / "hosts").mkdir(exist_ok=True)
    host = SimpleNamespace(name="db1", address="127.0.51.1")
    with LiveProgress(console, 1, 1.0, verbosity) as progress:
        run = HostRun(host, tmp_path, ["j"], progress, progress.echo)
        run.progress("db1", "connect", "")
        run.log("ssh: connecting to 127.0.51.1:22 as root")
        hello = wire.encode(wire.message("hello", facts={}))
        run.proc = SimpleNamespace(stdout=Lines([hello]),
                                   stderr=Lines([b"compiling...\n"]))
        asyncio.run(run._read_stdout())
        asyncio.run(run._read_stderr())
        run.fail("timeout", "agent silent for 60s")
    log = run.log_path.read_text()
    assert "# connect" in log and "stderr: compiling..." in log
    assert '"type":"hello"' in log  # the file keeps every level
    return [line for line in out.getvalue().splitlines() if line.startswith("<")]


@pytest.mark.parametrize("verbosity, expected", [
    (0, []),
    (1, ["<db1> # connect", "<db1> ssh: connecting to 127.0.51.1:22 as root",
         "<db1> # outcome timeout: agent silent for 60s"]),
    (2, ["<db1> # connect", "<db1> ssh: connecting to 127.0.51.1:22 as root",
         "<db1> stderr: compiling...",
         "<db1> # outcome timeout: agent silent for 60s"]),
])
def test_levels(tmp_path, verbosity, expected):
    assert shown(tmp_path, verbosity) == expected


def test_vvv_shows_every_protocol_message(tmp_path):
    lines = shown(tmp_path, 3)
    assert any(line.startswith('<db1> {"v":') and '"type":"hello"' in line
               for line in lines)
    assert "<db1> stderr: compiling..." in lines
