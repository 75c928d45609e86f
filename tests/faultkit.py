"""Fault injection on a real sshd fleet, for tests/integration/test_faults.py and
bench/faults.py: host aliases with their own cache dirs (so each agent can be
told apart by its command line), the agent and sshd session process of a host,
and what a run leaves behind (agent processes, BPF programs they hold)."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

from fleetrun import run_dir_of, run_syncs

SYNCS = 3  # sync() calls each window must see on every ok host
PLAYBOOK = """\
name: faults
duration: {duration}
keepalive: {keepalive}
ready_timeout: {ready_timeout}
jobs:
  - job: syncsnoop
"""


def write_fault_playbook(path: Path, duration: str = "4s", keepalive: str = "1s",
                         ready_timeout: str = "30s") -> Path:
    """A syncsnoop playbook with short keepalives (a lost session shows in ~3 s)."""
    path.write_text(PLAYBOOK.format(duration=duration, keepalive=keepalive,
                                    ready_timeout=ready_timeout))
    return path


def write_alias_inventory(path: Path, fleet, aliases: dict[str, dict],
                          cache_root: Path) -> Path:
    """An inventory of named hosts, each an alias of a fleet host with its own
    cache dir: ``aliases`` maps a name to extra vars (``on``: the fleet host)."""
    lines = [
        "all:",
        "  vars:",
        f"    fleet_known_hosts: {json.dumps(str(fleet.known_hosts_path))}",
        f"    ansible_ssh_private_key_file: {json.dumps(str(fleet.client_key_path))}",
        "    ansible_user: root",
        "    ansible_python_interpreter: /usr/bin/python3",
        "  hosts:",
    ]
    for name, extra in aliases.items():
        extra = dict(extra)
        host = fleet.host(extra.pop("on", fleet.hosts[0]["name"]))
        extra.setdefault("fleet_cache_dir", str(cache_root / name))
        lines += [f"    {name}:", f"      ansible_host: {host['address']}",
                  f"      ansible_port: {host['port']}"]
        lines += [f"      {k}: {json.dumps(str(v))}" for k, v in extra.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


def cmdline(pid: int) -> str:
    """A process's command line, NULs as spaces ("" when it is gone)."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(
            "utf-8", "replace")
    except OSError:
        return ""


def parent(pid: int) -> int:
    """A process's parent pid (0 when it is gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0
    return int(stat.rsplit(")", 1)[1].split()[1])


def agent_of(cache_dir: Path) -> int | None:
    """The pid of the agent running from a cache dir, or None."""
    needle = f"{cache_dir}/agent-"
    for entry in os.listdir("/proc"):
        if entry.isdigit() and needle in cmdline(int(entry)):
            return int(entry)
    return None


def wait_for_agent(cache_dir: Path, timeout: float = 60) -> int:
    """Block until the agent running from cache_dir exists; its pid."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        pid = agent_of(cache_dir)
        if pid:
            return pid
        time.sleep(0.05)
    raise AssertionError(f"no agent from {cache_dir} within {timeout}s")


def session_of(agent_pid: int) -> int:
    """The sshd session process ("sshd: root@notty") serving an agent."""
    pid = parent(agent_pid)
    assert "sshd" in cmdline(pid), (pid, cmdline(pid))
    return pid


def inject(fault: str, cache_dir: Path) -> list[int]:
    """Apply a fault to the host whose cache is cache_dir; the pids stopped.

    Faults: sshd-stop, sshd-kill, agent-stop, agent-kill.
    """
    agent = wait_for_agent(cache_dir)
    target = session_of(agent) if fault.startswith("sshd") else agent
    sig = signal.SIGSTOP if fault.endswith("stop") else signal.SIGKILL
    os.kill(target, sig)
    return [target] if sig == signal.SIGSTOP else []


def release(stopped: list[int]) -> None:
    """Kill the processes a fault left stopped (SIGKILL works on them)."""
    for pid in stopped:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def wait_for_started(runs: Path, hosts: list[str], timeout: float = 60) -> Path:
    """Block until the named hosts' logs say their window started."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        run_dir = run_dir_of(runs)
        if run_dir is not None:
            logs = [run_dir / "hosts" / f"{h}.log" for h in hosts]
            if all(p.exists() and '"type":"started"' in p.read_text() for p in logs):
                return run_dir
        time.sleep(0.05)
    raise AssertionError(f"window did not start on {hosts} within {timeout}s")


def syncs_in_window() -> list[int]:
    """The workload: SYNCS sync() calls; their pids."""
    return run_syncs(SYNCS, 0.2)


def has_full_data(results: dict, host: str, pids: list[int]) -> bool:
    """True when the host's syncsnoop events hold every workload sync."""
    job = next(j for j in results["jobs"] if j["job"] == "syncsnoop")
    seen = {e["pid"] for e in job["events"] if e["host"] == host}
    return set(pids) <= seen


def agent_pids(results: dict) -> dict[str, int]:
    """Each host's agent pid, from its hello facts."""
    return {name: (h["facts"] or {}).get("pid") for name, h in results["hosts"].items()
            if (h["facts"] or {}).get("pid")}


def bpf_programs_held(pid: int) -> int:
    """BPF program fds a process holds (its probes go when they close)."""
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return 0
    held = 0
    for fd in fds:
        try:
            held += os.readlink(f"/proc/{pid}/fd/{fd}") == "anon_inode:bpf-prog"
        except OSError:
            pass
    return held


def left_behind(pids) -> tuple[int, int]:
    """(agents still running, BPF programs they hold) among pids."""
    alive = [p for p in pids if "agent-" in cmdline(p)]
    return len(alive), sum(bpf_programs_held(p) for p in alive)


def wait_until_gone(pids, timeout: float) -> tuple[int, int]:
    """Poll left_behind until nothing is left or timeout; the last count."""
    end = time.monotonic() + timeout
    left = left_behind(pids)
    while left != (0, 0) and time.monotonic() < end:
        time.sleep(0.2)
        left = left_behind(pids)
    return left
