"""Helpers for end-to-end tests: write inventories, run the real `fleet` CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass
class FleetRun:
    """A finished `fleet` process and its run folder."""

    code: int
    stdout: str
    stderr: str
    run_dir: Path | None

    @property
    def results(self) -> dict:
        """results.json of the run."""
        return json.loads((self.run_dir / "results.json").read_text())


def write_inventory(
    path: Path, fleet, extra: dict | None = None, known_hosts: Path | None = None
) -> Path:
    """A YAML inventory of the fleet's hosts plus `extra` {name: vars}."""
    lines = [
        "all:",
        "  vars:",
        f"    fleet_known_hosts: {known_hosts or fleet.known_hosts_path}",
        f"    ansible_ssh_private_key_file: {fleet.client_key_path}",
        "    ansible_user: root",
        "    ansible_python_interpreter: /usr/bin/python3",
        "  children:",
        "    fleet:",
        "      hosts:",
    ]
    for host in fleet.hosts:
        lines += [
            f"        {host['name']}:",
            f"          ansible_host: {host['address']}",
        ]
    for name, hostvars in (extra or {}).items():
        lines.append(f"        {name}:")
        lines += [f"          {k}: {v}" for k, v in hostvars.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


def write_playbook(
    path: Path, jobs: str, duration: str = "3s", hosts: str = "all"
) -> Path:
    """A playbook file with the given `jobs:` YAML block (already indented)."""
    path.write_text(f"name: test\nhosts: {hosts}\nduration: {duration}\njobs:\n{jobs}")
    return path


def fleet_cmd(*args: str) -> list[str]:
    """The argv running the CLI with this interpreter."""
    return [sys.executable, "-m", "fleet", *args]


def run_dir_of(runs: Path) -> Path | None:
    """The newest run folder under runs/."""
    dirs = sorted(p for p in runs.glob("*") if p.is_dir()) if runs.exists() else []
    return dirs[-1] if dirs else None


def run_fleet(runs: Path, *args: str, timeout: float = 240) -> FleetRun:
    """Run `fleet ARGS --runs RUNS` to completion."""
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    proc = subprocess.run(
        fleet_cmd(*args, "--runs", str(runs)),
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO_ROOT,
        env=env,
    )
    return FleetRun(proc.returncode, proc.stdout, proc.stderr, run_dir_of(runs))


def agent_pids() -> list[int]:
    """Pids of running fleet agents (any python running an agent-*.pyz)."""
    out = subprocess.run(
        ["pgrep", "-f", r"\.cache/fleet/agent-.*\.pyz"], capture_output=True, text=True
    )
    return [int(p) for p in out.stdout.split()]


def start_fleet(runs: Path, *args: str) -> subprocess.Popen:
    """Start `fleet ARGS --runs RUNS` without waiting (for workloads and SIGINT)."""
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    return subprocess.Popen(
        fleet_cmd(*args, "--runs", str(runs)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO_ROOT,
        env=env,
    )


def wait_for_window(runs: Path, hosts: int, timeout: float = 120) -> Path:
    """Block until `hosts` host logs of the newest run say the window started."""
    import time

    end = time.monotonic() + timeout
    while time.monotonic() < end:
        run_dir = run_dir_of(runs)
        if run_dir is not None:
            logs = list((run_dir / "hosts").glob("*.log"))
            started = [p for p in logs if '"type":"started"' in p.read_text()]
            if len(started) >= hosts:
                return run_dir
        time.sleep(0.1)
    raise AssertionError(f"window did not start on {hosts} hosts within {timeout}s")


def bpf_prog_ids() -> set[int]:
    """Ids of every BPF program loaded in the kernel (bpftool)."""
    out = subprocess.run(
        ["bpftool", "prog", "list", "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    return {p["id"] for p in json.loads(out.stdout or "[]")}
