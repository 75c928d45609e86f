"""Running fleet against the qemu guest around a workload that runs inside it.

The workload (guest_workload.py) is pushed to the guest and started over ssh
first: it prepares and reports the pids the playbook's filters need, then waits
for the window to open. The playbook is written with those pids, fleet runs
from the controller against the guest, and the workload is told to go once the
guest's agent says its window started.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

from fleetrun import start_fleet, wait_for_window

WORKLOAD = Path(__file__).resolve().parent / "guest_workload.py"
GUEST_WORKLOAD = "/root/fleet_workload.py"
GUEST_WORKDIR = "/root/fleetwork"
# Compiling a whole catalog in the guest takes 10-40 s under TCG (more cold).
READY_TIMEOUT = "300s"


@dataclass
class GuestRun:
    """A finished fleet run around a guest workload."""

    code: int
    stderr: str
    results: dict
    run_dir: Path
    ready: dict  # what the workload reported before the window
    done: dict   # what it reported after its steps

    def host(self, name: str = "vm1") -> dict:
        """The run's results for one host."""
        return self.results["hosts"][name]

    def job(self, job_id: str) -> dict:
        """The output entry of a job, by its id in the playbook."""
        return next(j for j in self.results["jobs"] if j["name"] == job_id)

    def attach(self, job_id: str, host: str = "vm1") -> dict:
        """probe -> the attach point the host used (None if it used none)."""
        slots = self.host(host)["jobs"][job_id]["attach"]
        return {s["probe"]: s["used"] for s in slots}

    def in_window(self, host: str = "vm1") -> bool:
        """Did the workload's steps run inside the host's window?"""
        window = self.host(host)["window"]
        return window["start_ns"] <= self.done["t0_ns"] <= self.done["t1_ns"] \
            <= window["end_ns"]


def push(vm_fleet, local: Path, remote: str, mode: str = "644") -> None:
    """Copy a file into the guest over ssh (cat > file, then chmod)."""
    done = subprocess.run(
        vm_fleet.ssh_argv("vm1", f"cat > {remote} && chmod {mode} {remote}"),
        stdin=local.open("rb"), capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr


def start_workload(vm_fleet, scenario: str, *args) -> subprocess.Popen:
    """Start the guest workload's scenario over ssh; it prepares, then waits."""
    push(vm_fleet, WORKLOAD, GUEST_WORKLOAD)
    argv = vm_fleet.ssh_argv("vm1", "python3", "-u", GUEST_WORKLOAD, scenario,
                             GUEST_WORKDIR, *map(str, args))
    return subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def read_line(workload: subprocess.Popen, key: str) -> dict:
    """The workload's next JSON line, which must hold key."""
    line = workload.stdout.readline()
    if not line:
        workload.wait(30)
        raise AssertionError(f"guest workload ended before {key!r}: "
                             f"{workload.stderr.read()}")
    return json.loads(line)[key]


def run_around(runs: Path, workload: subprocess.Popen, playbook_for, fleet_args,
               hosts: int = 1, timeout: float = 400) -> GuestRun:
    """Write the playbook from the workload's ready line, run fleet around the
    workload's steps, and return both sides' results."""
    proc = None
    try:
        ready = read_line(workload, "ready")
        playbook = playbook_for(ready)
        proc = start_fleet(runs, "run", str(playbook), "--json",
                           "--ready-timeout", READY_TIMEOUT, *fleet_args)
        run_dir = wait_for_window(runs, hosts, timeout=float(READY_TIMEOUT[:-1]))
        workload.stdin.write("go\n")
        workload.stdin.flush()
        done = read_line(workload, "done")
        assert workload.wait(60) == 0, workload.stderr.read()
        out, err = proc.communicate(timeout=timeout)
    finally:
        for p in (workload, proc):
            if p is not None and p.poll() is None:
                p.kill()
                p.communicate()
    return GuestRun(proc.returncode, err, json.loads(out), run_dir, ready, done)
