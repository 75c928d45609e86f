"""syscount, stackcount, offcputime, cpudist, hardirqs and softirqs on the real kernel.

One playbook runs them in one window around known work: a worker process
(created first, so that its pid can be compiled in) calls getppid() CALLS
times and sleeps SLEEPS x 20 ms; a pinned ping-pong hands the CPU over ROUNDS
times; dd writes with O_DIRECT while /proc/interrupts and /proc/softirqs are
read around it (the kernel's own counts bound the jobs' counts from both sides).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from fleetrun import (
    dd_direct,
    go,
    job_named,
    ping_pong,
    run_in_window,
    start_waiting,
    write_playbook,
)

pytestmark = pytest.mark.kernel

HOST = "localhost"
CALLS = 50
SLEEPS = 20
ROUNDS = 200
WORKER = f"""
import os, sys, time
sys.stdin.readline()
for _ in range({CALLS}):
    os.getppid()
for _ in range({SLEEPS}):
    time.sleep(0.02)
"""


def proc_counts(path: str) -> dict[str, int]:
    """Per-line totals over the CPUs of /proc/interrupts or /proc/softirqs, by name."""
    counts = {}
    for line in Path(path).read_text().splitlines()[1:]:
        label, *fields = line.split()
        numbers = [int(f) for f in fields if f.isdigit()]
        name = fields[-1] if fields and not fields[-1].isdigit() else label
        counts[name if label[:-1].isdigit() else label.rstrip(":")] = sum(numbers)
    return counts


def delta(before: dict, after: dict) -> dict:
    return {k: after[k] - before.get(k, 0) for k in after}


@pytest.fixture(scope="module")
def cpu_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("jobs_cpu")
    worker = start_waiting([sys.executable, "-c", WORKER])
    book = write_playbook(tmp / "book.yaml", f"""\
  - job: syscount
    params: {{pid: {worker.pid}, latency: true}}
  - job: stackcount
    params: {{tracepoint: "syscalls:sys_enter_getppid", pid: {worker.pid}}}
  - name: stackcount_libc
    job: stackcount
    params: {{uprobe: "c:getppid", pid: {worker.pid}, user_only: true}}
  - job: offcputime
    params: {{pid: {worker.pid}, kernel_only: true}}
  - job: cpudist
    params: {{per_process: true}}
  - job: hardirqs
    params: {{count: true}}
  - job: softirqs
    params: {{count: true}}
""", duration="4s")
    seen = {}

    def workload():
        go(worker)
        assert worker.returncode == 0
        seen["a"], seen["b"], _ = ping_pong(ROUNDS)
        irq0, soft0 = proc_counts("/proc/interrupts"), proc_counts("/proc/softirqs")
        dd_direct(tmp / "dd.bin", "4k", 200)
        seen["irq_dd"] = delta(irq0, proc_counts("/proc/interrupts"))
        seen["soft_dd"] = delta(soft0, proc_counts("/proc/softirqs"))

    irq0, soft0 = proc_counts("/proc/interrupts"), proc_counts("/proc/softirqs")
    try:
        results, _ = run_in_window(tmp / "runs", 1, ["run", str(book), "--json"],
                                   workload)
    finally:
        worker.kill()
        worker.wait()
    seen["irq_run"] = delta(irq0, proc_counts("/proc/interrupts"))
    seen["soft_run"] = delta(soft0, proc_counts("/proc/softirqs"))
    assert results["hosts"][HOST]["outcome"] == "ok"
    return results, seen, worker.pid


def rows(results: dict, name: str) -> dict:
    return {r["key"]: r["total"] for r in job_named(results, name, "name")["rows"]}


def test_syscount_counts_and_times_each_getppid(cpu_run):
    results, _, _ = cpu_run
    calls, time = rows(results, "syscount.calls"), rows(results, "syscount.time")
    assert calls["getppid"] == CALLS, calls
    assert calls["clock_nanosleep"] == SLEEPS
    assert time["clock_nanosleep"] >= SLEEPS * 20_000  # usecs asleep
    assert 0 <= time["getppid"] < time["clock_nanosleep"]


def test_stackcount_one_stack_per_call_at_tracepoint_and_uprobe(cpu_run):
    results, _, _ = cpu_run
    for name in ("stackcount", "stackcount_libc"):
        stacks = rows(results, name)
        assert sum(stacks.values()) == CALLS, (name, stacks)
        assert all(key.startswith("python") for key in stacks)
    kernel = rows(results, "stackcount")
    assert any("_[k]" in key for key in kernel)  # the syscall's kernel frames


def test_offcputime_sums_the_sleeps_in_nanosleep(cpu_run):
    results, _, _ = cpu_run
    stacks = rows(results, "offcputime")
    asleep = sum(v for k, v in stacks.items() if "nanosleep" in k)
    assert SLEEPS * 20_000 <= asleep <= SLEEPS * 20_000 * 1.5, stacks


def test_cpudist_counts_each_time_a_runs(cpu_run):
    results, seen, _ = cpu_run
    job = job_named(results, "cpudist")
    a = job["keys"][str(seen["a"])]["fleet"]["count"]
    # A runs once per round, plus its start before it is pinned.
    assert ROUNDS <= a <= ROUNDS + 20, a


def test_hardirqs_and_softirqs_within_the_kernels_own_counts(cpu_run):
    results, seen, _ = cpu_run
    devices = {k: v for k, v in seen["irq_dd"].items() if "-" in k and v > 0}
    disk = max(devices, key=devices.get)  # the disk's interrupt, busiest in dd
    irqs = rows(results, "hardirqs")
    assert seen["irq_dd"][disk] <= irqs[disk] <= seen["irq_run"][disk], (disk, irqs)
    soft = rows(results, "softirqs")
    assert seen["soft_dd"]["BLOCK"] <= soft["block"] <= seen["soft_run"]["BLOCK"]
    assert seen["soft_dd"]["BLOCK"] > 0
