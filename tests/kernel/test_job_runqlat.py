"""runqlat on the real kernel: a sleeper sharing one CPU with two busy loops.

The sleeper is pinned to one CPU together with two CPU-bound processes, so each
time its 10 ms sleep ends it has to wait for the CPU. It counts its own wakeups
(one to start, one per sleep); the histogram of its pid must hold that many
samples (within 2, for the rare preemption of the sleeper itself).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from fleetrun import start_fleet, wait_for_window

pytestmark = pytest.mark.kernel

SLEEPS = 100
HOST = "localhost"

BUSY = """\
import os, sys
os.sched_setaffinity(0, {int(sys.argv[1])})
while True:
    pass
"""

# Pins itself, says ready, blocks on stdin until the window is open (that read
# ends with one wakeup), then sleeps 10 ms SLEEPS times. Prints the wakeups it
# counted and, for diagnosis, its involuntary context switches meanwhile.
SLEEPER = """\
import os, sys, time
os.sched_setaffinity(0, {int(sys.argv[1])})
def involuntary():
    with open("/proc/self/status") as f:
        return int([l for l in f if l.startswith("nonvoluntary")][0].split()[1])
sys.stdout.write("ready\\n")
sys.stdout.flush()
os.read(0, 16)
wakeups = 1
before = involuntary()
for _ in range(int(sys.argv[2])):
    time.sleep(0.01)
    wakeups += 1
sys.stdout.write("%d %d\\n" % (wakeups, involuntary() - before))
sys.stdout.flush()
"""


def run_with_sleeper(tmp_path, *params: str) -> tuple[dict, int, int, int]:
    """One runqlat window around the workload; (results, pid, wakeups, preempted).

    ``params`` may contain ``{pid}``, replaced by the sleeper's pid: the pid
    filter is compiled into the C, so the sleeper exists before fleet starts.
    """
    cpu = max(os.sched_getaffinity(0))
    busy = [subprocess.Popen([sys.executable, "-c", BUSY, str(cpu)]) for _ in range(2)]
    sleeper = subprocess.Popen([sys.executable, "-c", SLEEPER, str(cpu), str(SLEEPS)],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert sleeper.stdout.readline() == "ready\n"
        args = [a for p in params for a in ("-p", p.format(pid=sleeper.pid))]
        runs = tmp_path / "runs"
        proc = start_fleet(runs, "trace", "runqlat", "-d", "4s", "--json", *args)
        wait_for_window(runs, 1)
        sleeper.stdin.write("go\n")
        sleeper.stdin.flush()
        wakeups, preempted = map(int, sleeper.stdout.readline().split())
        assert sleeper.wait(10) == 0
        out, err = proc.communicate(timeout=60)
    finally:
        for p in [*busy, sleeper]:
            p.kill()
            p.wait()
    assert proc.returncode == 0, err
    assert wakeups == SLEEPS + 1
    results = json.loads(out)
    assert results["hosts"][HOST]["outcome"] == "ok"
    return results, sleeper.pid, wakeups, preempted


def test_pid_filter_counts_every_wakeup(tmp_path):
    results, pid, wakeups, preempted = run_with_sleeper(tmp_path, "pid={pid}")
    job = results["jobs"][0]
    assert job["name"] == "runqlat" and job["kind"] == "histogram"
    assert job["unit"] == "usecs"
    assert "keys" not in job
    slots = job["hosts"][HOST]["slots"]
    assert job["fleet"]["slots"] == slots
    assert abs(sum(slots) - wakeups) <= 2, (slots, wakeups, preempted)
    # Waiting behind two busy loops takes far less than a second (slot 20).
    assert len(slots) <= 20, slots
    attach = results["hosts"][HOST]["jobs"]["runqlat"]["attach"]
    assert [a["used"] for a in attach] == ["tracepoint:sched:sched_wakeup",
                                           "tracepoint:sched:sched_wakeup_new",
                                           "tracepoint:sched:sched_switch"]


def test_per_pid_keys_hold_the_sleeper(tmp_path):
    results, pid, wakeups, preempted = run_with_sleeper(
        tmp_path, "per_pid=true", "milliseconds=true")
    job = results["jobs"][0]
    assert job["unit"] == "msecs"
    assert str(pid) in job["keys"]
    mine = job["keys"][str(pid)]
    assert abs(mine["fleet"]["count"] - wakeups) <= 2, (mine, wakeups, preempted)
    assert mine["hosts"][HOST]["slots"] == mine["fleet"]["slots"]
    # msecs: behind two busy loops the sleeper waits well under 1 s (slot 10).
    assert len(mine["fleet"]["slots"]) <= 10, mine
    # Every other runnable thread is counted too, under its own key.
    assert all(label.isdigit() and label != "0" for label in job["keys"])
    assert job["fleet"]["count"] > mine["fleet"]["count"]
