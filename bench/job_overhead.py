"""What a job costs the traced work: ns added per operation, on localhost.

For each job, a workload of N operations of the kind the job traces (system
calls, context switches, file reads and writes, libc calls through uprobes)
runs once alone and once inside a `fleet trace JOB` window; the difference
divided by N is the job's cost per operation. Prints one line per job. Not a
test: a figure to read (it varies with the CPU and the other load).

    flock /tmp/fleet-e2e.lock .venv/bin/python bench/job_overhead.py [JOB ...]
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from fleetrun import start_fleet, wait_for_window  # noqa: E402

N = 200_000
# Each workload prints its own elapsed seconds for N operations.
SYSCALLS = f"""
import os, time
t = time.perf_counter()
for _ in range({N}):
    os.getppid()
print(time.perf_counter() - t)
"""
SWITCHES = f"""
import os, time
os.sched_setaffinity(0, {{max(os.sched_getaffinity(0))}})
r1, w1 = os.pipe(); r2, w2 = os.pipe()
n = {N // 10}
if os.fork() == 0:
    for _ in range(n):
        os.read(r1, 1); os.write(w2, b"y")
    os._exit(0)
t = time.perf_counter()
for _ in range(n):
    os.write(w1, b"x"); os.read(r2, 1)
print((time.perf_counter() - t) * 10)
"""
FILES = f"""
import os, tempfile, time
fd, path = tempfile.mkstemp()
os.write(fd, b"x" * 4096)
t = time.perf_counter()
for _ in range({N}):
    os.pread(fd, 64, 0)
print(time.perf_counter() - t)
os.unlink(path)
"""
LIBC = f"""
import ctypes, time
libc = ctypes.CDLL("libc.so.6")
t = time.perf_counter()
for _ in range({N}):
    libc.getppid()
print(time.perf_counter() - t)
"""
CASES = {
    "syscount": (SYSCALLS, []),
    "syscount -p latency=true": (SYSCALLS, ["-p", "latency=true"]),
    "filetop": (FILES, []),
    "fsdist": (FILES, []),
    "cpudist": (SWITCHES, []),
    "offcputime": (SWITCHES, []),
    "stackcount": (SWITCHES, []),
    "funccount -p library=c -p function=getppid": (LIBC, ["-p", "library=c",
                                                          "-p", "function=getppid"]),
    "funclatency -p library=c -p function=getppid": (LIBC, ["-p", "library=c",
                                                            "-p", "function=getppid"]),
}


def timed(code: str) -> float:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=300)
    return float(out.stdout.split()[-1])


def traced(job: str, params: list, code: str, runs: Path) -> float:
    proc = start_fleet(runs, "trace", job, "-d", "30s", *params)
    try:
        wait_for_window(runs, 1)
        return timed(code)
    finally:
        proc.send_signal(signal.SIGINT)  # Ctrl-C: every agent detaches
        proc.communicate(timeout=60)


def main(names: list[str]) -> None:
    runs = Path("/tmp/fleet-bench-overhead")
    print(f"{'job':46} {'alone ns/op':>11} {'traced ns/op':>12} {'added':>8}")
    for name, (code, params) in CASES.items():
        job = name.split()[0]
        if names and job not in names:
            continue
        alone = min(timed(code) for _ in range(3)) / N * 1e9
        with_job = traced(job, params, code, runs / str(time.time_ns())) / N * 1e9
        print(f"{name:46} {alone:11.0f} {with_job:12.0f} {with_job - alone:8.0f}")


if __name__ == "__main__":
    main(sys.argv[1:])
