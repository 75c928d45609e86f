"""Tutorial lesson disksnoop on the ssh test fleet: one record per finished block I/O.

dd writes 100 blocks of 4 KiB with O_DIRECT into a file on this machine's
disk inside the window. Each block is one write request of exactly 4096
bytes, and every host shares this kernel, so every host must report at least
100 completed writes ("W" in rwbs) of 4096 bytes on that disk, each with a
sane latency, through the perf buffer, using the tracepoints (this kernel has
no kprobes).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from fleetrun import start_fleet, wait_for_window, write_inventory

pytestmark = [pytest.mark.ssh, pytest.mark.kernel]

EXAMPLES = Path(__file__).resolve().parents[2] / "examples/tutorial"
PLAYBOOK = EXAMPLES / "disksnoop/playbook.yaml"
BLOCKS = 100
BLOCK_BYTES = 4096
SLACK_NS = 10**7


def disk_of(path: Path) -> str:
    """The whole disk holding ``path``: block tracepoints name disks, not partitions."""
    dev = os.stat(path).st_dev
    sysdev = Path(f"/sys/dev/block/{os.major(dev)}:{os.minor(dev)}").resolve()
    if (sysdev / "partition").exists():
        sysdev = sysdev.parent
    return sysdev.name


@pytest.fixture(scope="module")
def run(ssh_fleet, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("disksnoop")
    inv = write_inventory(tmp / "inv.yaml", ssh_fleet)
    runs = tmp / "runs"
    proc = start_fleet(runs, "run", str(PLAYBOOK), "-i", str(inv), "--json",
                       "--duration", "4s")
    try:
        wait_for_window(runs, len(ssh_fleet.hosts))
        subprocess.run(["dd", "if=/dev/zero", f"of={tmp / 'ddfile'}",
                        f"bs={BLOCK_BYTES}", f"count={BLOCKS}", "oflag=direct"],
                       check=True, stderr=subprocess.DEVNULL, timeout=60)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    return {"results": json.loads(out), "disk": disk_of(tmp),
            "hosts": [h["name"] for h in ssh_fleet.hosts]}


def test_every_host_uses_both_tracepoints(run):
    hosts = run["results"]["hosts"]
    assert sorted(hosts) == sorted(run["hosts"])
    for name, host in hosts.items():
        assert host["outcome"] == "ok", (name, host["reason"])
        used = {a["probe"]: a["used"] for a in host["jobs"]["disksnoop"]["attach"]}
        assert used == {"issue": "tracepoint:block:block_rq_issue",
                        "complete": "tracepoint:block:block_rq_complete"}, name


def test_every_host_sees_the_dd_writes(run):
    job = run["results"]["jobs"][0]
    assert (job["name"], job["kind"]) == ("disksnoop", "events")
    assert [c["field"] for c in job["columns"]] == ["disk", "rwbs", "bytes", "lat_us"]
    assert job["lost"] == {}
    assert job["count"] == len(job["events"])
    for host in run["hosts"]:
        window = run["results"]["hosts"][host]["window"]
        first, last = window["start_ns"] - SLACK_NS, window["end_ns"] + SLACK_NS
        mine = [e for e in job["events"] if e["host"] == host]
        assert job["hosts"][host]["count"] == len(mine)
        writes = [e for e in mine if e["disk"] == run["disk"] and "W" in e["rwbs"]
                  and e["bytes"] == BLOCK_BYTES]
        assert len(writes) >= BLOCKS, (host, len(writes), mine[:5])
        for e in writes:
            assert 0 <= e["lat_us"] < 10_000_000, e
            # completions are stamped in the window (a little slack for clock rounding)
            assert first <= e["ts_ns"] <= last, e
