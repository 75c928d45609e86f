"""The existing jobs' params that stand for bcc's options, on the real kernel.

One playbook in one window: execsnoop by name part, user, parent and
--max-args; opensnoop by thread, name part, with O_* flag names; profile on
one CPU only; runqlat per process and per PID namespace; tcpconnect counting
connects to a list of ports; cachestat's buffers and cached columns.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from fleetrun import (
    free_port,
    go,
    job_named,
    loopback_listener,
    run_in_window,
    start_waiting,
    write_playbook,
)

pytestmark = pytest.mark.kernel

HOST = "localhost"
NOBODY = 65534
EXECS, OPENS, SLEEPS, CONNECTS = 4, 3, 20, 3
WORKER = f"""
import os, sys, time
path = sys.argv[1]
sys.stdin.readline()
for _ in range({OPENS}):
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600))
for _ in range({SLEEPS}):
    time.sleep(0.01)
"""
SPIN = "i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done"


@pytest.fixture(scope="module")
def options_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("jobs_bcc_options")
    public = Path(tempfile.mkdtemp(prefix="fleet-opt-"))
    os.chmod(public, 0o755)
    prog, spin = public / "fleettrue", public / "fleetspin"
    shutil.copy("/bin/true", prog)
    shutil.copy("/bin/sh", spin)
    cpus = sorted(os.sched_getaffinity(0))
    here, there = cpus[-1], cpus[0]
    worker = start_waiting([sys.executable, "-c", WORKER, str(tmp / "opened")])
    ports = [free_port(), free_port()]
    book = write_playbook(tmp / "book.yaml", f"""\
  - job: execsnoop
    params: {{name: fleettr, user: nobody, ppid: {os.getpid()}, show_uid: true,
              max_args: 3}}
  - job: opensnoop
    params: {{tid: {worker.pid}, name: ytho, show_flags: true}}
  - {{name: profile_here, job: profile, params: {{cpu: {here}}}}}
  - {{name: profile_there, job: profile, params: {{cpu: {there}}}}}
  - {{job: runqlat, params: {{per_process: true}}}}
  - {{name: runqlat_ns, job: runqlat, params: {{pidnss: true}}}}
  - {{job: tcpconnect, params: {{ports: "{ports[0]},{ports[1]}", count: true}}}}
  - job: cachestat
""", duration="4s")

    def workload():
        for i in range(EXECS):
            argv = [str(prog), "a", "b", "c", str(i)]
            assert subprocess.Popen(argv, user=NOBODY).wait() == 0
        assert subprocess.run([str(prog), "root"]).returncode == 0  # not nobody
        go(worker)
        assert worker.returncode == 0
        subprocess.run(["taskset", "-c", str(here), str(spin), "-c", SPIN], check=True)
        with loopback_listener(port=ports[0]), loopback_listener(port=ports[1]):
            for _ in range(CONNECTS):
                socket.create_connection(("127.0.0.1", ports[0])).close()
            socket.create_connection(("127.0.0.1", ports[1])).close()
            with loopback_listener() as other:  # a port not listed: not counted
                socket.create_connection(other.getsockname()).close()

    try:
        results, _ = run_in_window(tmp / "runs", 1, ["run", str(book), "--json"],
                                   workload)
    finally:
        worker.kill()
        worker.wait()
        shutil.rmtree(public)
    assert results["hosts"][HOST]["outcome"] == "ok"
    return results, worker.pid, ports, prog


def by_name(results: dict, name: str) -> dict:
    return job_named(results, name, "name")


def test_execsnoop_name_user_parent_and_max_args(options_run):
    results, _, _, prog = options_run
    job = by_name(results, "execsnoop")
    assert [c["field"] for c in job["columns"]][:4] == ["comm", "pid", "ppid", "uid"]
    events = job["events"]
    assert len(events) == EXECS, events
    for e in events:
        assert (e["comm"], e["uid"], e["ppid"]) == ("fleettrue", NOBODY, os.getpid())
        assert (e["args"], e["truncated"]) == (f"{prog} a b", 1)  # 3 of 5 args


def test_opensnoop_thread_name_part_and_flag_names(options_run):
    results, worker, _, _ = options_run
    job = by_name(results, "opensnoop")
    assert "open_flags" in [c["field"] for c in job["columns"]]
    mine = [e for e in job["events"] if e["path"].endswith("/opened")]
    assert len(mine) == OPENS and {e["tid"] for e in job["events"]} == {worker}
    assert {e["open_flags"] for e in mine} == {"O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC"}


def test_profile_samples_only_its_cpu(options_run):
    results, _, _, _ = options_run
    here = [r for r in by_name(results, "profile_here")["rows"]
            if r["key"].startswith("fleetspin;")]
    there = [r for r in by_name(results, "profile_there")["rows"]
             if r["key"].startswith("fleetspin;")]
    assert sum(r["total"] for r in here) > 0 and there == []


def test_runqlat_per_process_and_per_pid_namespace(options_run):
    results, worker, _, _ = options_run
    mine = by_name(results, "runqlat")["keys"][str(worker)]["fleet"]["count"]
    assert SLEEPS <= mine <= SLEEPS + 3, mine  # every wakeup (+ its start)
    namespaces = by_name(results, "runqlat_ns")["keys"]
    assert str(os.stat("/proc/self/ns/pid").st_ino) in namespaces


def test_tcpconnect_counts_connects_to_the_listed_ports(options_run):
    results, _, ports, _ = options_run
    job = by_name(results, "tcpconnect")
    assert job["kind"] == "table" and job["unit"] == "connects"
    rows = {r["key"]: r["total"] for r in job["rows"]}
    # (decoded fields, the addresses, come last in a key)
    assert rows == {f"{ports[0]},127.0.0.1,127.0.0.1": CONNECTS,
                    f"{ports[1]},127.0.0.1,127.0.0.1": 1}


def test_cachestat_rows_carry_buffers_and_cached(options_run):
    results, _, _, _ = options_run
    rows = by_name(results, "cachestat")["events"]
    assert rows and all(r["buffers_mb"] >= 0 and r["cached_mb"] > 0 for r in rows)
