"""Sweeps with a memory, end to end on real sshd hosts and real BCC: two recorded
runs whose workload changes between them, fleet diff and --baseline, the sweep
line, the textfile, a scheduled unit's ExecStart run by hand, a corrupt history.

The workload: a process named fleetpipe whose pipe reads each block for a fixed
time (2 ms in the first sweep, 60 ms in the second); vfsreadlat with
comm=fleetpipe sees the same reads on every host (they share this kernel).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fleetrun import (
    REPO_ROOT,
    run_dir_of,
    run_fleet,
    start_fleet,
    wait_for_window,
    write_inventory,
    write_playbook,
)

from fleet.history import EXIT_NOT_RECORDED, History
from fleet.runrecord import from_results

pytestmark = [pytest.mark.ssh, pytest.mark.kernel]

COMM = "fleetpipe"
READS = 30
FAST_S, SLOW_S = 0.002, 0.060
# 60 ms = 60000 usecs: log2 slot 32768..65535. On a loaded machine a read may
# wake a few ms late: the median stays in its slot, the slowest may not.
SLOW_P50 = 65535
FAST_P50_MAX = 4095
JOBS = f"  - job: vfsreadlat\n    params: {{comm: {COMM}}}\n"

# Renames itself, then READS times: says "r" and reads one byte; the parent
# writes that byte gap seconds after each "r", so every read blocks that long.
READER = r"""
import ctypes, os, sys
data, ready, reads = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
ctypes.CDLL(None).prctl(15, sys.argv[4].encode(), 0, 0, 0)
for _ in range(reads):
    os.write(ready, b"r")
    os.read(data, 1)
"""


def blocked_reads(gap_s: float) -> None:
    """READS pipe reads by COMM, each blocked gap_s."""
    data_r, data_w = os.pipe()
    ready_r, ready_w = os.pipe()
    child = subprocess.Popen(
        [sys.executable, "-c", READER, str(data_r), str(ready_w), str(READS), COMM],
        pass_fds=(data_r, ready_w))
    os.close(data_r)
    os.close(ready_w)
    for _ in range(READS):
        assert os.read(ready_r, 1) == b"r"
        time.sleep(gap_s)
        os.write(data_w, b"x")
    assert child.wait(timeout=30) == 0
    os.close(data_w)
    os.close(ready_r)


def sweep(runs: Path, args: list[str], hosts: int, gap_s: float):
    """One recorded `fleet run` around the workload; (code, stderr, run folder)."""
    before = run_dir_of(runs)
    proc = start_fleet(runs, *args)
    try:
        run_dir = wait_for_window(runs, hosts)
        assert run_dir != before
        blocked_reads(gap_s)
        _, err = proc.communicate(timeout=180)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    return proc.returncode, err, run_dir


def fleet(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """The CLI without --runs (history, diff, export, schedule)."""
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    return subprocess.run([sys.executable, "-m", "fleet", *args], capture_output=True,
                          text=True, timeout=timeout, cwd=REPO_ROOT, env=env)


@pytest.fixture(scope="module")
def sweeps(ssh_fleet, tmp_path_factory):
    """Two sweeps: host1+host2 with 2 ms reads, then all three with 60 ms reads."""
    tmp = tmp_path_factory.mktemp("sweeps")
    inv = write_inventory(tmp / "inv.yaml", ssh_fleet)
    playbook = write_playbook(tmp / "pb.yaml", JOBS, duration="5s")
    history = tmp / "history.sqlite"
    common = ["run", str(playbook), "-i", str(inv), "--history", str(history)]
    first = sweep(tmp / "runs", [*common, "-l", "host1:host2",
                                 "--textfile-dir", str(tmp / "tf")], 2, FAST_S)
    second = sweep(tmp / "runs", [*common, "-l", "fleet"], 3, SLOW_S)
    return {"tmp": tmp, "inv": inv, "playbook": playbook, "history": history,
            "first": first, "second": second}


def test_both_runs_are_recorded(sweeps):
    assert sweeps["first"][0] == 0, sweeps["first"][1]
    assert sweeps["second"][0] == 0, sweeps["second"][1]
    listed = fleet("history", "--history", str(sweeps["history"]), "--json")
    runs = json.loads(listed.stdout)
    assert [r["id"] for r in runs] == [sweeps["second"][2].name,
                                       sweeps["first"][2].name]
    assert [(r["hosts_ok"], r["hosts_failed"], r["exit_code"]) for r in runs] == [
        (3, 0, 0), (2, 0, 0)]
    assert runs[0]["inventory"] == str(sweeps["inv"])
    assert runs[0]["limit"] == "fleet"
    assert runs[0]["run_dir"] == str(sweeps["second"][2])
    with History(sweeps["history"]) as history:
        record = history.load(runs[0]["id"])
    hosts = record["hosts"]
    assert all(h["facts"]["kernel"] == os.uname().release for h in hosts.values())
    assert all(h["attach"]["vfsreadlat"][0] == "tracepoint:syscalls:sys_enter_read"
               for h in hosts.values())
    slots = record["jobs"][0]["hosts"]["host3"]["slots"][""]
    assert sum(slots) >= READS - 2


def test_the_second_sweep_prints_what_regressed(sweeps):
    err = " ".join(sweeps["second"][1].split())
    found = re.search(r"vs last sweep: 2 hosts regressed \(host1 vfsreadlat "
                      r"p(50|99) (\d+) -> (\d+) usecs", err)
    assert found, err
    assert int(found.group(3)) >= SLOW_P50 >= 4 * int(found.group(2)), err
    assert "vs last sweep" not in sweeps["first"][1]


def test_diff_flags_every_host_regressed_and_the_new_host_added(sweeps):
    done = fleet("diff", "last~1", "last", "--history", str(sweeps["history"]),
                 "--json")
    assert done.returncode == 3, done.stderr
    diff = json.loads(done.stdout)
    assert diff["added"] == ["host3"] and diff["removed"] == []
    hosts = diff["jobs"][0]["hosts"]
    assert set(hosts) == {"host1", "host2"}
    for entry in hosts.values():
        assert entry["flag"] == "regressed", entry
        assert entry["p50"][1] == SLOW_P50 and entry["p50"][0] <= FAST_P50_MAX
        assert entry["distance"] >= 3
    text = fleet("diff", "last~1", "last", "--history", str(sweeps["history"]))
    assert text.returncode == 3
    assert "added (not compared): host3" in text.stdout


def test_the_reverse_diff_is_improved_and_exits_0(sweeps):
    first, second = sweeps["first"][2], sweeps["second"][2]
    done = fleet("diff", str(second), str(first), "--json")  # run folders, no history
    assert done.returncode == 0, done.stderr
    diff = json.loads(done.stdout)
    assert {h: e["flag"] for h, e in diff["hosts"].items()} == {
        "host1": "improved", "host2": "improved"}
    assert diff["removed"] == ["host3"]


def test_baseline_3_over_4_runs(sweeps):
    """Two more runs recorded through the same path as a run's: copies of the
    real ones, earlier in time; one of them slow (a bad sweep the median must
    ignore) and without host3, so host3 has no history."""
    first = json.loads((sweeps["first"][2] / "results.json").read_text())
    second = json.loads((sweeps["second"][2] / "results.json").read_text())
    early = first["run"]["started_ns"] - 3 * 10**9
    with History(sweeps["history"]) as history:
        for results, run_id, started in ((first, "copy-fast", early),
                                         (second, "copy-slow", early + 10**9)):
            record = from_results(results)
            record["run"].update(id=run_id, started_ns=started)
            record["hosts"].pop("host3", None)
            for job in record["jobs"]:
                job["hosts"].pop("host3", None)
            history.record(record)
    done = fleet("diff", "--baseline", "3", "--history", str(sweeps["history"]),
                 "--json")
    assert done.returncode == 3, done.stderr
    diff = json.loads(done.stdout)
    assert diff["a"]["baseline"] == [sweeps["first"][2].name, "copy-slow", "copy-fast"]
    assert diff["b"]["id"] == sweeps["second"][2].name
    assert {h: e["flag"] for h, e in diff["hosts"].items()} == {
        "host1": "regressed", "host2": "regressed"}
    assert diff["added"] == ["host3"]
    text = fleet("diff", "--baseline", "3", "--history", str(sweeps["history"]))
    assert "no history (not compared): host3" in text.stdout


def test_the_textfile_of_the_first_sweep_passes_promtool(sweeps):
    text = (sweeps["tmp"] / "tf" / "fleet_test.prom").read_text()
    done = subprocess.run(["promtool", "check", "metrics"], input=text,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert 'fleet_host_up{host="host1",playbook="test"} 1' in text
    assert re.search(r'fleet_vfsreadlat_seconds_count\{host="host2",job="vfsreadlat",'
                     r'playbook="test"\} (\d+)', text)


def _exec_start(service: str) -> list[str]:
    """ExecStart= of a unit as systemd splits it (fleet's quoting: see
    schedule.systemd_quote), with %% and $$ turned back."""
    line = next(x for x in service.splitlines() if x.startswith("ExecStart="))
    words = shlex.split(line[len("ExecStart="):])
    return [w.replace("%%", "%").replace("$$", "$") for w in words]


def test_a_scheduled_units_exec_start_run_by_hand_records_a_run(sweeps):
    tmp = sweeps["tmp"]
    history, units = tmp / "scheduled.sqlite", tmp / "units"
    done = fleet("schedule", str(sweeps["playbook"]), "-i", str(sweeps["inv"]),
                 "-l", "host1", "-d", "1s", "--every", "15m", "--unit-dir", str(units),
                 "--history", str(history), "--textfile-dir", str(tmp / "tf2"),
                 "--runs", str(tmp / "scheduled-runs"))
    assert done.returncode == 0, done.stderr
    paths = [str(units / "fleet-test.service"), str(units / "fleet-test.timer")]
    verify = subprocess.run(["systemd-analyze", "verify", *paths],
                            capture_output=True, text=True, timeout=60)
    assert verify.returncode == 0 and verify.stderr == "", verify.stderr
    argv = _exec_start(Path(paths[0]).read_text())
    assert Path(argv[0]).is_absolute()
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    env.pop("FLEET_HISTORY")
    ran = subprocess.run(argv, capture_output=True, text=True, timeout=180, cwd="/",
                         env=env)
    assert ran.returncode == 0, ran.stderr
    with History(history) as opened:
        runs = opened.runs()
    assert len(runs) == 1 and runs[0]["hosts_ok"] == 1
    assert (tmp / "tf2" / "fleet_test.prom").exists()


def test_a_corrupt_history_still_leaves_the_results(tmp_path):
    bad = tmp_path / "history.sqlite"
    bad.write_bytes(b"\x00garbage" * 1000)
    run = run_fleet(tmp_path / "runs", "trace", "vfsreadlat", "-d", "1s",
                    "--history", str(bad))
    assert run.code == EXIT_NOT_RECORDED, run.stderr
    err = " ".join(run.stderr.split())
    assert f"run not recorded in the history: {bad}: not a usable fleet history" in err
    assert run.results["hosts"]["localhost"]["outcome"] == "ok"
    assert f"Its results are in {run.run_dir}/" in err
    assert "Traceback" not in run.stderr
