"""Jobs compiled together in one BCC module report exactly what they report alone."""

from __future__ import annotations

import json
import sys

import pytest
from fleetrun import (
    go,
    loopback_listener,
    start_fleet,
    start_waiting,
    wait_for_window,
    write_playbook,
)

pytestmark = pytest.mark.kernel

COMM = "fleetmulti"
WORKLOAD = r"""
import ctypes, os, socket, sys, time
ctypes.CDLL(None).prctl(15, b"fleetmulti", 0, 0, 0)      # PR_SET_NAME
port = int(sys.argv[1])
sys.stdin.readline()                                      # go: window open
for _ in range(3):
    os.sync()
for _ in range(2):
    try:
        open("/nonexistent-fleet-onepass", "rb")
    except FileNotFoundError:
        pass
socket.create_connection(("127.0.0.1", port)).close()
r, w = os.pipe()
if os.fork() == 0:
    time.sleep(0.05)
    os.write(w, b"x")
    os._exit(0)
os.read(r, 1)                                             # blocked ~50 ms
os.wait()
"""


def test_four_jobs_in_one_module(tmp_path):
    listener = loopback_listener()
    port = listener.getsockname()[1]
    jobs = (f"  - job: syncsnoop\n"
            f"  - job: opensnoop\n    params: {{comm: {COMM}, failed_only: true}}\n"
            f"  - job: tcpconnect\n    params: {{port: {port}}}\n"
            f"  - job: vfsreadlat\n    params: {{comm: {COMM}}}\n")
    pb = write_playbook(tmp_path / "pb.yaml", jobs, duration="4s")
    work = start_waiting([sys.executable, "-c", WORKLOAD, str(port)])
    try:
        proc = start_fleet(tmp_path / "runs", "run", str(pb), "--json")
        wait_for_window(tmp_path / "runs", 1)
        go(work)
        out, err = proc.communicate(timeout=120)
    finally:
        work.kill()
        listener.close()
    assert proc.returncode == 0, err
    results = json.loads(out)
    host = results["hosts"]["localhost"]
    for job_id in ("syncsnoop", "opensnoop", "tcpconnect", "vfsreadlat"):
        notes = " ".join(host["jobs"][job_id]["notes"])
        assert "compiled in one pass" in notes, (job_id, notes)
    jobs = {j["name"]: j for j in results["jobs"]}
    syncs = [e for e in jobs["syncsnoop"]["events"] if e["pid"] == work.pid]
    assert len(syncs) == 3
    opens = jobs["opensnoop"]["events"]
    assert [(e["ret"], e["path"]) for e in opens] == [
        (-2, "/nonexistent-fleet-onepass")] * 2
    connects = jobs["tcpconnect"]["events"]
    assert [(e["dport"], e["pid"], e["refused"]) for e in connects] == [
        (port, work.pid, 0)]
    slots = jobs["vfsreadlat"]["hosts"]["localhost"]["slots"]
    assert len(slots) > 16 and slots[16] == 1  # 32768-65535 usecs: the 50 ms read
