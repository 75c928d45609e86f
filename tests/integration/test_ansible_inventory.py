"""Differential test: `fleet inventory --list/--graph/--host` against ansible-core's
`ansible-inventory` on the same inventory fixtures: identical output.

Each folder under fixtures/ansible_inventory/ is one case; its case.json
gives the -i sources (relative to the folder, which is the working directory
of both tools), and optionally a limit, extra vars, the groups to --graph and
the hosts to --host. Both tools run with an empty ansible.cfg.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from fleet.cli import main

CASES_DIR = Path(__file__).parent / "fixtures" / "ansible_inventory"
CASES = sorted(p.name for p in CASES_DIR.iterdir() if (p / "case.json").exists())


def ansible_inventory() -> str:
    """The ansible-inventory of this environment (ansible-core, a test dependency)."""
    beside = Path(sys.executable).parent / "ansible-inventory"
    found = str(beside) if beside.exists() else shutil.which("ansible-inventory")
    if found is None:
        reason = "ansible-inventory not found: pip install '.[test]' (ansible-core)"
        if os.environ.get("CI"):
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    return found


@pytest.fixture
def isolated(tmp_path, monkeypatch) -> dict:
    """An environment with an empty ansible.cfg and no other ANSIBLE_* setting."""
    config = tmp_path / "ansible.cfg"
    config.write_text("")
    for name in list(os.environ):
        if name.startswith("ANSIBLE_"):
            monkeypatch.delenv(name)
    env = {"ANSIBLE_CONFIG": str(config), "HOME": str(tmp_path),
           "ANSIBLE_HOME": str(tmp_path / ".ansible"),
           "ANSIBLE_LOCAL_TEMP": str(tmp_path / "tmp")}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return dict(os.environ)


def case(name: str) -> tuple[Path, dict]:
    """A case's folder and its case.json."""
    folder = CASES_DIR / name
    return folder, json.loads((folder / "case.json").read_text())


def common_args(spec: dict) -> list[str]:
    """The -i, --limit and -e arguments both tools take alike."""
    args = [a for source in spec["sources"] for a in ("-i", source)]
    if "limit" in spec:
        args += ["--limit", spec["limit"]]
    return args + [a for value in spec.get("extra_vars", []) for a in ("-e", value)]


def run_ansible(folder: Path, env: dict, *args: str) -> str:
    """ansible-inventory's stdout (it must succeed)."""
    done = subprocess.run([ansible_inventory(), *args], cwd=folder, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    # Ansible only warns about a source it cannot parse; the fixtures must parse.
    assert "parse" not in done.stderr, done.stderr
    return done.stdout


def run_fleet(folder: Path, monkeypatch, capsys, *args: str) -> str:
    """`fleet inventory ARGS`' stdout, run in-process in the case folder."""
    monkeypatch.chdir(folder)
    capsys.readouterr()
    code = main(["inventory", *args])
    out, err = capsys.readouterr()
    assert code == 0, err
    return out


@pytest.mark.parametrize("name", CASES)
def test_list_is_identical(name, isolated, monkeypatch, capsys):
    folder, spec = case(name)
    args = ["--list", *common_args(spec)]
    theirs = json.loads(run_ansible(folder, isolated, *args))
    ours = json.loads(run_fleet(folder, monkeypatch, capsys, *args))
    assert ours == theirs
    assert ours["_meta"]["hostvars"] or name == "limit"  # each case has vars


@pytest.mark.parametrize("name", [n for n in CASES if "graph" in case(n)[1]])
def test_graph_is_identical(name, isolated, monkeypatch, capsys):
    folder, spec = case(name)
    for group in spec["graph"]:
        args = ["--graph", group, *common_args(spec)]
        theirs = run_ansible(folder, isolated, *args)
        assert run_fleet(folder, monkeypatch, capsys, *args) == theirs


@pytest.mark.parametrize("name", [n for n in CASES if "host" in case(n)[1]])
def test_host_is_identical(name, isolated, monkeypatch, capsys):
    folder, spec = case(name)
    for host in spec["host"]:
        args = ["--host", host, *common_args(spec)]
        theirs = json.loads(run_ansible(folder, isolated, *args))
        assert json.loads(run_fleet(folder, monkeypatch, capsys, *args)) == theirs


def test_list_text_is_byte_identical(isolated, monkeypatch, capsys):
    folder, spec = case("ini_basic")
    args = ["--list", *common_args(spec)]
    theirs = run_ansible(folder, isolated, *args)
    assert run_fleet(folder, monkeypatch, capsys, *args) == theirs
