"""Unit tests for fleet.wire: message shapes, JSON Lines encoding, strict decoding."""

from __future__ import annotations

import json

import pytest

from fleet import wire


def test_protocol_constants():
    assert wire.VERSION == 1
    assert wire.TO_AGENT == ("plan", "start", "stop")
    assert wire.FROM_AGENT == (
        "hello",
        "ready",
        "error",
        "started",
        "events",
        "hist",
        "table",
        "done",
    )
    assert not set(wire.TO_AGENT) & set(wire.FROM_AGENT)
    assert wire.OUTCOMES[0] == "ok"
    assert len(set(wire.OUTCOMES)) == len(wire.OUTCOMES) == 14
    for outcome in ("compile-error", "attach-error", "no-bcc", "agent-crashed"):
        assert outcome in wire.OUTCOMES


@pytest.mark.parametrize(
    "kind, fields, expected",
    [
        ("stop", {}, {"v": 1, "type": "stop"}),
        ("start", {"start_at_ns": 17}, {"v": 1, "type": "start", "start_at_ns": 17}),
        (
            "error",
            {"job": None, "outcome": "no-bcc", "reason": "r"},
            {"v": 1, "type": "error", "job": None, "outcome": "no-bcc", "reason": "r"},
        ),
    ],
)
def test_message(kind, fields, expected):
    msg = wire.message(kind, **fields)
    assert msg == expected
    assert list(msg)[:2] == ["v", "type"]


@pytest.mark.parametrize(
    "msg, line",
    [
        ({"v": 1, "type": "stop"}, b'{"v":1,"type":"stop"}\n'),
        (
            {"v": 1, "type": "events", "events": [{"a": 1}], "lost": 0},
            b'{"v":1,"type":"events","events":[{"a":1}],"lost":0}\n',
        ),
        # non-ASCII stays UTF-8 (ensure_ascii=False), not \u escapes
        (
            {"v": 1, "type": "hello", "h": "h\u00f6st"},
            '{"v":1,"type":"hello","h":"h\u00f6st"}\n'.encode(),
        ),
        # a newline inside a value is escaped: still exactly one line
        (
            {"v": 1, "type": "error", "reason": "a\nb"},
            b'{"v":1,"type":"error","reason":"a\\nb"}\n',
        ),
    ],
)
def test_encode_exact_bytes(msg, line):
    data = wire.encode(msg)
    assert data == line
    assert data.count(b"\n") == 1 and data.endswith(b"\n")


@pytest.mark.parametrize("kind", wire.TO_AGENT + wire.FROM_AGENT)
def test_round_trip_every_type(kind):
    msg = wire.message(kind, n=3, s="x\u00e9", nested={"k": [1, None, True]})
    assert wire.decode(wire.encode(msg)) == msg
    # str input (already decoded) works the same as bytes
    assert wire.decode(wire.encode(msg).decode()) == msg


def test_decode_accepts_line_without_newline():
    assert wire.decode(b'{"v":1,"type":"stop"}') == {"v": 1, "type": "stop"}


@pytest.mark.parametrize(
    "line, error",
    [
        (b"", "not JSON: ''"),
        (b"hello\n", "not JSON: 'hello\\n'"),
        (b"\xff\xfe\n", "not JSON: '\ufffd\ufffd\\n'"),  # bad UTF-8 -> replaced
        (b"[1, 2]\n", "not a message object: '[1, 2]\\n'"),
        (b'"stop"\n', "not a message object: '\"stop\"\\n'"),
        (b'{"v":1}\n', "not a message object: '{\"v\":1}\\n'"),
        (b'{"type":"stop"}\n', "protocol version None, expected 1"),
        (b'{"v":2,"type":"stop"}\n', "protocol version 2, expected 1"),
        (b'{"v":"1","type":"stop"}\n', "protocol version '1', expected 1"),
        (b'{"v":1,"type":"bogus"}\n', "unknown message type 'bogus'"),
        (b'{"v":1,"type":null}\n', "unknown message type None"),
    ],
)
def test_decode_rejects(line, error):
    with pytest.raises(wire.ProtocolError) as info:
        wire.decode(line)
    assert str(info.value) == error


def test_decode_error_quotes_at_most_200_chars():
    line = "x" * 1000
    with pytest.raises(wire.ProtocolError) as info:
        wire.decode(line)
    assert str(info.value) == "not JSON: %r" % ("x" * 200)


def test_encode_of_decoded_line_is_stable():
    line = wire.encode(
        wire.message("table", job="j", output="o", rows=[{"key": "k", "value": 2}])
    )
    assert wire.encode(wire.decode(line)) == line
    assert json.loads(line) == wire.decode(line)
