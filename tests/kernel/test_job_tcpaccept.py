"""tcpaccept on the real kernel: loopback accepts (IPv4, IPv6) by a known process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from fleetrun import address, free_port, job_named, trace_local
from fleetrun import loopback_listener as listener

pytestmark = pytest.mark.kernel

# A server in its own process: accepts one connection on argv[1], prints its pid.
OTHER_SERVER = """
import os, socket, sys
s = socket.socket()
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(1)
print(os.getpid(), flush=True)
s.accept()[0].close()
"""


def trace(tmp_path, workload, *params: str) -> tuple[dict, dict]:
    """Run tcpaccept with params for 3 s, the workload inside the window."""
    results, _ = trace_local(tmp_path / "runs", "tcpaccept", *params, workload=workload)
    return results["hosts"]["localhost"], job_named(results, "tcpaccept")


def test_accepts_ipv4_ipv6_by_port(tmp_path):
    port = free_port()
    seen, keep = {}, []

    def workload():
        with listener(socket.AF_INET, "127.0.0.1", port) as s4, \
                listener(socket.AF_INET6, "::1", port) as s6:
            for name, server, host in (("v4", s4, "127.0.0.1"), ("v6", s6, "::1")):
                client = socket.create_connection((host, port))
                conn, peer = server.accept()
                seen[name] = peer[1]
                keep.extend([client, conn])
            # Handshake done but never accepted: no event (with BTF).
            keep.append(socket.create_connection(("127.0.0.1", port)))

    try:
        host, job = trace(tmp_path, workload, f"port={port}")
    finally:
        for s in keep:
            s.close()
    assert host["facts"]["btf"], "this test expects kernel BTF (acceptor's pid)"
    events = job["events"]
    assert job["kind"] == "events" and job["count"] == len(events) == 2, events
    comm = Path("/proc/self/comm").read_text().strip()
    v4, v6 = sorted(events, key=lambda e: e["ipver"])
    assert (v4["pid"], v4["comm"], v4["lport"], v4["rport"], v4["ipver"]) == (
        os.getpid(), comm, port, seen["v4"], 4)
    assert address(v4["laddr"]) == address(v4["raddr"]) == "127.0.0.1"
    assert (v6["pid"], v6["comm"], v6["lport"], v6["rport"], v6["ipver"]) == (
        os.getpid(), comm, port, seen["v6"], 6)
    assert v6["laddr"] == v6["raddr"] == "::1"


def test_pid_filter_keeps_only_that_acceptor(tmp_path):
    mine, theirs = free_port(), free_port()
    seen = {}

    def workload():
        other = subprocess.Popen([sys.executable, "-c", OTHER_SERVER, str(theirs)],
                                 stdout=subprocess.PIPE, text=True)
        seen["other"] = int(other.stdout.readline())
        with listener(socket.AF_INET, "127.0.0.1", mine) as server:
            with socket.create_connection(("127.0.0.1", mine)) as client:
                seen["rport"] = client.getsockname()[1]
                server.accept()[0].close()
        socket.create_connection(("127.0.0.1", theirs)).close()
        assert other.wait(30) == 0

    _, job = trace(tmp_path, workload, f"pid={os.getpid()}")
    assert seen["other"] != os.getpid()
    events = job["events"]
    assert len(events) == 1, events
    assert (events[0]["pid"], events[0]["lport"], events[0]["rport"]) == (
        os.getpid(), mine, seen["rport"])
