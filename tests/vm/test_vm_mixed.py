"""Two kernels in one fleet: the sshd hosts (this machine's 6.18) and vm1 (6.1).

playbooks/health-sweep.yaml runs on all four: every host ok, each host's
results name the attach points it used, which differ where the kernels do
(biosnoop's submit point, cachestat's read and fault probes). `fleet check`
folds the hosts that give the same answer and shows the different one apart.
And the struct walks the jobs read through BTF really do sit at different
offsets on the two kernels, so the catalog run on vm1 tested other layouts.
"""

from __future__ import annotations

import json
import subprocess

import pytest
from fleetrun import REPO_ROOT, host_names, run_fleet, write_fleets_inventory
from guestrun import READY_TIMEOUT

from fleet.catalog import Catalog
from fleet.hostranges import fold_names

pytestmark = [pytest.mark.vm, pytest.mark.ssh, pytest.mark.kernel]

SWEEP = str(REPO_ROOT / "playbooks" / "health-sweep.yaml")
# What differs between 6.18 and 6.1, per job and probe: (host, guest).
DIFFERENT = {
    ("biosnoop", "submit"): ("tracepoint:block:block_io_start",
                             "tracepoint:block:block_rq_insert"),
    ("cachestat", "read"): ("tracepoint:filemap:mm_filemap_get_pages",
                            "kprobe:filemap_read"),
    ("cachestat", "fault"): ("tracepoint:filemap:mm_filemap_fault",
                             "kprobe:filemap_fault"),
}
# The jobs that walk kernel structs through BTF offsets.
BTF_JOBS = ("execsnoop", "fsslower", "tcpaccept", "urandomread", "cachestat")
OFFSETS = ("import json, sys; sys.path.insert(0, sys.argv[1]); from agent import btf; "
           "print(json.dumps(btf.offsets(sys.argv[2:])))")


@pytest.fixture(scope="module")
def mixed_inventory(ssh_fleet, vm_fleet, tmp_path_factory):
    path = tmp_path_factory.mktemp("mixed") / "inventory.yaml"
    return write_fleets_inventory(path, {"fleet": ssh_fleet, "vm": vm_fleet})


@pytest.fixture(scope="module")
def sweep(mixed_inventory, tmp_path_factory):
    run = run_fleet(tmp_path_factory.mktemp("sweep") / "runs", "run", SWEEP,
                    "-i", str(mixed_inventory), "-d", "4s", "--json",
                    "--ready-timeout", READY_TIMEOUT, timeout=420)
    assert run.code == 0, run.stderr
    return json.loads(run.stdout)


def used(results: dict, host: str, job: str) -> dict:
    slots = results["hosts"][host]["jobs"][job]["attach"]
    return {s["probe"]: s["used"] for s in slots}


def test_every_host_ok_on_its_own_kernel(sweep, ssh_fleet, vm_fleet):
    hosts = sweep["hosts"]
    assert set(hosts) == {*host_names(ssh_fleet), "vm1"}
    assert {h["outcome"] for h in hosts.values()} == {"ok"}
    kernels = {name: h["facts"]["kernel"] for name, h in hosts.items()}
    assert kernels["vm1"] == vm_fleet.kernel
    assert {kernels[n] for n in host_names(ssh_fleet)} == {
        subprocess.run(["uname", "-r"], capture_output=True, text=True).stdout.strip()}
    assert kernels["vm1"] != kernels["host1"]


def test_attach_points_differ_where_the_kernels_do(sweep, ssh_fleet):
    for (job, probe), (on_host, on_guest) in DIFFERENT.items():
        for name in host_names(ssh_fleet):
            assert used(sweep, name, job)[probe] == on_host, (name, job, probe)
        assert used(sweep, "vm1", job)[probe] == on_guest, (job, probe)
    # and the same where they agree
    for job in ("biolatency", "runqlat", "tcpconnect", "tcpaccept", "fsslower"):
        assert used(sweep, "vm1", job) == used(sweep, "host1", job), job


def test_check_folds_the_same_answers(mixed_inventory, ssh_fleet, tmp_path):
    run = run_fleet(tmp_path / "runs", "check", SWEEP, "-i", str(mixed_inventory),
                    "--ready-timeout", READY_TIMEOUT, timeout=420)
    assert run.code == 0, run.stdout + run.stderr
    lines = run.stdout.splitlines()
    assert all(len(line) <= 80 for line in lines), max(lines, key=len)
    rows = job_rows(lines)
    hosts = fold_names(host_names(ssh_fleet))  # host[1-3]
    for job in ("biolatency", "runqlat", "tcpconnect"):
        assert [label for label, _ in rows[job]] == ["all"], rows[job]
    for job in ("biosnoop", "cachestat"):
        assert sorted(label for label, _ in rows[job]) == sorted([hosts, "vm1"])
    vm_cachestat = dict(rows["cachestat"])["vm1"]
    assert "read uses kprobe:filemap_read" in vm_cachestat
    assert "fault uses kprobe:filemap_fault" in vm_cachestat
    vm_biosnoop = dict(rows["biosnoop"])["vm1"]
    assert "submit uses tracepoint:block:block_rq_insert" in vm_biosnoop


def job_rows(lines: list[str]) -> dict[str, list[tuple[str, str]]]:
    """The check report's JOBS table: job -> [(hosts label, answer text)]."""
    jobs_at = next(i for i, line in enumerate(lines) if line.startswith("JOBS"))
    start = next(i for i in range(jobs_at, len(lines)) if "HOSTS" in lines[i])
    header = lines[start]
    hosts_at, answer_at = header.index("HOSTS"), header.index("CAN RUN?")
    rows: dict[str, list[list[str]]] = {}
    job = None
    for line in lines[start + 2:]:
        if not line.strip() or line[0] != " " and not line[0].isalpha():
            break
        name, label = line[:hosts_at].strip(), line[hosts_at:answer_at].strip()
        job = name or job
        if label:
            rows.setdefault(job, []).append([label, ""])
        rows[job][-1][1] += " " + line[answer_at:].strip()
    return {j: [(label, " ".join(text.split())) for label, text in r]
            for j, r in rows.items()}


def test_btf_offsets_differ_between_the_kernels(sweep, vm_fleet):
    # The sweep pushed the agent into the guest's cache: read both kernels'
    # BTF with the code the agent runs, for every member the jobs walk.
    catalog = Catalog.default()
    walks = {job: catalog.get(job).btf for job in BTF_JOBS}
    paths = sorted({p for members in walks.values() for p in members})
    mine = subprocess.run(["/usr/bin/python3", "-c", OFFSETS, str(REPO_ROOT),
                           *paths], capture_output=True, text=True, check=True)
    theirs = vm_fleet.ssh("vm1", "python3", "-c", f"'{OFFSETS}'",
                          "$(ls /root/.cache/fleet/agent-*.pyz | head -1)", *paths)
    assert theirs.returncode == 0, theirs.stderr
    host, guest = json.loads(mine.stdout), json.loads(theirs.stdout)
    moved = {p for p in paths if host[p] != guest[p]}
    # Each job's walk passes a member that sits elsewhere on 6.1: the catalog
    # run on vm1 checked other layouts than tests/kernel did.
    for job, members in walks.items():
        assert moved & set(members), (job, {p: (host[p], guest[p]) for p in members})
