"""Tutorial lesson strlen_count on the sshd test fleet.

A small C program, compiled here with `gcc -O0 -fno-builtin` so that every
strlen() really calls libc, calls strlen("fleet-needle-42") exactly 100 times
inside the window of the lesson's playbook. The three hosts share this kernel
and this libc, so each host's row for that string counts at least 100 calls
(other processes call strlen on other strings). The program reads the
string's first byte before the loop: otherwise the first call finds the
.rodata page not yet faulted in, the probe cannot read it, and the lesson
counts that call under "<unreadable>" (99 + 1). Each host must also say, in
its job notes, that strlen is an IFUNC and at which offset it attached: the
implementation this CPU resolves to, not the resolver symbol.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import re
import subprocess
from pathlib import Path

import pytest
from fleetrun import job_named, rows_by_key
from tutorialrun import attach_used, lesson_playbook, run_lesson

pytestmark = [pytest.mark.ssh, pytest.mark.kernel]

PLAYBOOK = lesson_playbook("strlen_count")
NEEDLE = "fleet-needle-42"
CALLS = 100

PROGRAM = r"""
#include <stdio.h>
#include <string.h>

int main(void)
{
    const char *needle = "NEEDLE";
    size_t total = 0;
    /* Touch the string's page first: a uprobe cannot fault a page in, so
       bpf_probe_read_user_str() fails on a page the process never read. */
    volatile char first = needle[0];
    (void)first;
    for (int i = 0; i < CALLS; i++)
        total += strlen(needle);
    printf("%zu\n", total);
    return 0;
}
""".replace("NEEDLE", NEEDLE).replace("CALLS", str(CALLS))


def libc_offsets() -> tuple[str, int, int]:
    """(libc path, offset of the strlen resolver, offset strlen resolves to here)."""
    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    address = ctypes.cast(libc.strlen, ctypes.c_void_p).value
    with open("/proc/self/maps") as maps:
        for line in maps:
            fields = line.split()
            if len(fields) >= 6 and "libc.so" in fields[5] and int(fields[2], 16) == 0:
                path, base = fields[5], int(fields[0].split("-")[0], 16)
                break
        else:
            raise AssertionError("libc not mapped")
    nm = subprocess.run(["nm", "-D", path], capture_output=True, text=True, check=True)
    resolver = next(int(line.split()[0], 16) for line in nm.stdout.splitlines()
                    if line.split()[1:2] == ["i"]
                    and line.split()[2].split("@")[0] == "strlen")
    return path, resolver, address - base


@pytest.fixture(scope="module")
def needle_program(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("strlen_needle")
    (tmp / "needle.c").write_text(PROGRAM)
    subprocess.run(["gcc", "-O0", "-fno-builtin", "-o", str(tmp / "needle"),
                    str(tmp / "needle.c")], check=True, timeout=60)
    return tmp / "needle"


@pytest.fixture(scope="module")
def lesson_run(ssh_fleet, tmp_path_factory, needle_program):
    tmp: Path = tmp_path_factory.mktemp("tutorial_strlen_count")

    def workload():
        done = subprocess.run([str(needle_program)], capture_output=True, text=True,
                              check=True, timeout=30)
        assert done.stdout.strip() == str(CALLS * len(NEEDLE))

    results, hosts, _ = run_lesson(ssh_fleet, tmp, PLAYBOOK, workload)
    return results, hosts


def test_needle_counted_on_every_host(lesson_run):
    results, hosts = lesson_run
    job = job_named(results, "strlen_count")
    assert job["kind"] == "table" and job["unit"] == "calls" and job["top"] == 20
    rows = rows_by_key(job)
    row = rows[NEEDLE]
    assert set(row["hosts"]) == set(hosts)
    for name in hosts:
        assert row["hosts"][name] >= CALLS, (name, row)
    assert row["total"] == sum(row["hosts"].values())
    totals = [r["total"] for r in job["rows"]]
    assert totals == sorted(totals, reverse=True)


def test_notes_name_the_ifunc_implementation(lesson_run):
    results, hosts = lesson_run
    path, resolver, implementation = libc_offsets()
    assert resolver != implementation
    for name in hosts:
        host = results["hosts"][name]
        assert host["outcome"] == "ok", host["reason"]
        job = host["jobs"]["strlen_count"]
        assert attach_used(host, "strlen_count") == ["uprobe:c:strlen"]
        notes = " ".join(job["notes"])
        assert "strlen is an IFUNC" in notes, job["notes"]
        assert os.path.realpath(path) in {os.path.realpath(p) for p in
                                          re.findall(r"in (\S+):", notes)}, notes
        offsets = [int(x, 16) for x in re.findall(r"offset (0x[0-9a-f]+)", notes)]
        assert offsets == [implementation], (notes, hex(implementation), hex(resolver))
