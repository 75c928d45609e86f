"""tcpretrans on the real kernel: SYN and SYN-ACK retransmits inside a private netns.

This kernel has no sch_netem and no tc classifiers, and the host has no nft or
iptables, so the test drops packets with TCP's own rules instead, all inside a
network namespace of its own (its loopback only):
- a listener with backlog 0 whose accept queue is already full drops new SYNs,
  so the client retransmits its SYN (state SYN_SENT);
- a listener with TCP_DEFER_ACCEPT ignores a client's bare ACK and resends its
  SYN-ACK after the 1 s initial timeout (tcp_retransmit_synack, SYN_RECV).
"""

from __future__ import annotations

import json
import random
import shutil
import subprocess
import uuid

import pytest
from fleetrun import address, job_named, start_fleet, wait_for_window

pytestmark = pytest.mark.kernel

# Runs inside the namespace; prints the two client ports.
WORKLOAD = """
import socket, sys
port = int(sys.argv[1])
deferred = socket.socket()
deferred.setsockopt(socket.IPPROTO_TCP, socket.TCP_DEFER_ACCEPT, 1)
deferred.bind(("127.0.0.1", port))
deferred.listen(8)
quiet = socket.create_connection(("127.0.0.1", port))  # never sends data
full = socket.socket()
full.bind(("127.0.0.2", port))
full.listen(0)
filler = socket.create_connection(("127.0.0.2", port))  # fills the accept queue
dropped = socket.socket()
dropped.settimeout(2.5)
try:
    dropped.connect(("127.0.0.2", port))
    sys.exit("connected although the accept queue was full")
except socket.timeout:
    pass
print(quiet.getsockname()[1], dropped.getsockname()[1])
"""


@pytest.fixture
def netns():
    """A fresh network namespace with its loopback up; deleted afterwards."""
    if shutil.which("ip") is None:
        pytest.skip("needs iproute2's ip for a network namespace")
    name = f"fleet-test-{uuid.uuid4().hex[:8]}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        subprocess.run(["ip", "-n", name, "link", "set", "lo", "up"], check=True)
        yield name
    finally:
        subprocess.run(["ip", "netns", "delete", name], check=False)


def test_syn_and_synack_retransmits_in_a_netns(tmp_path, netns):
    port = random.randint(20000, 60000)  # the namespace is ours: any port is free
    proc = start_fleet(tmp_path / "runs", "trace", "tcpretrans", "-d", "4s",
                       "-p", f"port={port}", "--json")
    try:
        wait_for_window(tmp_path / "runs", 1)
        work = subprocess.run(["ip", "netns", "exec", netns, "python3", "-c", WORKLOAD,
                               str(port)], capture_output=True, text=True, timeout=30)
    finally:
        out, err = proc.communicate(timeout=120)
    assert work.returncode == 0, work.stderr
    quiet_port, dropped_port = map(int, work.stdout.split())
    assert proc.returncode == 0, err
    results = json.loads(out)
    assert results["hosts"]["localhost"]["outcome"] == "ok"
    job = job_named(results, "tcpretrans")
    events = job["events"]

    syns = [e for e in events if e["state"] == "SYN_SENT"]
    assert 1 <= len(syns) <= 3, events  # 1 s initial RTO, 2.5 s connect timeout
    for e in syns:
        assert (e["sport"], e["dport"], e["ipver"]) == (dropped_port, port, 4)
        assert (address(e["saddr"]), address(e["daddr"])) == ("127.0.0.1", "127.0.0.2")

    synacks = [e for e in events if e["state"] == "SYN_RECV"]
    assert 1 <= len(synacks) <= 2, events
    for e in synacks:
        assert (e["sport"], e["dport"], e["ipver"]) == (port, quiet_port, 4)
        assert address(e["saddr"]) == address(e["daddr"]) == "127.0.0.1"

    assert len(events) == len(syns) + len(synacks), events
