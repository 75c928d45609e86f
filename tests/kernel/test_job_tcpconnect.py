"""tcpconnect on the real kernel: loopback connects (v4, v6, refused), known pids."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest
from fleetrun import address, free_port, job_named, trace_local
from fleetrun import loopback_listener as listener

pytestmark = pytest.mark.kernel

# A client in its own process, so its pid tells it apart: prints "pid sport result".
CLIENT = """
import os, socket, sys
family = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
s = socket.socket(family)
try:
    s.connect((sys.argv[1], int(sys.argv[2])))
    print(os.getpid(), s.getsockname()[1], "ok")
except ConnectionRefusedError:
    print(os.getpid(), 0, "refused")
"""


def connect_from_child(host: str, port: int) -> dict:
    """Connect from a new process; return its pid, source port and result."""
    out = subprocess.run([sys.executable, "-c", CLIENT, host, str(port)], check=True,
                         capture_output=True, text=True, timeout=30).stdout.split()
    return {"pid": int(out[0]), "sport": int(out[1]), "result": out[2]}


def trace(tmp_path, workload, *params: str) -> dict:
    """Run tcpconnect with params for 3 s, the workload inside the window."""
    results, _ = trace_local(tmp_path / "runs", "tcpconnect", *params,
                             workload=workload)
    return job_named(results, "tcpconnect")


def test_connects_refused_ipv4_ipv6_by_port(tmp_path):
    port = free_port()
    seen, servers = {}, []

    def workload():
        seen["refused"] = connect_from_child("127.0.0.1", port)
        servers.append(listener(socket.AF_INET, "127.0.0.1", port))
        servers.append(listener(socket.AF_INET6, "::1", port))
        seen["v4"] = connect_from_child("127.0.0.1", port)
        seen["v6"] = connect_from_child("::1", port)

    try:
        job = trace(tmp_path, workload, f"port={port}")
    finally:
        for s in servers:
            s.close()
    results = [seen[k]["result"] for k in ("refused", "v4", "v6")]
    assert results == ["refused", "ok", "ok"]
    events = job["events"]
    assert job["kind"] == "events" and job["count"] == len(events) == 3, events
    by_pid = {e["pid"]: e for e in events}
    assert set(by_pid) == {seen[k]["pid"] for k in ("refused", "v4", "v6")}

    refused = by_pid[seen["refused"]["pid"]]
    assert (refused["refused"], refused["dport"], refused["ipver"]) == (1, port, 4)
    assert address(refused["saddr"]) == address(refused["daddr"]) == "127.0.0.1"

    v4 = by_pid[seen["v4"]["pid"]]
    assert (v4["refused"], v4["dport"], v4["sport"], v4["ipver"]) == (
        0, port, seen["v4"]["sport"], 4)
    assert address(v4["saddr"]) == address(v4["daddr"]) == "127.0.0.1"

    v6 = by_pid[seen["v6"]["pid"]]
    assert (v6["refused"], v6["dport"], v6["sport"], v6["ipver"]) == (
        0, port, seen["v6"]["sport"], 6)
    assert v6["saddr"] == v6["daddr"] == "::1"

    for e in events:
        assert e["comm"].startswith("python")
        assert 0 <= e["lat_us"] < 1_000_000
    assert [e["ts_ns"] for e in events] == sorted(e["ts_ns"] for e in events)


def test_pid_filter_keeps_only_that_process(tmp_path):
    port = free_port()
    seen = {}

    def workload():
        with listener(socket.AF_INET, "127.0.0.1", port) as server:
            with socket.create_connection(("127.0.0.1", port)) as mine:
                seen["sport"] = mine.getsockname()[1]
            seen["other"] = connect_from_child("127.0.0.1", port)
            server.accept()[0].close()

    job = trace(tmp_path, workload, f"pid={os.getpid()}")
    assert seen["other"]["result"] == "ok"
    events = job["events"]
    assert len(events) == 1, events
    e = events[0]
    assert (e["pid"], e["dport"], e["sport"], e["refused"]) == (
        os.getpid(), port, seen["sport"], 0)
