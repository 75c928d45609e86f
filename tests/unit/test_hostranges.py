"""Unit tests for fleet.hostranges: host names folded into ranges."""

from __future__ import annotations

import pytest

from fleet.hostranges import fold_names


@pytest.mark.parametrize("names, folded", [
    ([f"db{i:03d}" for i in range(1, 163) if i != 117], "db[001-116,118-162]"),
    (["db117"], "db117"),
    (["web1", "web2", "web3", "web9", "web10"], "web[1-3,9-10]"),
    (["db099", "db100", "db101"], "db[099-101]"),
    (["db01", "db1", "db001"], "db01,db1,db001"),  # different widths stay apart
    (["a1b", "a2b", "localhost"], "a[1-2]b,localhost"),
    (["web03", "db1", "web04", "db2"], "web[03-04],db[1-2]"),  # first-seen order
    (["127.0.1.1", "127.0.1.2", "127.0.1.3"], "127.0.1.[1-3]"),
    (["db3", "db1", "db2", "db2"], "db[1-3]"),
    ([], ""),
])
def test_fold_names(names, folded):
    assert fold_names(names) == folded
