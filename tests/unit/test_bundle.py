"""Unit tests for fleet.bundle: the reproducible, content-named agent zipapp."""

from __future__ import annotations

import hashlib
import io
import re
import subprocess
import textwrap
import zipfile
from pathlib import Path

import pytest

from fleet import bundle as bundle_mod
from fleet.bundle import Bundle, build_bundle, source_name
from fleet.resources import data_dir

AGENT = data_dir("agent")
REPO = Path(__file__).resolve().parent.parent.parent
WIRE = Path(bundle_mod.__file__).with_name("wire.py")


def _zip(data: bytes) -> zipfile.ZipFile:
    return zipfile.ZipFile(io.BytesIO(data))


def test_build_twice_gives_identical_bytes_and_name():
    first, second = build_bundle(), build_bundle()
    assert first.data == second.data
    assert first.digest == second.digest
    assert first.name == second.name


def test_digest_and_name_come_from_the_content():
    b = build_bundle()
    assert b.digest == hashlib.sha256(b.data).hexdigest()
    assert re.fullmatch(r"agent-[0-9a-f]{20}\.pyz", b.name)
    assert b.name == f"agent-{b.digest[:20]}.pyz"


def test_name_of_a_given_digest():
    assert Bundle(data=b"", digest="0123456789abcdef0123456789abcdef").name == (
        "agent-0123456789abcdef0123.pyz"
    )


def test_zip_members_and_contents():
    b = build_bundle()
    assert zipfile.is_zipfile(io.BytesIO(b.data))
    with _zip(b.data) as zf:
        assert zf.testzip() is None
        names = zf.namelist()
        for name in (
            "__main__.py",
            "agent/__init__.py",
            "agent/session.py",
            "agent/backend.py",
            "agent/decode.py",
            "agent/headers.py",
            "agent/facts.py",
            "wire.py",
        ):
            assert name in names
        assert names[0] == "__main__.py" and names[-1] == "wire.py"
        assert len(names) == len(set(names))
        # the zipapp's entry point is the agent's own __main__
        assert zf.read("__main__.py") == (AGENT / "__main__.py").read_bytes()
        assert zf.read("agent/session.py") == (AGENT / "session.py").read_bytes()
        assert zf.read("wire.py") == WIRE.read_bytes()
        for info in zf.infolist():
            assert info.date_time == (1980, 1, 1, 0, 0, 0), info.filename
            assert info.compress_type == zipfile.ZIP_DEFLATED, info.filename
            assert info.external_attr == 0o644 << 16, info.filename
        # every module is valid Python (compiled, never executed)
        for name in names:
            if name.endswith(".py"):
                compile(zf.read(name), name, "exec")
        # the jobs' shared C header travels with the agent
        header = data_dir("bpf") / "include" / "fleet.h"
        assert zf.read("agent/include/fleet.h") == header.read_bytes()


def test_members_are_exactly_the_agent_py_files_in_sorted_order(tmp_path, monkeypatch):
    agent = tmp_path / "agent"
    agent.mkdir()
    (agent / "__main__.py").write_text("print('main')\n")
    (agent / "zeta.py").write_text("Z = 1\n")
    (agent / "alpha.py").write_text("A = 1\n")
    (agent / "README.md").write_text("not shipped\n")
    (agent / "__pycache__").mkdir()
    (agent / "__pycache__" / "alpha.cpython-311.pyc").write_bytes(b"\0")
    include = tmp_path / "bpf" / "include"
    include.mkdir(parents=True)
    (include / "fleet.h").write_text("#define X 1\n")
    (include / "notes.txt").write_text("not shipped\n")
    monkeypatch.setattr(bundle_mod, "data_dir",
                        lambda name: {"agent": agent, "bpf": tmp_path / "bpf"}[name])
    b = build_bundle()
    with _zip(b.data) as zf:
        assert zf.namelist() == [
            "__main__.py",
            "agent/__main__.py",
            "agent/alpha.py",
            "agent/zeta.py",
            "agent/include/fleet.h",
            "wire.py",
        ]
        assert zf.read("__main__.py") == b"print('main')\n"
        assert zf.read("agent/alpha.py") == b"A = 1\n"


def test_changing_an_agent_file_changes_the_name(tmp_path, monkeypatch):
    agent = tmp_path / "agent"
    agent.mkdir()
    (agent / "__main__.py").write_text("print('main')\n")
    monkeypatch.setattr(bundle_mod, "data_dir",
                        lambda name: agent if name == "agent" else tmp_path / "bpf")
    before = build_bundle()
    (agent / "__main__.py").write_text("print('main 2')\n")
    after = build_bundle()
    assert before.name != after.name
    assert before.data != after.data
    (agent / "__main__.py").write_text("print('main')\n")
    assert build_bundle() == before  # same content again: same bytes, same name


@pytest.mark.parametrize(
    "text, expected",
    [
        ("", "src-e3b0c44298fc1c149afb.c"),  # sha256 of the empty string
        ("abc", "src-ba7816bf8f01cfea4141.c"),  # sha256("abc"), FIPS 180-2 vector
    ],
)
def test_source_name(text, expected):
    assert source_name(text) == expected


def test_source_name_differs_by_content_and_hashes_utf8():
    assert source_name("int a;") != source_name("int b;")
    text = "// h\u00f6st\n"
    assert (
        source_name(text)
        == f"src-{hashlib.sha256(text.encode('utf-8')).hexdigest()[:20]}.c"
    )


def test_the_verifying_loader_serves_the_bundled_headers(tmp_path):
    # The agent runs from verified bytes in memory (agent/loader.py): its
    # modules still find the job headers (<fleet.h>) packed beside them.
    bundle = build_bundle()
    code = textwrap.dedent(f"""
        import sys
        sys.path[:0] = [{str(REPO / "agent")!r}]
        import loader
        sys.path[:] = [p for p in sys.path if not p.endswith("agent")]
        importer = loader.BundleImporter(open({str(tmp_path / "b.pyz")!r}, "rb").read())
        sys.meta_path.insert(0, importer)
        import agent.include
        assert agent.include.__spec__.loader is importer
        data = agent.include.header_bytes("fleet.h")
        assert data == open({str(REPO / "bpf" / "include" / "fleet.h")!r}, "rb").read()
        print("ok")
    """)
    (tmp_path / "b.pyz").write_bytes(bundle.data)
    done = subprocess.run(["/usr/bin/python3", "-I", "-c", code], cwd=tmp_path,
                          capture_output=True, text=True, timeout=30)
    assert done.stdout.strip() == "ok", done.stderr
