"""tcplife, tcpstates and tcpdrop on the real kernel, over loopback.

One playbook runs them in one window: SESSIONS loopback sessions with known
byte counts on one port (tcplife sees both ends of each, tcpstates every state
change), and connects to a closed port (each SYN is dropped: NO_SOCKET).
"""

from __future__ import annotations

import socket
import subprocess
import sys
import threading

import pytest
from fleetrun import (
    address,
    free_port,
    job_named,
    loopback_listener,
    run_in_window,
    write_playbook,
)

pytestmark = pytest.mark.kernel

HOST = "localhost"
SESSIONS = 3
REPLY = 1000
REFUSED = 4

# A client process: connects, sends N bytes, reads the reply to EOF; prints
# its pid and source port.
CLIENT = """
import os, socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"x" * int(sys.argv[2]))
s.shutdown(socket.SHUT_WR)
got = 0
while True:
    data = s.recv(65536)
    if not data:
        break
    got += len(data)
print(os.getpid(), s.getsockname()[1], got)
s.close()
"""


def serve(server: socket.socket, sessions: int, got: list) -> None:
    """Accept sessions; read each to EOF, answer REPLY bytes, close."""
    for _ in range(sessions):
        conn, _ = server.accept()
        n = 0
        while True:
            data = conn.recv(65536)
            if not data:
                break
            n += len(data)
        conn.sendall(b"y" * REPLY)
        conn.close()
        got.append(n)


def session(port: int, size: int) -> dict:
    out = subprocess.run([sys.executable, "-c", CLIENT, str(port), str(size)],
                         check=True, capture_output=True, text=True, timeout=30)
    pid, sport, got = map(int, out.stdout.split())
    return {"pid": pid, "sport": sport, "got": got, "sent": size}


def refused(port: int) -> None:
    with socket.socket() as s, pytest.raises(ConnectionRefusedError):
        s.connect(("127.0.0.1", port))


@pytest.fixture(scope="module")
def net_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("jobs_net")
    port, closed = free_port(), free_port()
    book = write_playbook(tmp / "book.yaml", f"""\
  - name: tcplife_server
    job: tcplife
    params: {{local_port: {port}}}
  - name: tcplife_client
    job: tcplife
    params: {{remote_port: {port}}}
  - job: tcpstates
    params: {{remote_port: {port}}}
  - job: tcpdrop
    params: {{port: {closed}}}
""", duration="4s")
    seen = {"clients": [], "got": []}

    def workload():
        with loopback_listener(port=port) as server:
            thread = threading.Thread(target=serve, args=(server, SESSIONS,
                                                          seen["got"]))
            thread.start()
            for i in range(SESSIONS):
                seen["clients"].append(session(port, 10_000 * (i + 1)))
            thread.join(timeout=30)
        for _ in range(REFUSED):
            refused(closed)

    results, _ = run_in_window(tmp / "runs", 1, ["run", str(book), "--json"],
                               workload)
    assert results["hosts"][HOST]["outcome"] == "ok"
    return results, seen, port, closed


def events(results: dict, name: str) -> list:
    return job_named(results, name, "name")["events"]


def test_tcplife_client_ends_with_their_bytes(net_run):
    results, seen, port, _ = net_run
    by_sport = {e["lport"]: e for e in events(results, "tcplife_client")}
    assert len(by_sport) == SESSIONS
    for client in seen["clients"]:
        e = by_sport[client["sport"]]
        # The kernel's counters count the SYN's and FIN's sequence numbers too.
        assert (e["pid"], e["rport"], e["tx_bytes"], e["rx_bytes"]) == (
            client["pid"], port, client["sent"] + 2, REPLY + 1)
        assert address(e["laddr"]) == address(e["raddr"]) == "127.0.0.1"
        assert e["comm"].startswith("python") and 0 <= e["span_ms"] < 10_000


def test_tcplife_server_ends_with_their_bytes(net_run):
    results, seen, port, _ = net_run
    server = events(results, "tcplife_server")
    assert sorted(e["rport"] for e in server) == sorted(
        c["sport"] for c in seen["clients"])
    for e in server:
        client = next(c for c in seen["clients"] if c["sport"] == e["rport"])
        # (the server socket's own SYN-ACK precedes its counters)
        assert (e["lport"], e["rx_bytes"], e["tx_bytes"]) == (
            port, client["sent"] + 1, REPLY + 1)
    assert seen["got"] == [c["sent"] for c in seen["clients"]]


CLIENT_STATES = [("CLOSE", "SYN_SENT"), ("SYN_SENT", "ESTABLISHED"),
                 ("ESTABLISHED", "FIN_WAIT1"), ("FIN_WAIT1", "FIN_WAIT2"),
                 ("FIN_WAIT2", "CLOSE")]


def test_tcpstates_every_change_of_each_client_socket(net_run):
    results, seen, _, _ = net_run
    changes = events(results, "tcpstates")
    for client in seen["clients"]:
        # connect() moves to SYN_SENT before the source port is bound (lport 0);
        # the socket's address ties its changes together (and is reused later).
        start = next(i for i, e in enumerate(changes)
                     if e["pid"] == client["pid"] and e["new"] == "SYN_SENT")
        sk = changes[start]["sk"]
        mine = [e for e in changes[start:] if e["sk"] == sk][:len(CLIENT_STATES)]
        assert [(e["old"], e["new"]) for e in mine] == CLIENT_STATES, mine
        assert (mine[0]["ms"], mine[0]["lport"], mine[1]["lport"]) == (
            0, 0, client["sport"])
    assert len(changes) == SESSIONS * len(CLIENT_STATES)


def test_tcpdrop_each_syn_to_the_closed_port(net_run):
    results, _, _, closed = net_run
    drops = events(results, "tcpdrop")
    syns = [e for e in drops if e["dport"] == closed]
    assert len(syns) == REFUSED, drops
    for e in syns:
        assert (e["flags"], e["reason"]) == ("SYN", "NO_SOCKET")
        assert address(e["saddr"]) == address(e["daddr"]) == "127.0.0.1"
        assert e["location"].startswith("tcp_v4_rcv") or e["location"], e
