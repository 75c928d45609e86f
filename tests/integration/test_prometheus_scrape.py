"""A real Prometheus scrapes `fleet export openmetrics` output as OpenMetrics.

promtool check metrics (Debian's 2.42) lints the Prometheus text format only,
where OpenMetrics counters (`# TYPE x counter` with samples `x_total`) read
as untyped; Prometheus' own OpenMetrics parser is the real judge of that
format, so this test serves the text with the OpenMetrics content type and
reads the values back through Prometheus' query API.
"""

from __future__ import annotations

import http.server
import json
import os
import shutil
import socket
import subprocess
import threading
import time
import urllib.parse
import urllib.request

import pytest
from histrecords import fixture_record

from fleet.export.openmetrics import run_families, to_openmetrics

ADDRESS = "127.0.53.1"  # this suite's own loopback range
OM_TYPE = "application/openmetrics-text; version=1.0.0; charset=utf-8"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((ADDRESS, 0))
        return s.getsockname()[1]


@pytest.fixture
def metrics_server():
    """Serve fleet's OpenMetrics text of the fixture run on ADDRESS."""
    body = to_openmetrics(run_families(fixture_record())).encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the http.server API
            self.send_response(200)
            self.send_header("Content-Type", OM_TYPE)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer((ADDRESS, _free_port()), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"{ADDRESS}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def prometheus(tmp_path, metrics_server):
    """A Prometheus scraping the metrics server every second; its API base URL."""
    binary = shutil.which("prometheus")
    if binary is None:
        reason = "prometheus not installed (Debian package prometheus)"
        if os.environ.get("CI"):
            pytest.fail(f"prerequisite missing in CI: {reason}", pytrace=False)
        pytest.skip(reason)
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global: {scrape_interval: 1s, scrape_timeout: 1s}\n"
        "scrape_configs:\n"
        "  - job_name: fleet-export\n"
        "    honor_labels: true\n"
        f"    static_configs: [{{targets: ['{metrics_server}']}}]\n")
    port = _free_port()
    proc = subprocess.Popen(
        [binary, f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'db'}",
         f"--web.listen-address={ADDRESS}:{port}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        yield f"http://{ADDRESS}:{port}", proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _get(base: str, path: str, **query) -> dict:
    url = f"{base}{path}?{urllib.parse.urlencode(query)}"
    with urllib.request.urlopen(url, timeout=5) as answer:
        return json.loads(answer.read())


def _query(base: str, expr: str) -> list:
    return _get(base, "/api/v1/query", query=expr)["data"]["result"]


def _wait_for_scrape(base: str, proc: subprocess.Popen, timeout: float = 60) -> dict:
    """The target's state once Prometheus scraped it at least once."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        assert proc.poll() is None, proc.stderr.read()
        try:
            targets = _get(base, "/api/v1/targets")["data"]["activeTargets"]
        except OSError:
            targets = []
        if targets and targets[0]["lastScrape"] > "0001-01-01T00:00:00Z" \
                and targets[0]["health"] != "unknown":
            return targets[0]
        time.sleep(0.2)
    raise AssertionError("Prometheus did not scrape within the timeout")


def test_prometheus_ingests_the_openmetrics_export(prometheus):
    base, proc = prometheus
    target = _wait_for_scrape(base, proc)
    assert target["health"] == "up", target["lastError"]
    assert target["lastError"] == ""
    up = {r["metric"]["host"]: r["value"][1] for r in _query(base, "fleet_host_up")}
    assert up == {"db1": "1", "db2": "1", "db3": "1", "db4": "0"}
    lost = _query(base, 'fleet_opens_lost_events_total{host="db2"}')
    assert [r["value"][1] for r in lost] == ["2"]
    vda = fixture_record()["jobs"][0]["hosts"]["db1"]["slots"]["vda"]
    count = _query(base, 'fleet_disk_latency_seconds_count{host="db1",key="vda"}')
    assert [r["value"][1] for r in count] == [str(sum(vda))]
    # the buckets make a histogram Prometheus can take quantiles of
    p50 = _query(base, "histogram_quantile(0.5, "
                 'fleet_disk_latency_seconds_bucket{host="db1",key="vda"})')
    assert 31e-6 <= float(p50[0]["value"][1]) <= 127e-6
