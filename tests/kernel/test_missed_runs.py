"""Probe runs the kernel skips are counted and reported, never silently lost.

A tracepoint program does not run while another BPF program is running on the
same CPU; the kernel counts each such run in the program's recursion_misses.
To make that happen on demand: `slow` spins ~30 usecs inside the BPF program
on every getppid() of the workload, which calls getppid() in a loop, so its
CPU spends most of its time inside `slow`. Timer interrupts that land then
fire timer:hrtimer_expire_entry, where `ticks` counts: those runs are skipped.
(A program nested in another one in the same context, e.g. on the
bpf_trace_printk tracepoint, is dropped by perf before BPF sees it, uncounted.)
"""

from __future__ import annotations

import json
import sys

import pytest
from fleetrun import (
    go,
    job_named,
    start_fleet,
    start_waiting,
    wait_for_window,
    write_playbook,
)

pytestmark = pytest.mark.kernel

CALLS = 10_000  # ~0.3 s inside `slow`: dozens of timer interrupts land there
WORKLOAD = f"""
import os, sys
sys.stdin.readline()                                      # go: window open
for _ in range({CALLS}):
    os.getppid()
"""

JOBS = """\
  - name: slow
    summary: spins inside BPF on every getppid() of the workload
    text: |
      BPF_HASH(calls, u32, u64, 16);
      TRACEPOINT_PROBE(syscalls, sys_enter_getppid)
      {{
          if ((bpf_get_current_pid_tgid() >> 32) != {pid})
              return 0;
          u32 key = 0;
          calls.increment(key);
          volatile u64 x = 0;
          for (u32 i = 0; i < 60000; i++)
              x += i;
          return 0;
      }}
    attach:
      - tracepoint: "syscalls:sys_enter_getppid"
    outputs:
      - table: {{map: calls, unit: calls}}
  - name: ticks
    summary: timer interrupts
    text: |
      BPF_HASH(runs, u32, u64, 16);
      TRACEPOINT_PROBE(timer, hrtimer_expire_entry)
      {{
          u32 key = 0;
          runs.increment(key);
          return 0;
      }}
    attach:
      - tracepoint: "timer:hrtimer_expire_entry"
    outputs:
      - table: {{map: runs, unit: runs}}
"""


def test_runs_skipped_while_another_program_runs_are_reported(tmp_path):
    work = start_waiting([sys.executable, "-c", WORKLOAD])
    try:
        pb = write_playbook(tmp_path / "pb.yaml", JOBS.format(pid=work.pid),
                            duration="3s")
        proc = start_fleet(tmp_path / "runs", "run", str(pb), "--json")
        run_dir = wait_for_window(tmp_path / "runs", 1)
        go(work)
        out, err = proc.communicate(timeout=120)
    finally:
        work.kill()
    assert proc.returncode == 0, err
    results = json.loads(out)
    host = results["hosts"]["localhost"]
    assert host["outcome"] == "ok", host["reason"]
    assert [r["total"] for r in job_named(results, "slow")["rows"]] == [CALLS]
    ticks = job_named(results, "ticks")
    assert sum(r["total"] for r in ticks["rows"]) > 0  # it does run, when it can
    missed = ticks["missed_runs"].get("localhost", 0)
    assert missed >= 5, ticks["missed_runs"]
    assert host["jobs"]["ticks"]["missed_runs"] == missed
    assert job_named(results, "slow")["missed_runs"] == {}
    report = " ".join((run_dir / "report.txt").read_text().split())
    assert f"the kernel skipped {missed} probe runs (localhost={missed})" in report
