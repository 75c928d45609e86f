"""Benchmark: rendering the terminal and HTML reports of big synthetic runs.

For 10, 200 and 1000 hosts (5 jobs: two histograms, one with 1 s intervals,
100k open events, a table and profile stacks; 3 slow hosts, 2 unreachable),
each size in its own process: seconds to render report.txt and report.html,
the process's peak memory, the HTML's size, and the page's load time in
headless chromium (navigation start to the end of the load event, scripts
included). Targets: 1000 hosts render in under 3 s, the page loads in under
2 s, the HTML of 200 hosts x 5 jobs stays under ~5 MB. Figures, not pass/fail.
With --baseline, the profile job's flame graph is drawn against a baseline
(another synthetic run's stacks, per host), as report.html is once the
history has an earlier run: the differential flame graph's cost.

    .venv/bin/python bench/report.py [--sizes 10 200 1000] [--events 100000]
                                     [--baseline]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "scripts")]

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu",
        "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]


def synthetic_baseline(hosts: int):
    """Per-host stacks of another synthetic run, as the history would give them."""
    from synthrun import synthetic_results

    from fleet.report.flamediff import StackBaseline

    earlier = synthetic_results(hosts, 0, jobs=("cpu",), seed=8)
    per_host: dict = {}
    for row in earlier["jobs"][0]["rows"]:
        for host, n in row["hosts"].items():
            per_host.setdefault(host, {})[row["key"]] = n
    return StackBaseline(runs=(("earlier", earlier["run"]["started_ns"]),),
                         stacks={"cpu": per_host})


def measure_render(hosts: int, events: int, out_dir: Path,
                   baseline: bool = False) -> dict:
    """Render both reports of one synthetic run (in this process)."""
    from synthrun import synthetic_results

    from fleet.report import render_text
    from fleet.report.html import render_html

    results = synthetic_results(hosts, events)
    base = synthetic_baseline(hosts) if baseline else None
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    began = time.perf_counter()
    text = render_text(results)
    text_s = time.perf_counter() - began
    began = time.perf_counter()
    html = render_html(results, base)
    html_s = time.perf_counter() - began
    path = out_dir / f"report-{hosts}.html"
    path.write_text(html, encoding="utf-8")
    return {"hosts": hosts, "events": events, "text_s": text_s, "html_s": html_s,
            "text_lines": len(text.splitlines()), "html_bytes": len(html.encode()),
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "rss_before_mb": rss_before / 1024, "html": str(path)}


def page_load_s(path: str, rounds: int = 3) -> float:
    """Best of ``rounds`` loads of the page: navigation start to load event end."""
    from playwright.sync_api import sync_playwright

    best = float("inf")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        for _ in range(rounds):
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(Path(path).as_uri(), wait_until="load")
            ms = page.evaluate("performance.getEntriesByType('navigation')[0]"
                               ".loadEventEnd")
            best = min(best, ms / 1000)
            page.close()
        browser.close()
    return best


def main() -> int:
    """Print one line of figures per size."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 200, 1000])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--baseline", action="store_true",
                        help="draw the flame graph against a baseline")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--dir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:  # a child: one size, figures as JSON on stdout
        print(json.dumps(measure_render(args.one, args.events, Path(args.dir),
                                        args.baseline)))
        return 0
    print(f"{'hosts':>6} {'events':>7} {'text s':>7} {'html s':>7} {'total s':>7} "
          f"{'lines':>6} {'html MB':>8} {'peak MB':>8} {'load s':>7}")
    with tempfile.TemporaryDirectory(prefix="fleet-bench-report-") as tmp:
        for hosts in args.sizes:
            child = subprocess.run(
                [sys.executable, __file__, "--one", str(hosts), "--events",
                 str(args.events), "--dir", tmp]
                + (["--baseline"] if args.baseline else []),
                capture_output=True, text=True, check=True)
            row = json.loads(child.stdout)
            load = page_load_s(row["html"])
            print(f"{hosts:>6} {args.events:>7} {row['text_s']:>7.2f} "
                  f"{row['html_s']:>7.2f} {row['text_s'] + row['html_s']:>7.2f} "
                  f"{row['text_lines']:>6} {row['html_bytes'] / 1e6:>8.2f} "
                  f"{row['peak_rss_mb']:>8.0f} {load:>7.2f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
