"""A real prometheus-node-exporter reads fleet's textfile and serves its values."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import urllib.request

import pytest
from histrecords import fixture_record, record, shifted
from prometheus_client.parser import text_string_to_metric_families

from fleet.export.openmetrics import write_textfile

# This suite's own loopback range (other sessions use 127.0.1.x and 127.0.20+).
ADDRESS = "127.0.53.1"
NODE_EXPORTER = "prometheus-node-exporter"


def _free_port(address: str) -> int:
    with socket.socket() as s:
        s.bind((address, 0))
        return s.getsockname()[1]


def _scrape(url: str, proc: subprocess.Popen, timeout: float = 30) -> str:
    """GET url once the exporter answers."""
    end = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as answer:
                return answer.read().decode()
        except OSError:
            if proc.poll() is not None or time.monotonic() > end:
                raise
            time.sleep(0.1)


@pytest.fixture
def node_exporter(tmp_path):
    """Start node_exporter with only the textfile collector; stop that pid after."""
    binary = shutil.which(NODE_EXPORTER)
    if binary is None:
        reason = f"{NODE_EXPORTER} not installed (Debian package of that name)"
        if os.environ.get("CI"):
            pytest.fail(f"prerequisite missing in CI: {reason}", pytrace=False)
        pytest.skip(reason)
    textfiles = tmp_path / "textfiles"
    textfiles.mkdir()
    port = _free_port(ADDRESS)
    proc = subprocess.Popen(
        [binary, f"--web.listen-address={ADDRESS}:{port}",
         "--collector.disable-defaults", "--collector.textfile",
         f"--collector.textfile.directory={textfiles}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        yield textfiles, f"http://{ADDRESS}:{port}/metrics", proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _values(text: str, name: str) -> dict:
    return {tuple(sorted(s.labels.items())): s.value
            for f in text_string_to_metric_families(text) for s in f.samples
            if s.name == name}


def test_node_exporter_serves_the_textfile_values(node_exporter):
    textfiles, url, proc = node_exporter
    rec = fixture_record()
    write_textfile(rec, textfiles)
    other = record("r2", 5, {"web1": shifted([0, 4], 3)}, playbook="cpu sweep")
    write_textfile(other, textfiles)
    text = _scrape(url, proc)
    assert _values(text, "node_textfile_scrape_error") == {(): 0}
    up = _values(text, "fleet_host_up")
    assert up[(("host", "db4"), ("playbook", "disk-latency"))] == 0
    assert up[(("host", "db1"), ("playbook", "disk-latency"))] == 1
    assert up[(("host", "web1"), ("playbook", "cpu sweep"))] == 1
    vda = rec["jobs"][0]["hosts"]["db2"]["slots"]["vda"]
    buckets = _values(text, "fleet_disk_latency_seconds_bucket")
    labels = (("host", "db2"), ("job", "disk_latency"), ("key", "vda"))
    assert buckets[(*labels, ("le", "+Inf"), ("playbook", "disk-latency"))] == sum(vda)
    assert buckets[(*labels, ("le", "6.3e-05"), ("playbook", "disk-latency"))] == \
        sum(vda[:7])
    lost = _values(text, "fleet_opens_lost_events_total")
    assert lost[(("host", "db2"), ("job", "opens"),
                 ("playbook", "disk-latency"))] == 2
    # both playbooks' files were read, each exactly once
    mtimes = _values(text, "node_textfile_mtime_seconds")
    assert sorted(dict(k)["file"].rsplit("/", 1)[-1] for k in mtimes) == [
        "fleet_cpu_sweep.prom", "fleet_disk_latency.prom"]
