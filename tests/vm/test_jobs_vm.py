"""Kernel-function paths of the new jobs on the Debian 6.1 guest (kprobes).

funccount and funclatency on kernel functions, and capable's cap_capable
kprobe fallback (the capability tracepoint is new in 6.14), run in one window
on vm1 with workloads run inside the guest over SSH. The `vm_fleet` fixture
comes from tests/conftest.py (scripts/vmfleet.py); where it is missing these
tests skip.
"""

from __future__ import annotations

import pytest
from fleetrun import job_named, run_in_window

pytestmark = pytest.mark.vm

HOST = "vm1"
KILLS, SLEEPS, CHOWNS = 40, 5, 3

# Run inside the guest: a shell named fleetvm sends KILLS kill(pid, 0) (dash's
# kill is a builtin), sleep(1) sleeps 50 ms SLEEPS times, and chown named
# fleetcap gives a file away CHOWNS times.
WORKLOAD = f"""
set -e
cp /bin/sh /tmp/fleetvm; cp /bin/chown /tmp/fleetcap; touch /tmp/fleet-owned
/tmp/fleetvm -c 'i=0; while [ $i -lt {KILLS} ]; do i=$((i+1)); kill -0 $$; done'
for i in $(seq {SLEEPS}); do sleep 0.05; done
for i in $(seq {CHOWNS}); do /tmp/fleetcap 1000 /tmp/fleet-owned; done
rm -f /tmp/fleetvm /tmp/fleetcap /tmp/fleet-owned
"""

PLAYBOOK = """\
name: vm jobs
hosts: vm
duration: 6s
ready_timeout: 300s
jobs:
  - job: funccount
    params: {function: "__x64_sys_kil?", comm: fleetvm}
  - job: funclatency
    params: {function: hrtimer_nanosleep, comm: sleep, milliseconds: true}
  - job: capable
    params: {comm: fleetcap, cap: 0}
"""


@pytest.fixture(scope="module")
def vm_run(request, tmp_path_factory):
    try:
        vm = request.getfixturevalue("vm_fleet")
    except pytest.FixtureLookupError:
        pytest.skip("no vm_fleet fixture in this checkout (scripts/vmfleet.py)")
    tmp = tmp_path_factory.mktemp("jobs_vm")
    book = tmp / "book.yaml"
    book.write_text(PLAYBOOK)

    def workload():
        done = vm.ssh(HOST, "sh", "-c", WORKLOAD, timeout=120)
        assert done.returncode == 0, done.stderr

    results, _ = run_in_window(tmp / "runs", 1, ["run", str(book), "-i",
                                                 str(vm.inventory_path), "--json"],
                               workload, timeout=600)
    assert results["hosts"][HOST]["outcome"] == "ok", results["hosts"][HOST]
    return results


def used(results: dict, job: str) -> list:
    return [a["used"] for a in results["hosts"][HOST]["jobs"][job]["attach"]]


def test_funccount_counts_a_kernel_function_by_glob(vm_run):
    job = job_named(vm_run, "funccount")
    assert [(r["key"], r["total"]) for r in job["rows"]] == [("__x64_sys_kill",
                                                              KILLS)]
    assert used(vm_run, "funccount") == ["kprobe:__x64_sys_kil?"]


def test_funclatency_times_each_nanosleep(vm_run):
    job = job_named(vm_run, "funclatency")
    assert job["unit"] == "msecs" and job["fleet"]["count"] == SLEEPS
    assert job["fleet"]["slots"][6] == SLEEPS  # 50 ms: slot 6 holds 32-63
    assert used(vm_run, "funclatency") == ["kprobe:hrtimer_nanosleep",
                                           "kretprobe:hrtimer_nanosleep"]


def test_capable_falls_back_to_the_kprobe(vm_run):
    events = job_named(vm_run, "capable")["events"]
    assert [(e["comm"], e["cap"], e["ret"]) for e in events] == [
        ("fleetcap", "CAP_CHOWN", 0)] * CHOWNS
    assert used(vm_run, "capable") == ["kprobe:cap_capable", "kretprobe:cap_capable"]
