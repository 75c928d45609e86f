"""The differential flame graph end to end: two recorded `fleet run`s of a
profile playbook on real sshd hosts with real BCC, the CPU going to another
function in the second, and the report.html that run wrote, in chromium.

The workload: a small C program (comm fleetspinner) that burns CPU in
fleet_phase_one during the first sweep and in fleet_phase_two during the
second; every host samples it (they share this kernel).
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from pathlib import Path

import pytest
from browserkit import ARGS, CHROMIUM
from fleetrun import run_dir_of, start_fleet, wait_for_window, write_inventory
from playwright.sync_api import sync_playwright

from fleet.history import History
from fleet.report.flamediff import frame_changes

pytestmark = [pytest.mark.ssh, pytest.mark.kernel]

HOSTS = 2

SPIN_C = r"""
#include <string.h>
#include <time.h>
volatile unsigned long sink;
static double since(struct timespec *a)
{
    struct timespec b;
    clock_gettime(CLOCK_MONOTONIC, &b);
    return (b.tv_sec - a->tv_sec) + (b.tv_nsec - a->tv_nsec) / 1e9;
}
__attribute__((noinline)) void fleet_phase_one(double secs)
{
    struct timespec a;
    clock_gettime(CLOCK_MONOTONIC, &a);
    do { for (int i = 0; i < 1000; i++) sink += i; } while (since(&a) < secs);
}
__attribute__((noinline)) void fleet_phase_two(double secs)
{
    struct timespec a;
    clock_gettime(CLOCK_MONOTONIC, &a);
    do { for (int i = 0; i < 1000; i++) sink -= i; } while (since(&a) < secs);
}
int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "two") == 0) fleet_phase_two(1.5);
    else fleet_phase_one(1.5);
    return 0;
}
"""


def sweep(runs: Path, args: list[str], spinner: Path, phase: str):
    """One recorded `fleet run` with the spinner in ``phase``: (code, stderr, dir)."""
    before = run_dir_of(runs)
    proc = start_fleet(runs, *args)
    try:
        deadline = time.monotonic() + 60
        while run_dir_of(runs) == before and time.monotonic() < deadline:
            time.sleep(0.05)  # the previous run's folder has started hosts too
        run_dir = wait_for_window(runs, HOSTS)
        assert run_dir != before
        subprocess.run([str(spinner), phase], check=True, timeout=30)
        _, err = proc.communicate(timeout=180)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    return proc.returncode, err, run_dir


@pytest.fixture(scope="module")
def sweeps(ssh_fleet, tmp_path_factory):
    """Two profile sweeps of host1 and host2: phase one, then phase two."""
    tmp = tmp_path_factory.mktemp("flamediff")
    (tmp / "spin.c").write_text(SPIN_C)
    spinner = tmp / "fleetspinner"
    subprocess.run(["gcc", "-O1", "-fno-omit-frame-pointer", "-o", str(spinner),
                    str(tmp / "spin.c")], check=True)
    inv = write_inventory(tmp / "inv.yaml", ssh_fleet)
    playbook = tmp / "pb.yaml"
    playbook.write_text("name: cpu sweep\nhosts: all\nduration: 3s\n"
                        "jobs:\n  - job: profile\n")
    history = tmp / "history.sqlite"
    common = ["run", str(playbook), "-i", str(inv), "-l", "host1:host2",
              "--history", str(history)]
    first = sweep(tmp / "runs", common, spinner, "one")
    second = sweep(tmp / "runs", common, spinner, "two")
    return {"history": history, "first": first, "second": second}


def fleet_stacks(rows) -> dict[str, int]:
    return {row["key"]: row["total"] for row in rows}


def test_the_second_runs_report_is_drawn_against_the_first(sweeps, tmp_path):
    for code, err, _ in (sweeps["first"], sweeps["second"]):
        assert code == 0, err
    first_dir, second_dir = sweeps["first"][2], sweeps["second"][2]
    assert "No differential flame graph: no earlier run" in (
        first_dir / "report.html").read_text()
    page_html = (second_dir / "report.html").read_text()
    assert (f"the previous run of this playbook, <code>{first_dir.name}</code>"
            in page_html)
    # the frames' directions, from the recorded first run and the second's results
    with History(sweeps["history"]) as history:
        before = history.folded_stacks(first_dir.name, "profile")
    base = {}
    for stacks in before.values():
        for stack, n in stacks.items():
            base[stack] = base.get(stack, 0) + n
    results = json.loads((second_dir / "results.json").read_text())
    rows = next(j for j in results["jobs"] if j["name"] == "profile")["rows"]
    changes = frame_changes(base, fleet_stacks(rows))
    two = [c for p, c in changes.items() if p.endswith(";fleet_phase_two")]
    one = [c for p, c in changes.items() if p.endswith(";fleet_phase_one")]
    assert two and all(c.direction == "grew" and c.base == 0 for c in two)
    assert one and all(c.direction == "shrank" and c.count == 0 for c in one)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        errors, requests = [], []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error"
                else None)
        page.on("request", lambda r: requests.append(r.url))
        page.goto((second_dir / "report.html").as_uri())
        fills = page.locator("#job-profile svg.flamesvg").evaluate("""svg =>
            Array.from(svg.querySelectorAll('rect'))
              .filter(r => r.frame.name === 'fleet_phase_two')
              .map(r => getComputedStyle(r).fill)""")
        gone = page.locator("#job-profile details.changes tr.shrank td:first-child")
        titles = gone.evaluate_all("tds => tds.map(td => td.title)")
        page.screenshot(path=str(tmp_path / "profile-diff.png"), full_page=True)
        browser.close()
    assert fills, "fleet_phase_two is not drawn"
    for fill in fills:
        r, g, b = (int(x) for x in re.findall(r"\d+", fill)[:3])
        assert r - b > 40 and r - g > 40, fill  # red-ish: it grew
    assert any("fleet_phase_one" in t for t in titles), titles
    assert errors == [] and [u for u in requests if not u.startswith("file:")] == []
