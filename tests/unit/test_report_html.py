"""Unit tests for the HTML report's text: self-contained, untrusted text escaped.

What the page does is tested in a real browser (tests/browser)."""

from __future__ import annotations

import re

from fleetrun import load_report_fixture

from fleet.report.html import render_html
from fleet.results import build_results

EVIL = "</script><script>alert(1)</script><img src=x onerror=alert(2)>"


def test_untrusted_text_is_escaped_everywhere():
    meta, jobs, raws = load_report_fixture()
    raws[0]["name"] = "db1" + EVIL
    raws[3]["reason"] = EVIL
    raws[0]["outputs"]["syscalls"]["by_comm"]["rows"] = [{"key": EVIL, "value": 3}]
    jobs.append({"id": "cpu", "job": "profile", "summary": EVIL, "params": {},
                 "outputs": [{"name": "stacks", "kind": "stacks", "top": None}]})
    raws[1].setdefault("outputs", {})["cpu"] = {
        "stacks": {"kind": "table", "rows": [{"key": f"bash;{EVIL}", "value": 9}]}}
    html = render_html(build_results(meta, jobs, raws))
    assert "<script>alert" not in html and "<img" not in html
    # our own scripts only: the page's code and its JSON data blocks
    tags = re.findall(r"<script[^>]*>", html)
    assert set(tags) <= {"<script>", '<script type="application/json" class="data">',
                         '<script type="application/json" id="hostnames">'}


def test_nothing_is_fetched_from_anywhere():
    html = render_html(build_results(*load_report_fixture()))
    assert "default-src 'none'" in html
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)
    assert "@import" not in html and "url(" not in html


def test_a_baselines_frames_and_run_ids_are_escaped():
    from fleet.report.flamediff import StackBaseline

    meta, jobs, raws = load_report_fixture()
    jobs.append({"id": "cpu", "job": "profile", "summary": "", "params": {},
                 "outputs": [{"name": "stacks", "kind": "stacks", "top": None}]})
    raws[1].setdefault("outputs", {})["cpu"] = {
        "stacks": {"kind": "table", "rows": [{"key": f"bash;{EVIL}", "value": 9}]}}
    host = raws[1]["name"]
    baseline = StackBaseline(runs=((EVIL, 10**18),), stacks={"cpu": {
        host: {f"gone;{EVIL}": 5, f"bash;{EVIL}": 1}}})
    html = render_html(build_results(meta, jobs, raws), baseline)
    assert "previous run of this playbook" in html  # the baseline is drawn
    assert "<script>alert" not in html and "<img" not in html
    tags = re.findall(r"<script[^>]*>", html)
    assert set(tags) <= {"<script>", '<script type="application/json" class="data">',
                         '<script type="application/json" id="hostnames">'}
