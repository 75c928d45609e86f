"""The differential flame graph in a real browser (Debian's chromium, Playwright).

Two synthetic runs of one playbook: the earlier one recorded in a history, the
later one's report.html written by `fleet report RUN --html --history PATH`,
as a user would. Between them ExecHashJoin took 5x the samples and
node_exporter nearly none. Every drawn frame's colour (as the browser computes
it) must say the direction fleet.report.flamediff gives that frame: red-ish
grew, blue-ish shrank, grey same; zoom, the host selector and the colour mode
must keep to it; nothing is fetched and nothing fails.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
from browserkit import ARGS, CHROMIUM, Page
from histrecords import GREW, SHRANK, profile_pair
from playwright.sync_api import sync_playwright

from fleet.cli import main
from fleet.history import History
from fleet.report.flamediff import frame_changes
from fleet.runfolder import write_run_folder
from fleet.runrecord import from_results


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def pair(tmp_path_factory) -> dict:
    """The later run's folder with its report.html drawn against the earlier run,
    and a folder of a run without any history."""
    tmp = tmp_path_factory.mktemp("flamediff")
    base, later = profile_pair()
    history = tmp / "history.sqlite"
    with History(history) as hist:
        hist.record(from_results(base))
    folder = tmp / later["run"]["id"]
    write_run_folder(later, str(folder))
    assert main(["report", str(folder), "--html", "--history", str(history)]) == 0
    lonely = tmp / "lonely"
    write_run_folder(later, str(lonely))
    assert main(["report", str(lonely), "--html", "--history",
                 str(tmp / "none.sqlite")]) == 0
    return {"base": base, "later": later, "html": folder / "report.html",
            "lonely": lonely / "report.html"}


def stacks_of(doc: dict, host: str | None = None) -> dict[str, int]:
    """A run's stacks of job cpu: fleet-wide (hosts of ``later``) or one host's."""
    out: Counter = Counter()
    for row in doc["jobs"][0]["rows"]:
        for h, n in row["hosts"].items():
            if host in (None, h):
                out[row["key"]] += n
    return dict(out)


def expected(pair: dict, host: str | None = None) -> dict[str, str]:
    """Each frame's direction by flamediff, for the fleet or one host."""
    return {path: c.direction for path, c in
            frame_changes(stacks_of(pair["base"], host),
                          stacks_of(pair["later"], host)).items()}


def drawn(page) -> list[dict]:
    """Every drawn frame: its path, width, and its fill as the browser computes it."""
    return page.locator("#job-cpu svg.flamesvg").evaluate("""svg =>
        Array.from(svg.querySelectorAll('rect')).map(r => {
          const names = [];
          for (let n = r.frame; n.parent; n = n.parent) names.unshift(n.name);
          return {id: r.dataset.id, path: names.join(';'),
                  w: +r.getAttribute('width'),
                  rgb: getComputedStyle(r).fill.match(/\\d+/g).map(Number)};
        })""")


def hue(rgb: list[int]) -> str:
    """What a reader sees: red-ish, blue-ish or grey."""
    r, g, b = rgb[:3]
    if r - b > 40 and r - g > 40:
        return "grew"
    if b - r > 40:
        return "shrank"
    assert max(rgb[:3]) - min(rgb[:3]) < 10, rgb
    return "same"


def assert_coloured_by_direction(page, want: dict[str, str]) -> list[dict]:
    frames = drawn(page)
    assert len(frames) > 5
    for frame in frames:
        if frame["path"]:  # the root, "all", never changes
            assert hue(frame["rgb"]) == want[frame["path"]], frame
        else:
            assert hue(frame["rgb"]) == "same"
    return frames


def test_frames_are_coloured_by_their_change_and_the_legend_names_the_baseline(
        pair, browser, tmp_path):
    page = Page(browser, pair["html"])
    section = page.page.locator("#job-cpu")
    legend = section.locator(".flamelegend").inner_text()
    assert f"previous run of this playbook, {pair['base']['run']['id']} (" in legend
    assert re.search(r"\(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\)", legend)
    assert "No baseline for db002" in legend
    want = expected(pair)
    frames = assert_coloured_by_direction(page.page, want)
    by_leaf = {f["path"].rsplit(";", 1)[-1]: f for f in frames}
    assert hue(by_leaf[GREW]["rgb"]) == "grew"
    assert hue(by_leaf[SHRANK]["rgb"]) == "shrank"
    # the largest change is the deepest colour: ExecutorRun (and exec_simple_query
    # above it, which has no other child) gained most here
    deepest = min(sum(f["rgb"]) for f in frames)
    assert sum(by_leaf["ExecutorRun"]["rgb"]) == deepest
    # the list of frames that changed most agrees, in the page's own words
    rows = section.locator("details.changes tbody tr")
    assert rows.locator("td:first-child").first.get_attribute("title").endswith(
        "ExecutorRun")
    assert section.locator("details.changes tr.shrank td:first-child").first\
        .text_content() == "os.ReadFile"  # node_exporter's leaf: its whole tower
    page.page.screenshot(path=str(tmp_path / "flame-diff.png"), full_page=True)
    assert page.errors == []
    assert page.requests == [pair["html"].as_uri()]
    page.page.close()


def test_clicking_a_frame_zooms_and_keeps_the_colours(pair, browser, tmp_path):
    page = Page(browser, pair["html"]).page
    width = float(page.locator("#job-cpu svg.flamesvg").get_attribute("width"))
    target = next(f for f in drawn(page) if f["path"].endswith(";exec_simple_query"))
    assert target["w"] < width * 0.9
    page.locator(f"#job-cpu svg.flamesvg rect[data-id='{target['id']}']").click()
    after = {f["id"]: f for f in assert_coloured_by_direction(page, expected(pair))}
    assert after[target["id"]]["w"] == pytest.approx(width)
    assert after[target["id"]]["rgb"] == target["rgb"]
    page.screenshot(path=str(tmp_path / "flame-diff-zoomed.png"), full_page=True)
    page.click("#job-cpu button.reset")
    assert {f["id"]: f for f in drawn(page)}[target["id"]]["w"] < width * 0.9
    page.close()


def test_one_hosts_graph_is_coloured_against_that_hosts_baseline(pair, browser):
    page = Page(browser, pair["html"]).page
    page.select_option("#job-cpu select.hostsel", "db003")
    want = expected(pair, "db003")
    assert want != expected(pair)  # a host's changes are not the fleet's
    assert_coloured_by_direction(page, want)
    # a host the baseline has no stacks for: drawn, uncoloured, and said so
    page.select_option("#job-cpu select.hostsel", "db002")
    assert all(hue(f["rgb"]) == "same" for f in drawn(page))
    assert "No baseline samples for db002" in page.locator(
        "#job-cpu .hostnote").inner_text()
    page.close()


def test_the_colour_mode_switches_back_to_frame_names(pair, browser):
    page = Page(browser, pair["html"]).page
    page.select_option("#job-cpu select.colourby", "name")
    assert page.locator("#job-cpu .flamelegend").is_hidden()
    hues = {hue_name(f["rgb"]) for f in drawn(page) if f["path"]}
    assert hues == {"warm"}
    page.fill("#job-cpu input.search", "^Exec")
    assert page.locator("#job-cpu svg.flamesvg rect.match").count() >= 2
    page.select_option("#job-cpu select.colourby", "diff")
    assert page.locator("#job-cpu .flamelegend").is_visible()
    page.fill("#job-cpu input.search", "")
    assert_coloured_by_direction(page, expected(pair))
    page.close()


def hue_name(rgb: list[int]) -> str:
    """The name mode's palette: reds, oranges and yellows, never blue or grey."""
    r, g, b = rgb[:3]
    return "warm" if r > b + 40 and r >= g else "other"


def test_without_history_the_section_says_so_in_one_line(pair, browser):
    page = Page(browser, pair["lonely"])
    section = page.page.locator("#job-cpu")
    assert section.locator(".colourby").count() == 0
    line = section.locator(".nobase").inner_text()
    assert line.startswith("No differential flame graph: no history at ")
    assert "\n" not in line
    assert {hue_name(f["rgb"]) for f in drawn(page.page) if f["path"]} == {"warm"}
    assert page.errors == []
    page.page.close()


def test_a_page_with_a_baseline_stays_small(pair):
    assert Path(pair["html"]).stat().st_size < 1.5 * Path(pair["lonely"]).stat().st_size
