"""task_switch on the real kernel: two processes ping-pong over pipes on one CPU.

A writes a byte to B and blocks reading B's answer; B reads and answers. On one
CPU every round hands the CPU from A to B and back, so each direction's row
counts ROUNDS switches. Both run SCHED_FIFO, so no ordinary task (a kworker
woken on that CPU) can run between them and split a hand-over in two.
"""

from __future__ import annotations

import json

import pytest
from fleetrun import ping_pong, start_fleet, wait_for_window

pytestmark = pytest.mark.kernel

ROUNDS = 100
HOST = "localhost"


def parse_key(key: str) -> tuple[str, int, int, str]:
    """Split a row key "prev_comm,prev_pid,next_pid,next_comm"."""
    prev_comm, prev_pid, next_pid, next_comm = key.split(",")
    return prev_comm, int(prev_pid), int(next_pid), next_comm


@pytest.fixture(scope="module")
def ping_pong_run(tmp_path_factory):
    """One task_switch window with the ping-pong inside it."""
    runs = tmp_path_factory.mktemp("task_switch") / "runs"
    proc = start_fleet(runs, "trace", "task_switch", "-d", "3s", "--json")
    wait_for_window(runs, 1)
    a_pid, b_pid, comm = ping_pong(ROUNDS)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    return json.loads(out), a_pid, b_pid, comm


def test_both_directions_count_every_round(ping_pong_run):
    results, a, b, comm = ping_pong_run
    job = results["jobs"][0]
    assert job["name"] == "task_switch" and job["kind"] == "table"
    assert job["unit"] == "switches" and job["top"] == 20
    rows = {parse_key(r["key"]): r for r in job["rows"]}
    a_to_b = rows[(comm, a, b, comm)]
    b_to_a = rows[(comm, b, a, comm)]
    # Equal FIFO priorities never preempt each other: each hands over once per
    # round, plus at most the fork and the exit.
    assert ROUNDS <= a_to_b["total"] <= ROUNDS + 2, a_to_b
    assert ROUNDS <= b_to_a["total"] <= ROUNDS + 2, b_to_a
    assert a_to_b["hosts"] == {HOST: a_to_b["total"]}


def test_rows_sorted_and_whole(ping_pong_run):
    results = ping_pong_run[0]
    rows = results["jobs"][0]["rows"]
    totals = [r["total"] for r in rows]
    assert totals == sorted(totals, reverse=True)
    assert len(rows) > 20  # every pair is kept; only the report shows the top 20
    assert all(len(r["key"].split(",")) >= 4 for r in rows)  # comms may hold commas
