"""execsnoop on the real kernel: known execs in the window, exact counts and fields."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest
from fleetrun import job_named, param_args, start_fleet, wait_for_window

pytestmark = pytest.mark.kernel

RUNS = 20
NOBODY = 65534
FAILS = 3


def trace(runs: Path, *params: str) -> subprocess.Popen:
    """Start `fleet trace execsnoop` on localhost with the given -p params."""
    return start_fleet(runs, "trace", "execsnoop", "-d", "3s", "--json",
                       *param_args(*params))


def finish(proc: subprocess.Popen) -> dict:
    """Wait for the run and return the execsnoop output entry of results.json."""
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    results = json.loads(out)
    assert results["hosts"]["localhost"]["outcome"] == "ok"
    return job_named(results, "execsnoop")


def my_comm() -> str:
    return Path(f"/proc/{os.getpid()}/comm").read_text().strip()


def test_execs_of_a_unique_program_by_comm_and_uid(tmp_path):
    # nobody must be able to reach the program: pytest's tmp dirs are 0700
    with tempfile.TemporaryDirectory() as public:
        os.chmod(public, 0o755)
        prog = Path(public) / "fleettrue"
        shutil.copy("/bin/true", prog)
        proc = trace(tmp_path / "runs", "comm=fleettrue", f"uid={NOBODY}")
        wait_for_window(tmp_path / "runs", hosts=1)
        for _ in range(2):  # the same program as root: filtered out by uid
            assert subprocess.run([str(prog), "root"]).returncode == 0
        pids = []
        for i in range(RUNS):
            child = subprocess.Popen([str(prog), f"arg{i}", "x"], user=NOBODY)
            assert child.wait() == 0
            pids.append(child.pid)
        out = finish(proc)
    assert out["kind"] == "events"
    events = out["events"]
    assert len(events) == RUNS
    assert [e["pid"] for e in events] == pids
    for i, e in enumerate(events):
        assert e["comm"] == "fleettrue"
        assert e["ppid"] == os.getpid()
        assert e["ret"] == 0
        assert e["uid"] == NOBODY
        assert e["args"] == f"{prog} arg{i} x"
        assert e["truncated"] == 0


def test_failed_only_with_args_contain(tmp_path):
    token = "fleet-" + uuid.uuid4().hex[:12]
    missing = f"/nonexistent-{token}/prog"
    prog = tmp_path / token  # exists: its successful exec must not show
    shutil.copy("/bin/true", prog)
    long_args = [f"{i:02d}" + "L" * 28 for i in range(14)]    # 15 words, > 255 bytes
    many_args = [f"a{i:02d}" for i in range(40)]             # more words than copied
    proc = trace(tmp_path / "runs", "failed_only=true", f"args_contain={token}")
    wait_for_window(tmp_path / "runs", hosts=1)
    for argv in ([missing, "one", "two"], [missing, *long_args], [missing, *many_args],
                 ["/nonexistent-other/prog"], ["/nonexistent-other/prog", "x"]):
        with pytest.raises(FileNotFoundError):
            subprocess.run(argv)
    assert subprocess.run([str(prog), token]).returncode == 0
    out = finish(proc)
    events = out["events"]
    assert len(events) == FAILS
    for e in events:
        assert e["ret"] == -2  # ENOENT
        assert e["comm"] == my_comm()  # a failed exec keeps the caller's name
        assert e["ppid"] == os.getpid()
    assert events[0]["args"] == f"{missing} one two"
    assert events[0]["truncated"] == 0
    # Past 255 bytes the text is cut mid-word and flagged.
    assert events[1]["args"] == (f"{missing} " + " ".join(long_args))[:255]
    assert events[1]["truncated"] == 1
    # The path and argv[1..15] are copied, no more.
    assert events[2]["args"] == " ".join([missing, *many_args[:15]])
    assert events[2]["truncated"] == 1
