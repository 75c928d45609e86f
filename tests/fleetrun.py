"""Helpers for end-to-end tests: write inventories, run the real `fleet` CLI around
workloads, pick results apart, loopback sockets, recorded fixtures."""

from __future__ import annotations

import ipaddress
import json
import os
import socket
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
            f"          ansible_port: {host['port']}",
        ]
    for name, hostvars in (extra or {}).items():
        lines.append(f"        {name}:")
        lines += [f"          {k}: {v}" for k, v in hostvars.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


def write_fleets_inventory(path: Path, groups: dict) -> Path:
    """A YAML inventory with one group per fleet ({group: fleet}), each host
    carrying its own fleet's address, port, key and known_hosts: how sshd hosts
    and the qemu guest go into one run."""
    lines = ["all:", "  children:"]
    for group, fleet in groups.items():
        lines += [f"    {group}:", "      hosts:"]
        for host in fleet.hosts:
            lines += [
                f"        {host['name']}:",
                f"          ansible_host: {host['address']}",
                f"          ansible_port: {host['port']}",
                "          ansible_user: root",
                f"          ansible_ssh_private_key_file: {fleet.client_key_path}",
                "          ansible_python_interpreter: /usr/bin/python3",
                f"          fleet_known_hosts: {fleet.known_hosts_path}",
            ]
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


def run_fleet(runs: Path, *args: str, timeout: float = 240,
              env: dict | None = None, input: str | None = None) -> FleetRun:
    """Run `fleet ARGS --runs RUNS` to completion.

    env: variables to set (a None value removes one, e.g. SSH_AUTH_SOCK);
    input: text on fleet's stdin (else none).
    """
    full = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    for key, value in (env or {}).items():
        if value is None:
            full.pop(key, None)
        else:
            full[key] = str(value)
    proc = subprocess.run(
        fleet_cmd(*args, "--runs", str(runs)),
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO_ROOT,
        env=full,
        input=input if input is not None else "",
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


# ---------------------------------------------------------------------------
# picking things out of results


def host_names(fleet) -> list[str]:
    """The names of the fleet's hosts, in order."""
    return [h["name"] for h in fleet.hosts]


def job_named(results: dict, name: str, key: str = "job") -> dict:
    """The first output entry of results whose `key` ("job" or "name") is name."""
    return next(j for j in results["jobs"] if j[key] == name)


def host_events(job: dict, host: str, pids=None) -> list[dict]:
    """The job's events from one host, only those of `pids` if given."""
    return [e for e in job["events"]
            if e["host"] == host and (pids is None or e["pid"] in pids)]


def expected_seen(job: dict, host: str, workload: int) -> int:
    """How many of a workload's `workload` events the job must show on host.

    All of them, less the probe runs that host's kernel skipped and reported
    (missed_runs: a completion interrupting another BPF program on its CPU,
    more likely with several agents on one machine). A silent loss still fails.
    """
    return workload - job["missed_runs"].get(host, 0)


def rows_by_key(job: dict) -> dict:
    """A table output's rows by key."""
    return {row["key"]: row for row in job["rows"]}


def slot(stats: dict, index: int) -> int:
    """A histogram's count in slot index (0 past the last slot)."""
    slots = stats["slots"]
    return slots[index] if index < len(slots) else 0


# ---------------------------------------------------------------------------
# running fleet around a workload


def param_args(*params: str) -> list[str]:
    """-p PARAM for each param."""
    return [a for p in params for a in ("-p", p)]


def run_in_window(runs: Path, hosts: int, args, workload=None, timeout: float = 120):
    """Start `fleet ARGS`, run workload() once the window is open on `hosts`
    hosts, wait for fleet (exit 0); return (parsed --json output, workload's value).
    """
    proc = start_fleet(runs, *args)
    try:
        wait_for_window(runs, hosts)
        value = workload() if workload is not None else None
        out, err = proc.communicate(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    return json.loads(out), value


def trace_local(runs: Path, job: str, *params: str, workload=None,
                duration: str = "3s", timeout: float = 120):
    """`fleet trace JOB -d DURATION --json -p PARAMS` on localhost around workload();
    checks localhost's outcome is ok; return (results, workload's value)."""
    results, value = run_in_window(
        runs, 1, ["trace", job, "-d", duration, "--json", *param_args(*params)],
        workload, timeout)
    assert results["hosts"]["localhost"]["outcome"] == "ok"
    return results, value


# ---------------------------------------------------------------------------
# workloads


def start_waiting(argv: list[str], stdout: bool = False) -> subprocess.Popen:
    """Start a workload that waits for a line ("go") on its stdin."""
    return subprocess.Popen(argv, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE if stdout else None, text=True)


def go(work: subprocess.Popen, timeout: float = 30):
    """Tell a start_waiting() workload to go and wait for it; its (stdout, stderr)."""
    return work.communicate("go\n", timeout=timeout)


# argv: cpu rounds. A and its child B ping-pong a byte over two pipes, pinned
# to one CPU and SCHED_FIFO (no ordinary task, e.g. a kworker woken there, can
# run between them): every round hands the CPU from A to B and back.
PING_PONG = """\
import os, sys
os.sched_setaffinity(0, {int(sys.argv[1])})
os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(1))
rounds = int(sys.argv[2])
to_b_r, to_b_w = os.pipe()
to_a_r, to_a_w = os.pipe()
child = os.fork()
if child == 0:
    for _ in range(rounds):
        os.read(to_b_r, 1)
        os.write(to_a_w, b"y")
    os._exit(0)
for _ in range(rounds):
    os.write(to_b_w, b"x")
    os.read(to_a_r, 1)
_, status = os.waitpid(child, 0)
assert status == 0
with open("/proc/self/comm") as f:
    print(os.getpid(), child, f.read().strip())
"""


def ping_pong(rounds: int) -> tuple[int, int, str]:
    """Run the ping-pong on this machine's last CPU; (A's pid, B's pid, comm)."""
    cpu = max(os.sched_getaffinity(0))
    done = subprocess.run([sys.executable, "-c", PING_PONG, str(cpu), str(rounds)],
                          capture_output=True, text=True, timeout=30, check=True)
    a_pid, b_pid, comm = done.stdout.split()
    return int(a_pid), int(b_pid), comm


def run_syncs(count: int, gap_s: float, timeout: float = 60) -> list[int]:
    """Start `sync` count times, gap_s apart (by the clock, not after each
    returns: a sync with many dirty pages may take long); return their pids."""
    import time

    children, t0 = [], time.monotonic()
    for i in range(count):
        time.sleep(max(0.0, t0 + i * gap_s - time.monotonic()))
        children.append(subprocess.Popen(["sync"]))
    assert all(child.wait(timeout=timeout) == 0 for child in children)
    return [child.pid for child in children]


def dd_direct(path: Path, bs, count: int, wait: bool = True):
    """dd `count` blocks of `bs` from /dev/zero to path with O_DIRECT.

    wait=True: run to completion (checked); wait=False: the started Popen.
    """
    argv = ["dd", "if=/dev/zero", f"of={path}", f"bs={bs}", f"count={count}",
            "oflag=direct"]
    if not wait:
        return subprocess.Popen(argv, stderr=subprocess.DEVNULL)
    return subprocess.run(argv, check=True, stderr=subprocess.DEVNULL, timeout=60)


def disk_of(path: Path) -> str:
    """The whole disk holding ``path``: block tracepoints name disks, not partitions."""
    dev = os.stat(path).st_dev
    sysdev = Path(f"/sys/dev/block/{os.major(dev)}:{os.minor(dev)}").resolve()
    if (sysdev / "partition").exists():
        sysdev = sysdev.parent
    return sysdev.name


# ---------------------------------------------------------------------------
# loopback sockets


def loopback_listener(family: int = socket.AF_INET, host: str = "127.0.0.1",
                      port: int = 0, backlog: int = 8) -> socket.socket:
    """A listening TCP socket on host:port (port 0: any free port)."""
    s = socket.socket(family)
    if family == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    s.bind((host, port))
    s.listen(backlog)
    return s


def free_port() -> int:
    """A port free on both 127.0.0.1 and ::1 right now."""
    for _ in range(20):
        with socket.socket() as s4:
            s4.bind(("127.0.0.1", 0))
            port = s4.getsockname()[1]
            try:
                with socket.socket(socket.AF_INET6) as s6:
                    s6.bind(("::1", port))
                return port
            except OSError:
                continue
    raise AssertionError("no port free on both 127.0.0.1 and ::1")


def address(text: str) -> str:
    """An address as text, IPv4-mapped IPv6 written as plain IPv4."""
    addr = ipaddress.ip_address(text)
    return str(getattr(addr, "ipv4_mapped", None) or addr)


# ---------------------------------------------------------------------------
# recorded fixtures

REPORT_FIXTURES = Path(__file__).resolve().parent / "unit" / "fixtures" / "report"


def load_report_fixture() -> tuple[dict, list, list]:
    """Return (meta, jobs, host_raws) of the recorded report fixture, event file
    paths made absolute."""
    meta, jobs, raws = (
        json.loads((REPORT_FIXTURES / name).read_text())
        for name in ("meta.json", "jobs.json", "host_raws.json")
    )
    for raw in raws:
        for outputs in (raw.get("outputs") or {}).values():
            for out in outputs.values():
                if "file" in out:
                    out["file"] = str(REPORT_FIXTURES / out["file"])
    return meta, jobs, raws
