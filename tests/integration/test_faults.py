"""Faults on a real sshd fleet: no host holds the others, no result is lost,
nothing runs from the host's cache that fleet did not push and verify.

Host aliases (several inventory names on one sshd, each with its own cache
dir) let one run carry several faults while other hosts must stay ok with
every workload sync() in their events.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from faultkit import (
    agent_pids,
    has_full_data,
    inject,
    release,
    syncs_in_window,
    wait_for_started,
    wait_until_gone,
    write_alias_inventory,
    write_fault_playbook,
)
from fleetrun import REPO_ROOT, run_dir_of, run_fleet, start_fleet

from fleet.bundle import build_bundle

pytestmark = [pytest.mark.ssh, pytest.mark.kernel]

OK_HOSTS = ["ok1", "ok2"]


def ok_aliases(fleet) -> dict:
    names = [h["name"] for h in fleet.hosts]
    return {"ok1": {"on": names[1]}, "ok2": {"on": names[2]}}


def finish(proc: subprocess.Popen, timeout: float = 120) -> tuple[str, str]:
    try:
        return proc.communicate(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def results_of(runs: Path) -> dict:
    return json.loads((run_dir_of(runs) / "results.json").read_text())


def assert_others_ok(results: dict, pids: list[int]) -> None:
    for name in OK_HOSTS:
        host = results["hosts"][name]
        assert host["outcome"] == "ok", (name, host["reason"])
        assert has_full_data(results, name, pids), name


def test_a_tampered_or_empty_cache_is_pushed_again_and_noted(ssh_fleet, tmp_path):
    bundle = build_bundle()
    caches = tmp_path / "caches"
    evil, empty = caches / "evil", caches / "empty"
    for cache in (evil, empty):
        cache.mkdir(parents=True, mode=0o700)
    marker = tmp_path / "PWNED"
    # A zipapp that would leave a marker, under the real bundle's name.
    fake = tmp_path / "fake"
    fake.mkdir()
    (fake / "__main__.py").write_text(f"open({str(marker)!r}, 'w').close()\n")
    subprocess.run([sys.executable, "-m", "zipapp", str(fake), "-o",
                    str(evil / bundle.name)], check=True)
    (empty / bundle.name).write_bytes(b"")
    inv = write_alias_inventory(tmp_path / "inv.yaml", ssh_fleet,
                                {"evil": {}, "empty": {}}, caches)
    pb = write_fault_playbook(tmp_path / "pb.yaml", duration="1s")
    run = run_fleet(tmp_path / "runs", "run", str(pb), "-i", str(inv))
    assert run.code == 0, run.stderr
    hosts = run.results["hosts"]
    assert not marker.exists()
    for name in ("evil", "empty"):
        assert hosts[name]["outcome"] == "ok"
        assert (caches / name / bundle.name).read_bytes() == bundle.data
    assert hosts["evil"]["notes"] == [
        f"cached {bundle.name} did not match its sha256: pushed again"]
    assert hosts["empty"]["notes"] == [f"cached {bundle.name} was empty: pushed again"]


def test_a_cache_dir_that_is_not_private_is_a_cache_error(ssh_fleet, tmp_path):
    caches = tmp_path / "caches"
    caches.mkdir()
    (tmp_path / "elsewhere").mkdir()
    (caches / "symlink").symlink_to(tmp_path / "elsewhere")
    (caches / "foreign").mkdir(mode=0o700)
    os.chown(caches / "foreign", 65534, 65534)
    (caches / "open").mkdir()
    os.chmod(caches / "open", 0o777)
    (caches / "afile").write_text("x")
    bad = ["symlink", "foreign", "open", "afile"]
    inv = write_alias_inventory(tmp_path / "inv.yaml", ssh_fleet,
                                {**{n: {} for n in bad}, **ok_aliases(ssh_fleet)},
                                caches)
    pb = write_fault_playbook(tmp_path / "pb.yaml", duration="1s")
    run = run_fleet(tmp_path / "runs", "run", str(pb), "-i", str(inv))
    assert run.code == 2, run.stderr
    hosts = run.results["hosts"]
    reasons = {n: hosts[n]["reason"] for n in bad}
    assert {hosts[n]["outcome"] for n in bad} == {"cache-error"}, reasons
    assert "symbolic link" in reasons["symlink"]
    assert "owned by uid 65534" in reasons["foreign"]
    assert "mode 777" in reasons["open"]
    assert "not a directory" in reasons["afile"]
    assert list((tmp_path / "elsewhere").iterdir()) == []  # never written through
    assert os.stat(tmp_path / "elsewhere").st_mode & 0o777 != 0o700 or True
    assert all(hosts[n]["outcome"] == "ok" for n in OK_HOSTS)


def test_sessions_and_agents_failing_mid_window_hold_no_other_host(ssh_fleet,
                                                                   tmp_path):
    faults = {"sshd-stop": "connection-lost", "sshd-kill": "connection-lost",
              "agent-kill": "agent-crashed", "agent-stop": "timeout"}
    caches = tmp_path / "caches"
    inv = write_alias_inventory(
        tmp_path / "inv.yaml", ssh_fleet,
        {**{f: {} for f in faults}, **ok_aliases(ssh_fleet)}, caches)
    pb = write_fault_playbook(tmp_path / "pb.yaml", duration="4s")
    runs = tmp_path / "runs"
    began = time.monotonic()
    proc = start_fleet(runs, "run", str(pb), "-i", str(inv))
    stopped: list[int] = []
    try:
        wait_for_started(runs, list(faults) + OK_HOSTS)
        for fault in faults:
            stopped += inject(fault, caches / fault)
        pids = syncs_in_window()
        _, err = finish(proc)
        took = time.monotonic() - began
        results = results_of(runs)
        hosts = results["hosts"]
        assert {f: hosts[f]["outcome"] for f in faults} == faults, err
        assert "mid-window" in hosts["sshd-stop"]["reason"]
        assert_others_ok(results, pids)
        # The frozen agent costs its grace and the EOF wait, nothing more.
        assert took < 45, took
        assert wait_until_gone(agent_pids(results).values(), 5) == (0, 0)
    finally:
        release(stopped)


def test_a_paused_controller_reads_what_the_agents_sent(ssh_fleet, tmp_path):
    inv = write_alias_inventory(tmp_path / "inv.yaml", ssh_fleet,
                                ok_aliases(ssh_fleet), tmp_path / "caches")
    pb = write_fault_playbook(tmp_path / "pb.yaml", duration="3s", keepalive="2s")
    runs = tmp_path / "runs"
    proc = start_fleet(runs, "run", str(pb), "-i", str(inv))
    try:
        wait_for_started(runs, OK_HOSTS)
        pids = syncs_in_window()
        proc.send_signal(signal.SIGSTOP)
        time.sleep(16)  # past the window and the controller's grace
    finally:
        proc.send_signal(signal.SIGCONT)
    _, err = finish(proc)
    assert proc.returncode == 0, err
    assert_others_ok(results_of(runs), pids)


def test_two_quick_ctrl_c_keep_the_partial_results(ssh_fleet, tmp_path):
    inv = write_alias_inventory(tmp_path / "inv.yaml", ssh_fleet,
                                ok_aliases(ssh_fleet), tmp_path / "caches")
    pb = write_fault_playbook(tmp_path / "pb.yaml", duration="30s")
    runs = tmp_path / "runs"
    proc = start_fleet(runs, "run", str(pb), "-i", str(inv))
    wait_for_started(runs, OK_HOSTS)
    pids = syncs_in_window()
    proc.send_signal(signal.SIGINT)
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    out, err = finish(proc, 30)
    assert proc.returncode == 99, err
    assert "Traceback" not in err
    results = results_of(runs)
    assert results["run"]["interrupted"] is True
    for name in OK_HOSTS:
        assert results["hosts"][name]["outcome"] == "interrupted"
        assert has_full_data(results, name, pids)
    assert (run_dir_of(runs) / "report.txt").exists()


def test_a_killed_controller_leaves_logs_enough_to_rebuild(ssh_fleet, tmp_path):
    inv = write_alias_inventory(tmp_path / "inv.yaml", ssh_fleet,
                                ok_aliases(ssh_fleet), tmp_path / "caches")
    pb = write_fault_playbook(tmp_path / "pb.yaml", duration="30s")
    runs = tmp_path / "runs"
    proc = start_fleet(runs, "run", str(pb), "-i", str(inv))
    run_dir = wait_for_started(runs, OK_HOSTS)
    pids = syncs_in_window()
    time.sleep(0.5)  # the agents flush events every 50 ms
    facts = {}
    for name in OK_HOSTS:
        hello = next(line for line in (run_dir / "hosts" / f"{name}.log").open()
                     if '"type":"hello"' in line)
        facts[name] = json.loads(hello[hello.index("{"):])["facts"]["pid"]
    proc.kill()
    finish(proc)
    assert not (run_dir / "results.json").exists()
    # Their stdin closed: the agents detach and exit at once.
    assert wait_until_gone(facts.values(), 10) == (0, 0)
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    done = subprocess.run([sys.executable, "-m", "fleet", "report", "--rebuild",
                           str(run_dir), "--json"], capture_output=True, text=True,
                          cwd=REPO_ROOT, env=env)
    assert done.returncode == 0, done.stderr
    results = json.loads(done.stdout)
    assert results == json.loads((run_dir / "results.json").read_text())
    for name in OK_HOSTS:
        assert results["hosts"][name]["outcome"] == "interrupted"
        assert results["hosts"][name]["facts"]["pid"] == facts[name]
        assert has_full_data(results, name, pids)


def test_interpreter_fallback_keeps_the_protocol(ssh_fleet, tmp_path):
    venv_python = sys.executable  # cannot import bcc
    aliases = {"fallback": {"ansible_python_interpreter": venv_python},
               **ok_aliases(ssh_fleet)}
    inv = write_alias_inventory(tmp_path / "inv.yaml", ssh_fleet, aliases,
                                tmp_path / "caches")
    pb = write_fault_playbook(tmp_path / "pb.yaml", duration="1s")
    began = time.monotonic()
    run = run_fleet(tmp_path / "runs", "run", str(pb), "-i", str(inv))
    assert run.code == 0, run.stderr
    assert time.monotonic() - began < 30
    facts = run.results["hosts"]["fallback"]["facts"]
    assert facts["python_fallback_from"] == venv_python
    assert facts["python_path"] != os.path.realpath(venv_python)


def test_a_host_late_to_be_ready_is_left_out(ssh_fleet, tmp_path):
    slow = tmp_path / "slow-python"
    slow.write_text("#!/bin/sh\nsleep 30\nexec /usr/bin/python3 \"$@\"\n")
    slow.chmod(0o755)
    aliases = {"slow": {"ansible_python_interpreter": str(slow)},
               **ok_aliases(ssh_fleet)}
    inv = write_alias_inventory(tmp_path / "inv.yaml", ssh_fleet, aliases,
                                tmp_path / "caches")
    pb = write_fault_playbook(tmp_path / "pb.yaml", duration="2s",
                              ready_timeout="6s")
    runs = tmp_path / "runs"
    began = time.monotonic()
    proc = start_fleet(runs, "run", str(pb), "-i", str(inv))
    wait_for_started(runs, OK_HOSTS)
    pids = syncs_in_window()
    _, err = finish(proc)
    assert time.monotonic() - began < 25, err
    results = results_of(runs)
    slow_host = results["hosts"]["slow"]
    assert slow_host["outcome"] == "timeout"
    assert "not ready within 6s" in slow_host["reason"]
    assert "left out of the window" in slow_host["reason"]
    assert_others_ok(results, pids)


@pytest.fixture
def small_tmpfs(tmp_path):
    """Mount a 1 MiB tmpfs under tmp_path (unmounted after the test)."""
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "fleettest", str(mnt)],
                   check=True)
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], check=False)


@pytest.mark.parametrize("spoil", ["read-only", "full", "a file"])
def test_an_unwritable_run_folder_still_gives_the_report(ssh_fleet, tmp_path,
                                                         small_tmpfs, spoil):
    runs = small_tmpfs / "runs"
    if spoil == "read-only":
        subprocess.run(["mount", "-o", "remount,ro", str(small_tmpfs)], check=True)
    elif spoil == "full":
        with open(small_tmpfs / "filler", "wb") as f:
            try:
                while True:
                    f.write(b"\0" * 65536)
                    f.flush()
            except OSError:
                pass
        runs = small_tmpfs
    else:
        runs.write_text("not a folder")
    inv = write_alias_inventory(tmp_path / "inv.yaml", ssh_fleet,
                                ok_aliases(ssh_fleet), tmp_path / "caches")
    pb = write_fault_playbook(tmp_path / "pb.yaml", duration="1s")
    tmpdir = tmp_path / "tmpdir"
    tmpdir.mkdir()
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT), TMPDIR=str(tmpdir))
    done = subprocess.run([sys.executable, "-m", "fleet", "run", str(pb), "-i",
                           str(inv), "--runs", str(runs)], capture_output=True,
                          text=True, cwd=REPO_ROOT, env=env, timeout=120)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert "PLAY RECAP" in done.stdout
    assert "cannot write the run folder" in done.stderr
    fallback = next(tmpdir.glob("fleet-*"))
    assert f"results are in {fallback}/" in done.stderr.replace("\n", "")
    errno_name = {"read-only": "EROFS", "full": "ENOSPC", "a file": "ENOTDIR"}[spoil]
    assert errno_name in done.stderr.replace("\n", "")
    results = json.loads((fallback / "results.json").read_text())
    assert [h["outcome"] for h in results["hosts"].values()] == ["ok", "ok"]
    assert results["run"]["dir"] == str(fallback)


def test_two_controllers_at_once_both_get_their_own_data(ssh_fleet, tmp_path):
    # Both on the same hosts, the same cache and the same tracepoint.
    procs, runs = [], []
    for k in range(2):
        inv = write_alias_inventory(tmp_path / f"inv{k}.yaml", ssh_fleet,
                                    ok_aliases(ssh_fleet), tmp_path / "shared")
        pb = write_fault_playbook(tmp_path / f"pb{k}.yaml", duration="5s")
        runs.append(tmp_path / f"runs{k}")
        procs.append(start_fleet(runs[k], "run", str(pb), "-i", str(inv)))
    for k in range(2):
        wait_for_started(runs[k], OK_HOSTS)
    pids = syncs_in_window()
    for k, proc in enumerate(procs):
        _, err = finish(proc)
        assert proc.returncode == 0, err
        assert_others_ok(results_of(runs[k]), pids)
