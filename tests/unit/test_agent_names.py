"""Unit tests for the agent's number -> name decoders and attach globs."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
for _p in (str(ROOT), str(ROOT / "fleet")):
    if _p not in sys.path:
        sys.path.append(_p)

from agent import names  # noqa: E402
from agent.decode import Decoders  # noqa: E402
from agent.probes import glob_regex  # noqa: E402

FORMAT = """name: kfree_skb
print fmt: "skbaddr=%p reason: %s", REC->skbaddr, __print_symbolic(REC->reason,
 { 2, "NOT_SPECIFIED" }, { 3, "NO_SOCKET" }, { 8, "PKT_TOO_SMALL" })
"""


@pytest.mark.parametrize("flags, text", [
    (os.O_RDONLY, "O_RDONLY"),
    (os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC,
     "O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC"),
    (os.O_RDWR | os.O_SYNC, "O_RDWR|O_SYNC"),          # not O_DSYNC|0x101000
    (os.O_RDWR | os.O_TMPFILE, "O_RDWR|O_TMPFILE"),    # not O_DIRECTORY|...
    (1 << 30 | os.O_RDONLY, "O_RDONLY|0x40000000"),
])
def test_open_flags(flags: int, text: str) -> None:
    assert names.open_flags(flags) == text


@pytest.mark.parametrize("fn, value, text", [
    (names.tcp_flags, 0x12, "SYN|ACK"),
    (names.tcp_flags, 0x02, "SYN"),
    (names.tcp_flags, 0, ""),
    (names.signal_name, 9, "SIGKILL"),
    (names.signal_name, 0, ""),
    (names.signal_name, 99, "SIG99"),
    (names.capability, 0, "CAP_CHOWN"),
    (names.capability, 21, "CAP_SYS_ADMIN"),
    (names.capability, 40, "CAP_CHECKPOINT_RESTORE"),
    (names.capability, 63, "CAP_63"),
    (names.softirq, 3, "net_rx"),
    (names.softirq, 12, "vec12"),
])
def test_numbers_become_names(fn, value: int, text: str) -> None:
    assert fn(value) == text


def test_drop_reasons_come_from_the_hosts_format(tmp_path: Path) -> None:
    events = tmp_path / "events" / "skb" / "kfree_skb"
    events.mkdir(parents=True)
    (events / "format").write_text(FORMAT)
    assert names._reasons_of(str(tmp_path)) == {2: "NOT_SPECIFIED", 3: "NO_SOCKET",
                                                8: "PKT_TOO_SMALL"}
    assert names._reasons_of(str(tmp_path / "none")) == {0: ""}


@pytest.mark.parametrize("glob, hits, misses", [
    ("vfs_*", ["vfs_read", "vfs_"], ["do_vfs_read", "vfs"]),
    ("tcp_?et*", ["tcp_set_state", "tcp_get_info"], ["tcp_send"]),
    ("a.b", ["a.b"], ["axb"]),
])
def test_glob_regex_is_anchored_and_literal(glob: str, hits: list,
                                            misses: list) -> None:
    regex = re.compile(glob_regex(glob))
    assert all(regex.match(h) for h in hits)
    assert not any(regex.match(m) for m in misses)


def test_usym_consumes_the_pid_beside_the_address(monkeypatch) -> None:
    monkeypatch.setattr(names, "usym", lambda addr, pid: f"fn@{addr:x}/{pid}")
    record = {"ip": 0x10, "pid": 7, "slot": 3}
    assert Decoders().apply(record, {"ip": "usym"}) == {"slot": 3, "ip": "fn@10/7"}
