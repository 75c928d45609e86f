"""cachestat: a file read twice, first uncached, gives known misses and hits."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from fleetrun import start_fleet, wait_for_window

pytestmark = pytest.mark.kernel

PAGES = 4096  # a 16 MiB file of 4 KiB pages


def read_all(path: Path) -> None:
    with open(path, "rb") as f:
        while f.read(1 << 20):
            pass


def test_cachestat_counts_misses_then_hits(tmp_path):
    data = tmp_path / "data"
    data.write_bytes(os.urandom(PAGES * 4096))
    fd = os.open(data, os.O_RDONLY)
    os.fsync(fd)
    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)  # out of the page cache
    os.close(fd)
    proc = start_fleet(tmp_path / "runs", "trace", "cachestat", "-d", "3s", "--json")
    wait_for_window(tmp_path / "runs", 1)
    read_all(data)  # misses: every page is read from disk into the cache
    read_all(data)  # hits: every page is already cached
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    entry = next(j for j in json.loads(out)["jobs"] if j["name"] == "cachestat")
    assert entry["kind"] == "events" and entry["unit"] == "pages"
    rows = entry["events"]
    assert 2 <= len(rows) <= 4  # 1 s intervals over a 3 s window
    assert all(r["host"] == "localhost" and r["secs"] > 0 for r in rows)
    total = {k: sum(r[k] for r in rows) for k in ("access", "miss", "hit")}
    assert total["miss"] >= PAGES
    assert total["access"] >= 2 * PAGES
    assert total["hit"] >= PAGES * 0.9
    assert total["hit"] == total["access"] - total["miss"]
    for r in rows:
        if r["access"]:
            expected = round(100.0 * max(r["hit"], 0) / r["access"], 1)
            assert r["hit_pct"] == expected
