"""Benchmark: the fault matrix on a 3-host sshd fleet, one run per fault.

Each run has one faulty host (an alias of host1 with its own cache dir) and
two ok hosts (host2, host3) tracing sync() calls with syncsnoop while three
syncs run in the window. Prints one row per fault: the faulty host's outcome,
whether the other hosts ended ok with every sync in their events, the exit
code, seconds from the controller's start to its end, and the agents and BPF
programs of the run still there 5 s after it ended. Target: every row
"others ok: yes" and "left: 0/0". Needs root, sshd and BCC (`make install`).
Takes the machine-wide e2e lock. Figures, not pass/fail.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO / "scripts"), str(REPO / "tests")]

import faultkit as fk  # noqa: E402
import sshfleet  # noqa: E402
from fleetrun import run_dir_of, start_fleet  # noqa: E402

from fleet.bundle import build_bundle  # noqa: E402

OK = ["ok1", "ok2"]


class Run:
    """One fault's run: its inventory, playbook, runs dir and outcome."""

    def __init__(self, fleet, work: Path, fault: str, faulty_vars=None, **pb):
        self.dir = work / fault
        self.dir.mkdir(parents=True)
        self.caches = self.dir / "caches"
        self.caches.mkdir(mode=0o700)
        hosts = [h["name"] for h in fleet.hosts]
        aliases = {"faulty": {"on": hosts[0], **(faulty_vars or {})},
                   "ok1": {"on": hosts[1]}, "ok2": {"on": hosts[2]}}
        self.aliases, self.fleet = aliases, fleet
        self.inv = fk.write_alias_inventory(self.dir / "inv.yaml", fleet, aliases,
                                            self.caches)
        self.pb = fk.write_fault_playbook(self.dir / "pb.yaml", **pb)
        self.runs = self.dir / "runs"
        self.env = dict(os.environ, PYTHONPATH=str(REPO))

    def start(self, runs: Path | None = None) -> subprocess.Popen:
        self.began = time.monotonic()
        return start_fleet(runs or self.runs, "run", str(self.pb), "-i",
                           str(self.inv))

    def results(self, runs: Path | None = None) -> dict:
        path = run_dir_of(runs or self.runs) / "results.json"
        return json.loads(path.read_text())


def row(fault: str, results: dict, code: int, secs: float, pids: list[int],
        faulty: str = "faulty") -> dict:
    """Measure one finished run (waits 5 s for what is left)."""
    time.sleep(5)
    agents = [p for p in fk.agent_pids(results).values()]
    left = fk.left_behind(agents)
    others = all(results["hosts"][n]["outcome"] == "ok"
                 and fk.has_full_data(results, n, pids) for n in OK)
    return {"fault": fault, "outcome": results["hosts"][faulty]["outcome"],
            "others_ok": others, "exit": code, "secs": round(secs, 1),
            "left": f"{left[0]}/{left[1]}"}


def mid_window(fleet, work, fault):
    """A process of the faulty host is stopped or killed once its window is open."""
    run = Run(fleet, work, fault)
    proc = run.start()
    stopped = []
    try:
        fk.wait_for_started(run.runs, ["faulty"] + OK)
        stopped = fk.inject(fault, run.caches / "faulty")
        pids = fk.syncs_in_window()
        proc.communicate(timeout=180)
        return row(fault, run.results(), proc.returncode,
                   time.monotonic() - run.began, pids)
    finally:
        fk.release(stopped)


def whole_run(fleet, work, fault, faulty_vars=None, prepare=None, **pb):
    """A fault set up before the run (cache, interpreter, slow host)."""
    run = Run(fleet, work, fault, faulty_vars, **pb)
    if prepare:
        prepare(run.caches / "faulty")
    proc = run.start()
    fk.wait_for_started(run.runs, OK)
    pids = fk.syncs_in_window()
    proc.communicate(timeout=180)
    return row(fault, run.results(), proc.returncode, time.monotonic() - run.began,
               pids)


def tampered(cache: Path) -> None:
    cache.mkdir(mode=0o700)
    (cache / build_bundle().name).write_bytes(b"PK\x05\x06" + b"\0" * 18)


def emptied(cache: Path) -> None:
    cache.mkdir(mode=0o700)
    (cache / build_bundle().name).write_bytes(b"")


def symlinked(cache: Path) -> None:
    (cache.parent / "elsewhere").mkdir()
    cache.symlink_to(cache.parent / "elsewhere")


def foreign(cache: Path) -> None:
    cache.mkdir(mode=0o700)
    os.chown(cache, 65534, 65534)


def open_mode(cache: Path) -> None:
    cache.mkdir()
    os.chmod(cache, 0o777)


def controller(fleet, work, fault):
    """The controller itself: paused past the window, killed, or Ctrl-C twice."""
    run = Run(fleet, work, fault, duration="3s" if fault == "ctl-stop" else "30s",
              keepalive="2s")
    proc = run.start()
    fk.wait_for_started(run.runs, ["faulty"] + OK)
    pids = fk.syncs_in_window()
    if fault == "ctl-stop":
        proc.send_signal(signal.SIGSTOP)
        time.sleep(16)
        proc.send_signal(signal.SIGCONT)
    elif fault == "ctl-kill":
        time.sleep(0.5)
        proc.kill()
    else:
        proc.send_signal(signal.SIGINT)
        time.sleep(0.3)
        proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=180)
    secs = time.monotonic() - run.began
    code = proc.returncode
    if fault == "ctl-kill":
        subprocess.run([sys.executable, "-m", "fleet", "report", "--rebuild",
                        str(run_dir_of(run.runs))], capture_output=True, env=run.env,
                       cwd=REPO, check=True)
    results = run.results()
    if fault != "ctl-stop":  # interrupted hosts count as ok with their data
        for name in OK:
            if results["hosts"][name]["outcome"] == "interrupted":
                results["hosts"][name]["outcome"] = "ok"
    return row(fault, results, code, secs, pids)


def run_folder(fleet, work, fault):
    """--runs read-only or full: the report still prints, results go to TMPDIR."""
    run = Run(fleet, work, fault, duration="2s")
    mnt = run.dir / "mnt"
    mnt.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "fleetbench", str(mnt)],
                   check=True)
    try:
        if fault == "runs-read-only":
            subprocess.run(["mount", "-o", "remount,ro", str(mnt)], check=True)
        else:
            with open(mnt / "filler", "wb") as f:
                try:
                    while True:
                        f.write(b"\0" * 65536)
                        f.flush()
                except OSError:
                    pass
        tmpdir = run.dir / "tmp"
        tmpdir.mkdir()
        env = dict(run.env, TMPDIR=str(tmpdir))
        began = time.monotonic()
        proc = subprocess.Popen([sys.executable, "-m", "fleet", "run", str(run.pb),
                                 "-i", str(run.inv), "--runs", str(mnt)], env=env,
                                cwd=REPO, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        fallback = None
        while fallback is None:
            fallback = next(tmpdir.glob("fleet-*"), None)
            time.sleep(0.05)
        fk.wait_for_started(fallback.parent, OK)
        pids = fk.syncs_in_window()
        proc.communicate(timeout=180)
        results = json.loads((fallback / "results.json").read_text())
        return row(fault, results, proc.returncode, time.monotonic() - began, pids)
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def two_controllers(fleet, work, fault):
    """Two controllers on the same hosts, cache and tracepoint at once."""
    runs = [Run(fleet, work / str(k), fault, duration="5s") for k in range(2)]
    for run in runs[1:]:  # the same cache dirs as the first
        run.inv = fk.write_alias_inventory(run.dir / "inv.yaml", fleet, run.aliases,
                                           runs[0].caches)
    procs = [run.start() for run in runs]
    for run in runs:
        fk.wait_for_started(run.runs, ["faulty"] + OK)
    pids = fk.syncs_in_window()
    rows = []
    for run, proc in zip(runs, procs):
        proc.communicate(timeout=180)
        rows.append(row(fault, run.results(), proc.returncode,
                        time.monotonic() - run.began, pids))
    both = dict(rows[1], others_ok=rows[0]["others_ok"] and rows[1]["others_ok"])
    return both


def matrix(fleet, work: Path) -> list[dict]:
    work.mkdir(parents=True, exist_ok=True)
    slow = work / "slow-python"
    slow.write_text("#!/bin/sh\nsleep 30\nexec /usr/bin/python3 \"$@\"\n")
    slow.chmod(0o755)
    cases = [
        ("cache-tampered", lambda: whole_run(fleet, work, "cache-tampered",
                                             prepare=tampered, duration="2s")),
        ("cache-empty", lambda: whole_run(fleet, work, "cache-empty",
                                          prepare=emptied, duration="2s")),
        ("cache-symlink", lambda: whole_run(fleet, work, "cache-symlink",
                                            prepare=symlinked, duration="2s")),
        ("cache-foreign", lambda: whole_run(fleet, work, "cache-foreign",
                                            prepare=foreign, duration="2s")),
        ("cache-mode-777", lambda: whole_run(fleet, work, "cache-mode-777",
                                             prepare=open_mode, duration="2s")),
        ("python-no-bcc", lambda: whole_run(
            fleet, work, "python-no-bcc", duration="2s",
            faulty_vars={"ansible_python_interpreter": sys.executable})),
        ("late-ready", lambda: whole_run(
            fleet, work, "late-ready", duration="2s", ready_timeout="6s",
            faulty_vars={"ansible_python_interpreter": str(slow)})),
    ]
    cases += [(f, lambda f=f: mid_window(fleet, work, f))
              for f in ("sshd-stop", "sshd-kill", "agent-stop", "agent-kill")]
    cases += [(f, lambda f=f: controller(fleet, work, f))
              for f in ("ctl-stop", "ctl-kill", "ctl-c-twice")]
    cases += [(f, lambda f=f: run_folder(fleet, work, f))
              for f in ("runs-read-only", "runs-full")]
    cases += [("two-controllers", lambda: two_controllers(fleet, work,
                                                          "two-controllers"))]
    rows = []
    for name, case in cases:
        try:
            rows.append(case())
        except Exception as err:  # a broken case is a row, not the end
            rows.append({"fault": name, "outcome": f"bench error: {err}"[:40],
                         "others_ok": False, "exit": "-", "secs": "-", "left": "-"})
        print_row(rows[-1])
    return rows


def print_row(r: dict) -> None:
    print(f"{r['fault']:<16} {r['outcome']:<16} {'yes' if r['others_ok'] else 'no':<10}"
          f" {r['exit']!s:>4} {r['secs']!s:>6} {r['left']:>6}", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-address", default="127.0.52.0",
                        help="loopback range for the sshd fleet")
    args = parser.parse_args()
    lock = open("/tmp/fleet-e2e.lock", "a")  # noqa: SIM115
    fcntl.flock(lock, fcntl.LOCK_EX)
    with tempfile.TemporaryDirectory(prefix="fleet-faults-") as tmp:
        fleet = sshfleet.SSHFleet(Path(tmp) / "fleet", args.base_address)
        with fleet:
            fleet.start(3)
            print("fault matrix on a 3-host sshd fleet (one faulty host, two ok)")
            print(f"{'fault':<16} {'faulty host':<16} {'others ok':<10} {'exit':>4}"
                  f" {'secs':>6} {'left':>6}")
            matrix(fleet, Path(tmp) / "work")
    print("left: agents/BPF programs of the run still there 5 s after it ended")
    return 0


if __name__ == "__main__":
    sys.exit(main())
