"""Helpers for the tutorial lessons' end-to-end tests on the ssh test fleet."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from fleetrun import (
    REPO_ROOT,
    dd_direct,
    disk_of,
    host_names,
    run_in_window,
    run_syncs,
    write_inventory,
)

TUTORIAL = REPO_ROOT / "examples" / "tutorial"


def lesson_playbook(lesson: str) -> Path:
    """The playbook of examples/tutorial/LESSON."""
    return TUTORIAL / lesson / "playbook.yaml"


def run_lesson(ssh_fleet, tmp: Path, playbook: Path, workload=None,
               duration: str = "4s"):
    """Run the playbook on the ssh fleet (`--json`), workload() inside the window.

    Returns (results, host names, workload's value); fleet must exit 0.
    """
    inv = write_inventory(tmp / "inv.yaml", ssh_fleet)
    results, value = run_in_window(
        tmp / "runs", len(ssh_fleet.hosts),
        ["run", str(playbook), "-i", str(inv), "--json", "--duration", duration],
        workload)
    return results, host_names(ssh_fleet), value


def attach_used(host: dict, job: str) -> list:
    """What each probe of the job on one host of results attached to."""
    return [a["used"] for a in host["jobs"][job]["attach"]]


def attach_by_probe(host: dict, job: str) -> dict:
    """{probe: what it attached to} for the job on one host of results."""
    return {a["probe"]: a["used"] for a in host["jobs"][job]["attach"]}


# argv: how many children to start with subprocess, one after the other.
FORKER = ("import subprocess, sys\n"
          "for _ in range(int(sys.argv[1])):\n"
          "    subprocess.run(['true'], check=True)\n")


def run_forker(children: int) -> int:
    """Run the forker to completion (inside the window); return its pid."""
    work = subprocess.Popen([sys.executable, "-c", FORKER, str(children)])
    assert work.wait(timeout=30) == 0
    return work.pid


def run_dd_lesson(ssh_fleet, tmp_path_factory, lesson: str, bs, blocks: int) -> dict:
    """The lesson's playbook around dd writing `blocks` blocks of `bs` (O_DIRECT).

    {"results", "hosts", "disk": the disk dd wrote to}.
    """
    tmp = tmp_path_factory.mktemp(lesson)
    results, hosts, _ = run_lesson(ssh_fleet, tmp, lesson_playbook(lesson),
                                   lambda: dd_direct(tmp / "ddfile", bs, blocks))
    return {"results": results, "hosts": hosts, "disk": disk_of(tmp)}


def run_sync_lesson(ssh_fleet, tmp_path_factory, lesson: str, syncs: int,
                    gap_s: float):
    """The lesson's playbook around `syncs` sync processes gap_s apart.

    (results, the syncs' pids, host names).
    """
    tmp = tmp_path_factory.mktemp(lesson)
    results, hosts, pids = run_lesson(ssh_fleet, tmp, lesson_playbook(lesson),
                                      lambda: run_syncs(syncs, gap_s))
    return results, pids, hosts


def run_fork_lesson(ssh_fleet, tmp_path_factory, lesson: str, children: int):
    """The lesson's playbook around the forker starting `children` children.

    (results, the forker's pid, host names).
    """
    tmp = tmp_path_factory.mktemp(lesson)
    results, hosts, pid = run_lesson(ssh_fleet, tmp, lesson_playbook(lesson),
                                     lambda: run_forker(children))
    return results, pid, hosts


def run_python(code: str, *args: str) -> str:
    """Run `python -c CODE ARGS` to completion (checked); its stdout."""
    return subprocess.run([sys.executable, "-c", code, *args], check=True,
                          capture_output=True, text=True, timeout=60).stdout
