"""Plain-text listings of inventory hosts."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterable
from typing import Any

from .model import Host, Inventory


def format_hosts(hosts: Iterable[Host], inventory: Inventory, width: int = 80) -> str:
    """A plain listing of hosts: name and groups, then ``key: value`` vars indented."""
    lines: list[str] = []
    for record in inventory.describe(hosts):
        groups = ", ".join(record["groups"]) or "-"
        lines += [""] if lines else []  # a blank line between hosts
        lines += _wrap(f"{record['name']}  groups: {groups}", width, "", " " * 4)
        for key in sorted(record["vars"]):
            text = f"{key}: {_render(record['vars'][key])}"
            lines += _wrap(text, width, " " * 4, " " * 8)
    return "\n".join(lines)


def _wrap(text: str, width: int, first: str, rest: str) -> list[str]:
    """Wrap text to width without splitting on hyphens (host names have many)."""
    lines = textwrap.wrap(
        text, width, initial_indent=first, subsequent_indent=rest,
        break_on_hyphens=False,
    )
    return lines or [first + text.strip()]


def _render(value: Any) -> str:
    """A var value as one line: text as is, anything else as JSON."""
    return value if isinstance(value, str) else json.dumps(value, default=str)
