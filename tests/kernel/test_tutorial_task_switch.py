"""Tutorial lesson task_switch on the sshd test fleet.

Two processes, A and its child B, are pinned to one CPU and made SCHED_FIFO
(so no ordinary task can run between them), then ping-pong one byte over two
pipes 200 times: A writes and blocks reading B's answer, B reads and answers.
Each round hands the CPU from A to B and back, so on every host (the three
hosts share this kernel) the rows "A,B" and "B,A" count at least 200 switches,
and not many more.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fleetrun import job_named, ping_pong, rows_by_key
from tutorialrun import attach_used, lesson_playbook, run_lesson

pytestmark = [pytest.mark.ssh, pytest.mark.kernel]

PLAYBOOK = lesson_playbook("task_switch")
ROUNDS = 200


@pytest.fixture(scope="module")
def lesson_run(ssh_fleet, tmp_path_factory):
    tmp: Path = tmp_path_factory.mktemp("tutorial_task_switch")
    results, hosts, (a, b, _) = run_lesson(ssh_fleet, tmp, PLAYBOOK,
                                           lambda: ping_pong(ROUNDS))
    return results, hosts, a, b


def test_every_host_used_sched_switch(lesson_run):
    results, hosts, _, _ = lesson_run
    for name in hosts:
        host = results["hosts"][name]
        assert host["outcome"] == "ok", host["reason"]
        used = attach_used(host, "task_switch")
        assert used == ["tracepoint:sched:sched_switch"]


def test_ping_pong_pairs_on_every_host(lesson_run):
    results, hosts, a, b = lesson_run
    job = job_named(results, "task_switch")
    assert job["kind"] == "table" and job["unit"] == "switches" and job["top"] == 10
    rows = rows_by_key(job)
    for key in (f"{a},{b}", f"{b},{a}"):
        row = rows[key]
        for name in hosts:
            # every round switches both ways; fork and exit may add one or two
            assert ROUNDS <= row["hosts"][name] <= ROUNDS + 5, (key, name, row)
        assert row["total"] == sum(row["hosts"][name] for name in hosts)
    totals = [r["total"] for r in job["rows"]]
    assert totals == sorted(totals, reverse=True)
