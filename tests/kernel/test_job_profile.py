"""profile: a CPU-bound C program with known function names, sampled at 49 Hz."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from fleetrun import start_fleet, wait_for_window

pytestmark = pytest.mark.kernel

SPIN_C = r"""
#include <time.h>
volatile unsigned long sink;
__attribute__((noinline)) void fleet_spin_inner(void)
{ for (int i = 0; i < 1000; i++) sink += i; }
__attribute__((noinline)) void fleet_spin_loop(double secs)
{
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    do {
        fleet_spin_inner();
        clock_gettime(CLOCK_MONOTONIC, &b);
    } while ((b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9 < secs);
}
int main(void) { fleet_spin_loop(2.0); return 0; }
"""


@pytest.fixture(scope="module")
def spinner(tmp_path_factory) -> Path:
    """A tiny binary (comm 'fleetspinner') that burns CPU for 2 s in fleet_spin_*."""
    tmp = tmp_path_factory.mktemp("spin")
    (tmp / "spin.c").write_text(SPIN_C)
    binary = tmp / "fleetspinner"
    subprocess.run(
        [
            "gcc",
            "-O1",
            "-fno-omit-frame-pointer",
            "-o",
            str(binary),
            str(tmp / "spin.c"),
        ],
        check=True,
    )
    return binary


def run_measured(binary: Path) -> float:
    """Run the binary; return the CPU seconds it used (user + system)."""
    child = subprocess.Popen([str(binary)])
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    assert child.returncode == 0
    return usage.ru_utime + usage.ru_stime


def test_profile_samples_the_spinner(tmp_path, spinner):
    proc = start_fleet(tmp_path / "runs", "trace", "profile", "-d", "4s", "--json")
    run_dir = wait_for_window(tmp_path / "runs", 1)
    cpu_s = run_measured(spinner)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    results = json.loads(out)
    entry = next(j for j in results["jobs"] if j["name"] == "profile")
    assert entry["kind"] == "stacks" and entry["unit"] == "samples"
    mine = [r for r in entry["rows"] if r["key"].startswith("fleetspinner;")]
    samples = sum(r["total"] for r in mine)
    # One sample per 1/49 s of the spinner's CPU time; allow for clock jitter.
    expected = 49 * cpu_s
    assert expected * 0.7 <= samples <= expected * 1.3 + 3, (samples, cpu_s)
    hot = [r for r in mine if "fleet_spin_inner" in r["key"].split(";")]
    assert sum(r["total"] for r in hot) >= samples * 0.6
    assert all(r["key"].split(";")[-1] != "fleetspinner" for r in hot)
    folded = (run_dir / "profile.folded").read_text().splitlines()
    assert any(
        line.startswith("fleetspinner;") and "fleet_spin_inner" in line
        for line in folded
    )
    assert all(line.rsplit(" ", 1)[1].isdigit() for line in folded)


def test_profile_pid_filter_excludes_others(tmp_path, spinner):
    proc = start_fleet(
        tmp_path / "runs", "trace", "profile", "-d", "3s", "--json", "-p", "pid=1"
    )
    wait_for_window(tmp_path / "runs", 1)
    subprocess.run([str(spinner)], check=True)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    entry = next(j for j in json.loads(out)["jobs"] if j["name"] == "profile")
    assert not [r for r in entry["rows"] if r["key"].startswith("fleetspinner;")]
