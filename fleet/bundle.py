"""The agent bundle: a zipapp of agent/ plus wire.py, named by its content hash."""

from __future__ import annotations

import hashlib
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

from .resources import data_dir

_EPOCH = (1980, 1, 1, 0, 0, 0)  # fixed zip timestamps: same content, same bytes


@dataclass(frozen=True)
class Bundle:
    """The agent zipapp's bytes and its content-addressed file name."""

    data: bytes
    digest: str

    @property
    def name(self) -> str:
        """File name on the host: agent-<hash>.pyz."""
        return f"agent-{self.digest[:20]}.pyz"


def _members() -> list[tuple[str, bytes]]:
    """The files of the bundle, as (archive name, bytes), in a stable order."""
    agent = data_dir("agent")
    members = [("__main__.py", (agent / "__main__.py").read_bytes())]
    for path in sorted(agent.glob("*.py")):
        members.append((f"agent/{path.name}", path.read_bytes()))
    # C headers for jobs (#include <fleet.h>); agent/include.py writes them out.
    for path in sorted((data_dir("bpf") / "include").glob("*.h")):
        members.append((f"agent/include/{path.name}", path.read_bytes()))
    members.append(("wire.py", (Path(__file__).parent / "wire.py").read_bytes()))
    return members


def build_bundle() -> Bundle:
    """Build the agent zipapp in memory, byte-for-byte reproducible."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in _members():
            info = zipfile.ZipInfo(name, date_time=_EPOCH)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)
    data = buf.getvalue()
    return Bundle(data=data, digest=hashlib.sha256(data).hexdigest())


def source_name(text: str) -> str:
    """Content-addressed file name of a rendered C source on the host."""
    return f"src-{hashlib.sha256(text.encode()).hexdigest()[:20]}.c"
