"""Bounded input: hostile inventories and playbooks end in one clear error, fast.

Each case once hung, grew to gigabytes or gave a traceback (issue 8).
"""

from __future__ import annotations

import time

import pytest

from fleet.errors import BRIEF_CHARS, InputError, brief
from fleet.inventory import load_inventory
from fleet.inventory.patterns import MAX_HOSTS
from fleet.limits import MAX_DURATION_S
from fleet.playbook import parse_duration
from fleet.yamlsrc import MAX_DEPTH, MAX_NODES, load_text, read_input_text

BOMB = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{n}: &{n} [{', '.join(['*' + p] * 10)}]\n"
    for p, n in zip("abcdefgh", "bcdefghi")
)


def refused(call, *args) -> InputError:
    began = time.monotonic()
    with pytest.raises(InputError) as info:
        call(*args)
    assert time.monotonic() - began < 2
    return info.value


def test_an_alias_bomb_is_refused_at_its_line():
    err = refused(load_text, BOMB, "inv.yaml")
    assert err.line and 1 < err.line <= 10
    assert f"more than {MAX_NODES} items" in err.message


def test_a_few_aliases_are_fine():
    data = load_text("a: &a {k: 1}\nb: *a\nc: [*a, *a]\n", "x.yaml")
    assert data["c"] == [{"k": 1}, {"k": 1}]


DEEP_BLOCK = "x:\n" + "".join("  " * i + "- \n" for i in range(1, 200))


@pytest.mark.parametrize("text", ["x: " + "[" * 5000 + "]" * 5000, DEEP_BLOCK])
def test_deep_nesting_is_refused(text):
    err = refused(load_text, text, "x.yaml")
    assert f"nested more than {MAX_DEPTH} deep" in err.message


def test_a_huge_integer_names_its_line():
    err = refused(load_text, "a: 1\nb: " + "9" * 5000 + "\n", "x.yaml")
    assert err.line == 2


@pytest.mark.parametrize("entry", ["web[0:99999999]", "w[0:999][0:999]",
                                   "w[0:" + "9" * 5000 + "]"])
def test_huge_ranges_are_refused(tmp_path, entry):
    inv = tmp_path / "inv.ini"
    inv.write_text(f"[web]\n{entry}\n")
    err = refused(load_inventory, str(inv))
    assert err.line == 2 and len(err.message) < 200


def test_a_range_at_the_cap_is_fine(tmp_path):
    inv = tmp_path / "inv.ini"
    inv.write_text(f"w[1:{MAX_HOSTS}]\n")
    assert len(load_inventory(str(inv)).hosts) == MAX_HOSTS


@pytest.mark.parametrize("line", ["h:" + "9" * 5000, "h ansible_port=" + "9" * 5000])
def test_a_5000_digit_port_is_refused(tmp_path, line):
    inv = tmp_path / "inv.ini"
    inv.write_text(line + "\n")
    try:
        hosts = load_inventory(str(inv)).hosts
        host = next(iter(hosts.values()))
        refused(lambda: host.port)
    except InputError as err:
        assert err.line == 1


@pytest.mark.parametrize("path", ["/dev/zero", "/dev/null"])
def test_non_regular_inventory_files_are_refused(path):
    err = refused(load_inventory, path)
    assert "regular file" in err.message


def test_a_folder_that_is_no_inventory_is_refused_quickly():
    began = time.monotonic()
    err = refused(load_inventory, "/proc/self")  # a folder: the whole filesystem
    assert time.monotonic() - began < 2.0
    assert "is this really an inventory" in err.message or "regular file" in (
        err.message)


def test_a_huge_file_is_refused_before_reading(tmp_path):
    big = tmp_path / "big.yaml"
    with open(big, "wb") as f:
        f.truncate(64 * 1024 * 1024)
    assert "bytes" in refused(read_input_text, big).message


@pytest.mark.parametrize("value", ["99999999999999h", 1e300, "169h",
                                   f"{MAX_DURATION_S + 1}"])
def test_durations_have_a_stated_maximum(value):
    assert "at most 7 days (604800s)" in refused(parse_duration, value).message


def test_brief_cuts_values_and_never_expands_aliases():
    nest: list = []
    for _ in range(200):
        nest = [nest, nest]
    for value in (nest, "x" * 10_000, 10**5000 if False else 7, {"k" * 99: 1}):
        assert len(brief(value)) <= BRIEF_CHARS
