"""The HTML report in a real browser: Debian's chromium driven by Playwright.

Each report.html is loaded from file:// with the network cut off by the page's
own policy; the tests check what a reader sees and does: heatmap rows and
cells against results.json, flame graph zoom and search, the host filter,
sorting. Screenshots are kept in the pytest tmp dir as artifacts.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from browserkit import ARGS, CHROMIUM, Page
from fleetrun import load_report_fixture
from playwright.sync_api import sync_playwright
from synthrun import synthetic_results

from fleet.report.html import render_html
from fleet.results import build_results, load_results
from fleet.runfolder import write_run_folder


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def reports(tmp_path_factory) -> dict[str, tuple[Path, dict]]:
    """Run folders: the recorded 4-host fixture (written as a run writes it) and
    a synthetic 200-host run with every kind of output."""
    out = {}
    small = tmp_path_factory.mktemp("fixture")
    write_run_folder(build_results(*load_report_fixture()), str(small))
    out["fixture"] = (small / "report.html", load_results(str(small / "results.json")))
    big = tmp_path_factory.mktemp("fleet200")
    results = synthetic_results(200, 20_000)
    (big / "report.html").write_text(render_html(results), encoding="utf-8")
    out["fleet200"] = (big / "report.html", results)
    return out


@pytest.fixture(params=["fixture", "fleet200"])
def loaded(request, browser, reports):
    path, results = reports[request.param]
    page = Page(browser, path)
    yield page, results, request.param
    page.page.close()


def job_section(page, name: str):
    return page.locator(f"section.job[id='job-{name}']")


def test_loads_without_errors_or_network(loaded, tmp_path):
    page, _, name = loaded
    page.page.screenshot(path=str(tmp_path / f"{name}.png"), full_page=True)
    assert page.errors == []
    assert [u for u in page.requests if not u.startswith("file://")] == []
    assert len(page.requests) == 1  # the page itself, nothing else
    assert (tmp_path / f"{name}.png").stat().st_size > 10_000


def test_heatmap_rows_and_cells_equal_results(loaded):
    page, results, _ = loaded
    for entry in results["jobs"]:
        if entry["kind"] != "histogram":
            continue
        heat = job_section(page.page, entry["name"]).locator("svg.heat").first
        rows = heat.evaluate("""svg => Array.from(svg.querySelectorAll('g.hrow'))
            .map(g => [g.dataset.host, Array.from(g.querySelectorAll('rect'))
                       .map(r => [+r.dataset.s, +r.dataset.n])])""")
        assert sorted(h for h, _ in rows) == sorted(entry["hosts"])
        for host, cells in rows:
            slots = entry["hosts"][host]["slots"]
            assert cells == [[k, n] for k, n in enumerate(slots) if n], host


def test_heatmap_puts_outliers_on_top(reports, browser):
    path, results = reports["fleet200"]
    page = Page(browser, path).page
    hosts = page.locator("#job-disk_latency svg.heat").first.evaluate(
        "svg => Array.from(svg.querySelectorAll('g.hrow')).map(g => g.dataset.host)")
    flagged = [o["host"] for o in results["jobs"][0]["outliers"]]
    assert len(flagged) == 3
    assert sorted(hosts[:3]) == sorted(flagged)
    page.close()


def test_host_filter_hides_rows(reports, browser):
    path, results = reports["fleet200"]
    page = Page(browser, path).page
    page.fill("#hostfilter", "db00[1-5]$")
    section = page.locator("#job-disk_latency")
    visible = section.evaluate(
        "s => Array.from(s.querySelector('svg.heat').querySelectorAll("
        "'g.hrow:not(.hidden)')).map(g => g.dataset.host)")
    assert sorted(visible) == ["db001", "db002", "db003", "db004", "db005"]
    table_rows = section.locator("table.stats tbody tr:visible")
    assert table_rows.count() == 5
    assert page.locator("#filtercount").inner_text() == "5 of 200 hosts"
    # rows close up: the fifth visible row sits right under the fourth
    ys = section.evaluate("s => Array.from(s.querySelector('svg.heat')"
                          ".querySelectorAll('g.hrow:not(.hidden)'))"
                          ".map(g => g.transform.baseVal[0].matrix.f)")
    assert [b - a for a, b in zip(ys, ys[1:])] == [12] * 4
    page.fill("#hostfilter", "")
    assert section.locator("table.stats tbody tr:visible").count() == 198
    page.close()


def flame_rects(page):
    return page.locator("#job-cpu svg.flamesvg").evaluate(
        "svg => Array.from(svg.querySelectorAll('rect')).map(r => ({id: r.dataset.id,"
        " name: r.frame.name, w: +r.getAttribute('width'), match:"
        " r.classList.contains('match')}))")


def test_flame_graph_click_zooms_to_full_width(reports, browser, tmp_path):
    path, _ = reports["fleet200"]
    page = Page(browser, path).page
    width = float(page.locator("#job-cpu svg.flamesvg").get_attribute("width"))
    target = next(r for r in flame_rects(page) if r["name"] == "exec_simple_query")
    assert target["w"] < width * 0.9
    page.locator(f"#job-cpu svg.flamesvg rect[data-id='{target['id']}']").click()
    after = {r["id"]: r for r in flame_rects(page)}
    assert after[target["id"]]["w"] == pytest.approx(width)
    # its children now share the whole width between them
    kids = [r for r in flame_rects(page) if r["name"] in ("ExecutorRun",)]
    assert kids and kids[0]["w"] == pytest.approx(width)
    page.screenshot(path=str(tmp_path / "flame-zoomed.png"), full_page=True)
    page.click("#job-cpu button.reset")
    assert {r["id"]: r for r in flame_rects(page)}[target["id"]]["w"] < width * 0.9
    page.close()


def test_flame_graph_search_highlights_matches(reports, browser):
    path, results = reports["fleet200"]
    page = Page(browser, path).page
    page.fill("#job-cpu input.search", "^Exec")
    rects = flame_rects(page)
    matched = [r for r in rects if r["match"]]
    assert matched and all(re.match("^Exec", r["name"]) for r in matched)
    assert not any(r["match"] for r in rects if not re.match("^Exec", r["name"]))
    rows = next(e for e in results["jobs"] if e["name"] == "cpu")["rows"]
    share = sum(r["total"] for r in rows if ";Exec" in r["key"]) / sum(
        r["total"] for r in rows)
    text = page.locator("#job-cpu .matched").inner_text()
    assert text == f"matched {100 * share:.1f}% of samples"
    page.close()


def test_flame_graph_host_selector_shows_one_host(reports, browser):
    path, results = reports["fleet200"]
    page = Page(browser, path).page
    page.select_option("#job-cpu select.hostsel", "db007")
    rows = next(e for e in results["jobs"] if e["name"] == "cpu")["rows"]
    total = sum(r["hosts"].get("db007", 0) for r in rows)
    root = page.locator("#job-cpu svg.flamesvg").evaluate(
        "svg => svg.querySelector('rect').frame.value")
    assert root == total
    page.close()


def test_percentile_table_sorts(reports, browser):
    path, results = reports["fleet200"]
    page = Page(browser, path).page
    table = page.locator("#job-runq table.stats")
    cells = table.locator("tbody tr td:nth-child(2)")
    table.locator("th", has_text="count").click()
    counts = [int(c) for c in cells.all_inner_texts()]
    assert counts == sorted(counts)
    table.locator("th", has_text="count").click()
    counts = [int(c) for c in cells.all_inner_texts()]
    assert counts == sorted(counts, reverse=True)
    page.close()


def test_events_are_capped_and_filterable(reports, browser):
    path, results = reports["fleet200"]
    page = Page(browser, path).page
    section = page.locator("#job-opens")
    assert section.locator("table.events tbody tr").count() == 1000
    assert "first 1000 of 20000" in section.inner_text()
    section.locator("input.textfilter").fill("ENOENT")
    shown = section.locator("table.events tbody tr:visible")
    expected = sum(1 for e in results["jobs"][1]["events"][:1000] if e["ret"] == -2)
    assert shown.count() == expected > 0
    page.close()


def test_interval_heatmap_draws(reports, browser):
    path, _ = reports["fleet200"]
    page = Page(browser, path).page
    painted = page.locator("#job-disk_latency div.timeheat canvas").evaluate(
        "c => { const d = c.getContext('2d')"
        ".getImageData(0, 0, c.width, c.height).data; let n = 0;"
        " for (let i = 3; i < d.length; i += 4) if (d[i]) n++; return n; }")
    assert painted > 1000
    page.close()
