"""Unit tests for agent.tracebuf: reading one job's lines out of the shared buffer."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from agent import facts, tracebuf

REPO = Path(__file__).resolve().parents[2]


def trace_line(task: str, pid: int, ts: str, event: str, msg: str) -> str:
    return f"{task:>16}-{pid:<7} [001] d..31 {ts}: {event}: {msg}\n"


def buffer_with(tmp_path, monkeypatch, lines: list[str]) -> tracebuf.TraceBuffer:
    (tmp_path / "trace").write_text("# tracer: nop\n#\n" + "".join(lines))
    monkeypatch.setattr(facts, "tracefs_dir", lambda: str(tmp_path))
    buf = tracebuf.TraceBuffer("flab12cd34ef_1")
    buf.start_wall = 1_000_000_000_000
    return buf


def test_only_this_jobs_lines_between_its_marks(tmp_path, monkeypatch):
    tag = "flab12cd34ef_1"
    buf = buffer_with(tmp_path, monkeypatch, [
        trace_line("sync", 7, "10.000000", "bpf_trace_printk", f"{tag} before"),
        trace_line("python3", 8, "11.000000", "tracing_mark_write",
                   f"fleet-{tag}-start"),
        trace_line("true", 9, "11.250000", "bpf_trace_printk", f"{tag} Hello"),
        trace_line("true", 9, "11.300000", "bpf_trace_printk", "flother_1 not ours"),
        trace_line("python3", 8, "12.000000", "tracing_mark_write", f"fleet-{tag}-end"),
        trace_line("true", 9, "12.500000", "bpf_trace_printk", f"{tag} after"),
    ])
    assert buf.lines() == [
        {"ts_ns": 1_000_250_000_000, "comm": "true", "pid": 9, "message": "Hello"},
    ]


def test_an_end_mark_before_the_start_is_not_the_end(tmp_path, monkeypatch):
    tag = "flab12cd34ef_1"
    buf = buffer_with(tmp_path, monkeypatch, [
        trace_line("python3", 8, "9.000000", "tracing_mark_write", f"fleet-{tag}-end"),
        trace_line("python3", 8, "11.000000", "tracing_mark_write",
                   f"fleet-{tag}-start"),
        trace_line("true", 9, "11.500000", "bpf_trace_printk", f"{tag} Hello"),
        trace_line("python3", 8, "12.000000", "tracing_mark_write", f"fleet-{tag}-end"),
    ])
    assert [e["message"] for e in buf.lines()] == ["Hello"]


def test_agents_never_share_a_tag_even_with_the_same_pid():
    # Each agent process draws its own tag: pids wrap, the trace buffer stays.
    code = "from agent import backend; print(backend.AGENT_TAG)"
    # the agent imports wire as a top-level module, as inside its bundle
    env = dict(os.environ, PYTHONPATH=f"{REPO}:{REPO / 'fleet'}")
    tags = {
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       cwd=REPO, env=env, check=True).stdout.strip()
        for _ in range(3)
    }
    assert len(tags) == 3 and all(t.startswith("fl") and len(t) == 12 for t in tags)
