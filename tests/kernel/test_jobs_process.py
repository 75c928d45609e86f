"""exitsnoop, killsnoop, capable, mountsnoop and oomkill on the real kernel.

One playbook runs the five jobs in one window (one compile, in one pass)
around a workload of known exits, signals, capability checks, mounts and one
OOM kill in a memory cgroup; each job's test checks its own events exactly.
"""

from __future__ import annotations

import ctypes
import errno
import os
import shutil
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from fleetrun import job_named, run_in_window, write_playbook

pytestmark = pytest.mark.kernel

HOST = "localhost"
EXIT_CODES = [3, 3, 0, 7]
PROBES = 5  # kill(child, 0) calls
CHOWNS = 4
MOUNTS = 3
NO_PID = 4194303  # above any pid this machine hands out (pid_max is lower)


def memory_cgroup(name: str) -> Path | None:
    """A new memory cgroup of 48 MiB (v2, else v1), or None where there is none."""
    v2, v1 = Path("/sys/fs/cgroup"), Path("/sys/fs/cgroup/memory")
    if "memory" in _read(v2 / "cgroup.subtree_control").split():
        group, limits = v2 / name, ("memory.max", "memory.swap.max")
    elif (v1 / "memory.limit_in_bytes").exists():
        group, limits = v1 / name, ("memory.limit_in_bytes",
                                    "memory.memsw.limit_in_bytes")
    else:
        return None
    group.mkdir()
    for limit in limits:
        if (group / limit).exists():
            no_swap = limit == "memory.swap.max"
            (group / limit).write_text("0" if no_swap else str(48 << 20))
    return group


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


HOG = "b = []\nwhile True:\n    b.append(bytearray(1 << 20))\n"


def oom_victim(group: Path) -> int:
    """Run a process that eats memory in ``group`` until the kernel kills it."""
    def join():
        (group / "cgroup.procs").write_text(str(os.getpid()))

    hog = subprocess.Popen([sys.executable, "-c", HOG], preexec_fn=join)
    assert hog.wait(timeout=60) == -signal.SIGKILL
    return hog.pid


def libc_mount(source: str, target: str, fstype: str) -> int:
    """mount(2) through libc; 0 or -errno."""
    libc = ctypes.CDLL(None, use_errno=True)
    ret = libc.mount(source.encode(), target.encode(), fstype.encode(), 0, None)
    return 0 if ret == 0 else -ctypes.get_errno()


def libc_umount(target: str) -> int:
    libc = ctypes.CDLL(None, use_errno=True)
    return 0 if libc.umount(target.encode()) == 0 else -ctypes.get_errno()


@pytest.fixture(scope="module")
def process_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("jobs_process")
    public = Path("/tmp") / f"fleet-exit-{uuid.uuid4().hex[:8]}"
    public.mkdir()
    prog = public / "fleetexit"
    shutil.copy("/bin/sh", prog)
    owned = tmp / "owned"
    owned.write_text("x")
    where = tmp / "mnt"
    where.mkdir()
    me = os.getpid()
    group = memory_cgroup(f"fleet-oom-{uuid.uuid4().hex[:8]}")
    book = write_playbook(tmp / "book.yaml", f"""\
  - job: exitsnoop
    params: {{comm: fleetexit}}
  - job: killsnoop
    params: {{pid: {me}}}
  - job: capable
    params: {{pid: {me}, cap: 0}}
  - job: mountsnoop
    params: {{pid: {me}}}
  - job: oomkill
""", duration="4s")
    seen = {}

    def workload():
        seen["exits"] = []
        for code in EXIT_CODES:
            child = subprocess.Popen([str(prog), "-c", f"exit {code}"])
            assert child.wait() == code
            seen["exits"].append(child.pid)
        child = subprocess.Popen([str(prog), "-c", "kill -TERM $$"])
        assert child.wait() == -signal.SIGTERM
        seen["killed"] = child.pid
        sleeper = subprocess.Popen(["sleep", "30"])
        for _ in range(PROBES):
            os.kill(sleeper.pid, 0)
        with pytest.raises(ProcessLookupError):
            os.kill(NO_PID, 0)
        sleeper.kill()
        sleeper.wait()
        seen["sleeper"] = sleeper.pid
        for _ in range(CHOWNS):
            os.chown(owned, 1000, -1)
        seen["mounts"] = [libc_mount("fleetsrc", str(where), "tmpfs")
                          for _ in range(MOUNTS)]
        seen["umounts"] = [libc_umount(str(where)) for _ in range(MOUNTS)]
        seen["nofs"] = libc_mount("fleetsrc", str(where), "fleetnofs")
        seen["victim"] = oom_victim(group) if group else None

    try:
        results, _ = run_in_window(tmp / "runs", 1, ["run", str(book), "--json"],
                                   workload)
    finally:
        shutil.rmtree(public)
        while libc_umount(str(where)) == 0:
            pass
        if group:
            group.rmdir()
    assert results["hosts"][HOST]["outcome"] == "ok"
    return results, seen


def test_exitsnoop_each_exit_with_its_code_or_signal(process_run):
    results, seen = process_run
    events = job_named(results, "exitsnoop")["events"]
    assert [e["pid"] for e in events] == seen["exits"] + [seen["killed"]]
    for e, code in zip(events, EXIT_CODES + [0]):
        assert (e["comm"], e["code"], e["ppid"], e["tid"]) == (
            "fleetexit", code, os.getpid(), e["pid"])
        assert 0 <= e["age_ms"] < 5000
    assert [e["sig"] for e in events] == [""] * len(EXIT_CODES) + ["SIGTERM"]


def test_killsnoop_signals_sent_and_the_failed_one(process_run):
    results, seen = process_run
    events = job_named(results, "killsnoop")["events"]
    probes = [e for e in events if e["tpid"] == seen["sleeper"] and e["sig"] == ""]
    assert len(probes) == PROBES and all(e["ret"] == 0 for e in probes)
    [failed] = [e for e in events if e["tpid"] == NO_PID]
    assert failed["ret"] == -errno.ESRCH and failed["pid"] == os.getpid()
    [kill] = [e for e in events if e["sig"] == "SIGKILL"]
    assert kill["tpid"] == seen["sleeper"] and kill["ret"] == 0
    assert len(events) == PROBES + 2, events


def test_capable_counts_every_chown_check(process_run):
    results, _ = process_run
    events = job_named(results, "capable")["events"]
    assert len(events) == CHOWNS, events
    for e in events:
        assert (e["cap"], e["ret"], e["pid"], e["uid"]) == ("CAP_CHOWN", 0,
                                                            os.getpid(), 0)
    attach = results["hosts"][HOST]["jobs"]["capable"]["attach"]
    assert attach[0]["used"] == "tracepoint:capability:cap_capable"


def test_mountsnoop_mounts_umounts_and_the_unknown_fs(process_run):
    results, seen = process_run
    assert seen["mounts"] == [0] * MOUNTS and seen["umounts"] == [0] * MOUNTS
    events = job_named(results, "mountsnoop")["events"]
    calls = [(e["call"], e["ret"]) for e in events]
    assert calls == ([("mount", 0)] * MOUNTS + [("umount", 0)] * MOUNTS
                     + [("mount", -errno.ENODEV)])
    for e in events[:MOUNTS]:
        assert (e["source"], e["fstype"]) == ("fleetsrc", "tmpfs")
        assert e["target"].endswith("/mnt")
    assert events[-1]["fstype"] == "fleetnofs"


def test_oomkill_names_the_victim(process_run):
    results, seen = process_run
    if seen["victim"] is None:
        pytest.skip("no memory cgroup on this machine")
    events = job_named(results, "oomkill")["events"]
    mine = [e for e in events if e["victim_pid"] == seen["victim"]]
    assert len(mine) == 1, events
    assert mine[0]["trigger_pid"] == seen["victim"]  # it ran out of memory itself
    assert mine[0]["trigger_comm"].startswith("python")
