"""interval: on the kernel: a histogram read and emptied every second.

vfsreadlat with --interval 1s over a 4 s window on localhost, while a process
named fleetreads makes bursts of 50, 120 and 30 reads of /dev/zero in the
middle of the first three seconds of the window: each interval holds exactly
its burst, the last one nothing, and the intervals add up to the window.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import pytest
from fleetrun import job_named, run_dir_of, run_in_window

from fleet.report import render_text

pytestmark = pytest.mark.kernel

COMM = "fleetreads"
BURSTS = (50, 120, 30)

# Renames itself, then at each SIGUSR1 reads /dev/zero as often as the next
# count in argv says, and says "ok" (signals and writes: no read() of its own).
READER = r"""
import ctypes, os, signal, sys
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
ctypes.CDLL(None).prctl(15, sys.argv[1].encode(), 0, 0, 0)
fd = os.open("/dev/zero", os.O_RDONLY)
os.write(1, b"ready\n")
for count in sys.argv[2:]:
    signal.sigwait({signal.SIGUSR1})
    for _ in range(int(count)):
        os.read(fd, 1)
    os.write(1, b"ok\n")
"""


def window_start_ns(runs) -> int:
    """When localhost's window opened, from its log's "started" message."""
    log = (run_dir_of(runs) / "hosts" / "localhost.log").read_text()
    line = next(line for line in log.splitlines() if '"type":"started"' in line)
    return json.loads(line[line.index("{"):])["window"]["start_ns"]


def bursts_mid_interval(runs) -> None:
    """Burst i at 0.5 s into interval i of the window."""
    reader = subprocess.Popen([sys.executable, "-c", READER, COMM,
                               *map(str, BURSTS)], stdout=subprocess.PIPE, text=True)
    try:
        assert reader.stdout.readline() == "ready\n"
        start = window_start_ns(runs)
        for i in range(len(BURSTS)):
            time.sleep(max(start / 1e9 + i + 0.5 - time.time(), 0))
            reader.send_signal(signal.SIGUSR1)
            assert reader.stdout.readline() == "ok\n"
    finally:
        assert reader.wait(timeout=30) == 0


def test_per_interval_slots_add_up_to_the_window(tmp_path):
    runs = tmp_path / "runs"
    results, _ = run_in_window(
        runs, 1, ["trace", "vfsreadlat", "-d", "4s", "--interval", "1s", "--json",
                  "-p", f"comm={COMM}"], lambda: bursts_mid_interval(runs))
    assert results["hosts"]["localhost"]["outcome"] == "ok"
    entry = job_named(results, "vfsreadlat")
    assert entry["interval_s"] == 1.0
    per_host = entry["intervals"]["hosts"]["localhost"]
    counts = [sum(slots) for slots in per_host]
    assert counts == [*BURSTS, 0], counts
    assert [sum(s) for s in entry["intervals"]["fleet"]] == counts
    # the window's histogram is the sum of its intervals, slot by slot
    window = entry["hosts"]["localhost"]["slots"]
    assert sum(window) == sum(BURSTS) == entry["fleet"]["count"]
    for k, n in enumerate(window):
        assert n == sum(slots[k] for slots in per_host if k < len(slots))
    text = render_text(results)
    assert "count per 1s (4 intervals of 1s): 50 120 30 0" in text
    assert "busiest 1s-2s: 120 samples" in text
