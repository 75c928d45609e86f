"""Unit tests for agent.decode: block dev numbers, field decoders, ctypes -> JSON."""

from __future__ import annotations

import ctypes
import json
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
for _p in (str(REPO), str(REPO / "fleet")):
    if _p not in sys.path:
        sys.path.append(_p)

from agent import decode  # noqa: E402
from agent.decode import (  # noqa: E402
    Decoders,
    block_devices,
    disk_dev,
    plain,
    struct_dict,
)


def dev(major: int, minor: int) -> int:
    return (major << 20) | minor


@pytest.fixture
def sys_block(tmp_path):
    """A fake /sys/class/block: disks, partitions, and entries to skip."""
    root = tmp_path / "block"
    for name, number in [
        ("sda", "8:0\n"),
        ("sda1", "8:1\n"),
        ("nvme0n1", "259:0\n"),
        ("nvme0n1p2", "259:2\n"),
        ("vda", "254:0"),
        ("dm-0", "253:0\n"),
        ("loop7", "7:7\n"),
        ("big", "4095:1048575\n"),
    ]:
        (root / name).mkdir(parents=True)
        (root / name / "dev").write_text(number)
    (root / "nodev").mkdir()  # no dev file
    (root / "garbage").mkdir()
    (root / "garbage" / "dev").write_text("not a number\n")
    (root / "threeparts").mkdir()
    (root / "threeparts" / "dev").write_text("1:2:3\n")
    (root / "stray-file").write_text("")
    return root


def test_block_devices(sys_block):
    assert block_devices(str(sys_block)) == {
        dev(8, 0): "sda",
        dev(8, 1): "sda1",
        dev(259, 0): "nvme0n1",
        dev(259, 2): "nvme0n1p2",
        dev(254, 0): "vda",
        dev(253, 0): "dm-0",
        dev(7, 7): "loop7",
        dev(4095, 1048575): "big",
    }


@pytest.mark.parametrize(
    "major, minor, number",
    [
        (8, 0, 8388608),
        (8, 1, 8388609),
        (259, 2, 271581186),
        (254, 0, 266338304),
        (4095, 1048575, 0xFFFFFFFF),
    ],
)
def test_dev_encoding_is_major_shift_20_or_minor(major, minor, number):
    assert (
        dev(major, minor) == number
    )  # the kernel's MKDEV, as block tracepoints see it


def test_block_devices_missing_dir(tmp_path):
    assert block_devices(str(tmp_path / "nope")) == {}


@pytest.mark.parametrize(
    "name, expected",
    [
        ("sda", 8388608),
        ("sda1", 8388609),
        ("nvme0n1p2", 271581186),
        ("vda", 266338304),
        ("sdz", None),
        ("nodev", None),
        ("garbage", None),
        ("", None),
    ],
)
def test_disk_dev(sys_block, name, expected):
    assert disk_dev(name, str(sys_block)) == expected


def test_disk_dev_missing_dir(tmp_path):
    assert disk_dev("sda", str(tmp_path / "nope")) is None


# ---------------------------------------------------------------------------
# Decoders


@pytest.fixture
def fake_disks(monkeypatch):
    """Decoders.disk reads the real /sys/class/block: replace it, count reads."""
    reads = []
    table = {dev(8, 0): "sda", dev(259, 0): "nvme0n1"}

    def fake(sys_block="/sys/class/block"):
        reads.append(sys_block)
        return dict(table)

    monkeypatch.setattr(decode, "block_devices", fake)
    return reads, table


@pytest.mark.parametrize(
    "number, name",
    [
        (dev(8, 0), "sda"),
        (dev(259, 0), "nvme0n1"),
        (dev(8, 17), "8:17"),
        (dev(4095, 1048575), "4095:1048575"),
        (0, "0:0"),
    ],
)
def test_disk_decoder(fake_disks, number, name):
    assert Decoders().disk(number) == name


def test_disk_decoder_caches_known_and_rereads_on_unknown(fake_disks):
    reads, table = fake_disks
    d = Decoders()
    assert d.disk(dev(8, 0)) == "sda"
    assert d.disk(dev(8, 0)) == "sda"
    assert len(reads) == 1
    table[dev(8, 16)] = "sdb"  # hot-plugged after the first read
    assert d.disk(dev(8, 16)) == "sdb"
    assert len(reads) == 2
    assert d.disk(dev(8, 16)) == "sdb"
    assert len(reads) == 2


@pytest.mark.parametrize(
    "record, spec, expected",
    [
        # the renaming decoder "disk": field dev becomes field disk (dev is gone)
        ({"dev": dev(8, 0), "pid": 7}, {"dev": "disk"}, {"pid": 7, "disk": "sda"}),
        ({"dev": dev(8, 5), "pid": 7}, {"dev": "disk"}, {"pid": 7, "disk": "8:5"}),
        ({"disk": dev(259, 0)}, {"disk": "disk"}, {"disk": "nvme0n1"}),
        # no decode spec, or a field the record lacks: unchanged
        ({"dev": 1}, None, {"dev": 1}),
        ({"dev": 1}, {}, {"dev": 1}),
        ({"pid": 1}, {"dev": "disk"}, {"pid": 1}),
        # other decoders keep the field's name
        (
            {"saddr": [10, 0, 0, 1], "port": 80},
            {"saddr": "ipv4"},
            {"port": 80, "saddr": "10.0.0.1"},
        ),
        ({"daddr": [0] * 15 + [1]}, {"daddr": "ipv6"}, {"daddr": "::1"}),
        ({"a": 0x0100007F}, {"a": "ip"}, {"a": "127.0.0.1"}),
        # an unknown decoder name: value and name unchanged
        ({"x": 5, "y": 6}, {"x": "nosuch"}, {"x": 5, "y": 6}),
        ({"x": 5}, {"x": "apply"}, {"x": 5}),
        # several at once
        (
            {"dev": dev(8, 0), "saddr": [192, 168, 1, 2], "n": 1},
            {"dev": "disk", "saddr": "ip"},
            {"n": 1, "disk": "sda", "saddr": "192.168.1.2"},
        ),
    ],
)
def test_decoders_apply(fake_disks, record, spec, expected):
    out = Decoders().apply(record, spec)
    assert out == expected
    assert list(out) == list(expected)  # decoded fields move to the end
    assert out is record  # in place


@pytest.mark.parametrize(
    "value, text",
    [
        ([127, 0, 0, 1], "127.0.0.1"),
        (b"\xc0\xa8\x00\x01", "192.168.0.1"),
        (0x0100007F, "127.0.0.1"),  # a u32 read from network byte order memory
        (0, "0.0.0.0"),
        ([0x20, 0x01, 0x0D, 0xB8] + [0] * 11 + [1], "2001:db8::1"),
        ([1, 2, 3], "[1, 2, 3]"),  # not an address: shown as is
        ("x", "x"),
    ],
)
def test_ip_decoder(value, text):
    assert decode.ip_text(value) == text
    assert (
        Decoders.ip(value) == Decoders().ipv4(value) == Decoders().ipv6(value) == text
    )


def test_renaming_decoders():
    assert decode.RENAMING == ("disk",)


# ---------------------------------------------------------------------------
# plain / struct_dict


class Inner(ctypes.Structure):
    _fields_ = [("a", ctypes.c_uint32), ("b", ctypes.c_char * 4)]


class Event(ctypes.Structure):
    _fields_ = [
        ("ts", ctypes.c_uint64),
        ("pid", ctypes.c_uint32),
        ("delta", ctypes.c_int32),
        ("comm", ctypes.c_char * 16),
        ("raw", ctypes.c_ubyte * 4),
        ("sbytes", ctypes.c_byte * 3),
        ("slots", ctypes.c_uint64 * 3),
        ("inner", Inner),
        ("pair", Inner * 2),
        ("grid", (ctypes.c_int * 2) * 2),
        ("flags", ctypes.c_uint8, 3),
        ("more", ctypes.c_uint8, 5),
    ]


def make_event() -> Event:
    ev = Event()
    ev.ts = 2**64 - 1
    ev.pid = 4242
    ev.delta = -5
    ev.comm = b"dd"
    ev.raw[:] = [ord("a"), ord("b"), 0, ord("z")]
    ev.sbytes[:] = [ord("x"), ord("y"), ord("z")]
    ev.slots[:] = [1, 0, 3]
    ev.inner.a = 9
    ev.inner.b = b"sdaX"
    ev.pair[0].a, ev.pair[0].b = 1, b"p"
    ev.pair[1].a, ev.pair[1].b = 2, b"q"
    ev.grid[0][:] = [1, 2]
    ev.grid[1][:] = [3, 4]
    ev.flags = 5
    ev.more = 17
    return ev


def test_struct_dict_nested():
    record = struct_dict(make_event())
    assert record == {
        "ts": 2**64 - 1,
        "pid": 4242,
        "delta": -5,
        "comm": "dd",
        "raw": [97, 98, 0, 122],  # u8[]: numbers
        "sbytes": [120, 121, 122],
        "slots": [1, 0, 3],
        "inner": {"a": 9, "b": "sdaX"},
        "pair": [{"a": 1, "b": "p"}, {"a": 2, "b": "q"}],
        "grid": [[1, 2], [3, 4]],
        "flags": 5,
        "more": 17,
    }
    assert list(record) == [f[0] for f in Event._fields_]
    json.dumps(record)  # a JSON value all the way down


def _char_array(data: bytes, size: int):
    arr = (ctypes.c_char * size)()
    arr.raw = data
    return arr


@pytest.mark.parametrize(
    "value, expected",
    [
        (ctypes.c_uint64(2**64 - 1), 2**64 - 1),
        (ctypes.c_int32(-3), -3),
        (ctypes.c_uint32(7), 7),
        (ctypes.c_bool(True), True),
        (12, 12),
        ("text", "text"),
        (None, None),
        (b"abc\0def", "abc"),
        (b"abc", "abc"),
        (b"\0junk", ""),
        (b"\xffok\0", "\ufffdok"),  # bad UTF-8 replaced, never raises
        (_char_array(b"bash\0\0\0\0", 8), "bash"),
        (_char_array(b"full-16-chars!!!", 16), "full-16-chars!!!"),
        (_char_array(b"ab\0cd\0\0\0", 8), "ab"),
        ((ctypes.c_ubyte * 3)(104, 105, 0), [104, 105, 0]),  # u8[]: numbers
        ((ctypes.c_byte * 2)(104, -1), [104, -1]),
        ((ctypes.c_uint32 * 3)(1, 2, 3), [1, 2, 3]),
        ((ctypes.c_uint16 * 0)(), []),
    ],
)
def test_plain(value, expected):
    assert plain(value) == expected
    assert type(plain(value)) is type(expected)


def test_plain_on_a_struct_is_struct_dict():
    inner = Inner(3, b"ab")
    assert plain(inner) == {"a": 3, "b": "ab"}


class Either(ctypes.Union):
    _fields_ = [("u", ctypes.c_uint32), ("b", ctypes.c_char * 4)]


class WithUnion(ctypes.Structure):
    _fields_ = [("pid", ctypes.c_uint32), ("addr", Either)]


def test_plain_on_a_union_is_a_dict():
    value = WithUnion(7, Either(0x64636261))
    record = struct_dict(value)
    json.dumps(record)
    assert record == {"pid": 7, "addr": {"u": 0x64636261, "b": "abcd"}}
