"""Where the agent sources and job folders are: inside the wheel, or the checkout."""

from __future__ import annotations

from pathlib import Path

_PKG = Path(__file__).resolve().parent


def data_dir(name: str) -> Path:
    """The ``agent`` or ``bpf`` directory (wheel data first, then the checkout)."""
    for candidate in (_PKG / "_data" / name, _PKG.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"fleet installation is missing its {name}/ directory")
