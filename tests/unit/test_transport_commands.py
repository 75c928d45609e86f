"""Unit tests for the transport seam: shell commands (quoting), push, AgentProcess.

Every command is parsed back with shlex.split and compared argv for argv; the
commands are also run by a real /bin/sh with HOME pointing at a temp dir.
"""

from __future__ import annotations

import asyncio
import os
import shlex
import stat
import subprocess
from pathlib import Path

import pytest

from fleet.inventory.model import Host
from fleet.transport.base import (
    CACHE_DIR,
    DEFAULT_PYTHON,
    AgentProcess,
    HostFailure,
    Transport,
    TransportOptions,
    list_command,
    upload_command,
)

BUNDLE = "agent-0123456789abcdef0123.pyz"

HOSTILE = [
    "/usr/bin/python3; rm -rf /",
    "/opt/my python/bin/python3",
    "/opt/it's/python3",
    '/opt/"dq"/python3',
    "$(rm -rf /)",
    "`rm -rf /`",
    "/usr/bin/python3 && rm -rf / #",
    "python3\nrm -rf /",
    "-c",
]


class FakeHost:
    """The properties of an inventory host a transport reads."""

    def __init__(self, python=None, become=False, vars=None):
        self.name = "h1"
        self.address = "192.0.2.1"
        self.port = 22
        self.user = None
        self.key_file = None
        self.python = python
        self.vars = {"ansible_become": become, **(vars or {})}
        self.origins = {}


class MemoryTransport(Transport):
    """A host whose cache dir is a dict."""

    def __init__(self, host=None, files=None):
        super().__init__(host or FakeHost(), TransportOptions())
        self.files = dict(files or {})
        self.uploads: list[str] = []
        self.listed = 0

    async def connect(self) -> None:
        pass

    async def cached_names(self) -> set[str]:
        self.listed += 1
        return set(self.files)

    async def upload(self, name: str, data: bytes) -> None:
        self.uploads.append(name)
        self.files[name] = data

    async def start(self, command: str) -> AgentProcess:
        raise HostFailure("agent-crashed", "not in memory")

    async def close(self) -> None:
        pass


def sh(command: str, home: Path, data: bytes = b"") -> subprocess.CompletedProcess:
    """Run a command the way a host's login shell would, with HOME=home."""
    env = {"HOME": str(home), "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    return subprocess.run(
        ["/bin/sh", "-c", command],
        input=data,
        env=env,
        cwd="/",
        capture_output=True,
        timeout=30,
    )


# ---------------------------------------------------------------------------
# constants and list_command


def test_constants():
    assert CACHE_DIR == ".cache/fleet"
    assert DEFAULT_PYTHON == "/usr/bin/python3"


def test_list_command_exact():
    cmd = list_command()
    assert cmd == (
        "cd && umask 077 && mkdir -p .cache/fleet && chmod 700 .cache/fleet"
        " && ls -1A .cache/fleet"
    )
    assert shlex.split(cmd) == [
        "cd",
        "&&",
        "umask",
        "077",
        "&&",
        "mkdir",
        "-p",
        ".cache/fleet",
        "&&",
        "chmod",
        "700",
        ".cache/fleet",
        "&&",
        "ls",
        "-1A",
        ".cache/fleet",
    ]


def test_list_command_in_a_real_shell(tmp_path):
    first = sh(list_command(), tmp_path)
    assert first.returncode == 0, first.stderr
    assert first.stdout == b""
    cache = tmp_path / ".cache" / "fleet"
    assert stat.S_IMODE(cache.stat().st_mode) == 0o700
    (cache / "agent-x.pyz").write_bytes(b"z")
    (cache / ".hidden").write_bytes(b"h")
    os.chmod(cache, 0o755)  # a wider mode is narrowed again
    second = sh(list_command(), tmp_path)
    assert second.returncode == 0, second.stderr
    assert sorted(second.stdout.decode().split("\n")) == ["", ".hidden", "agent-x.pyz"]
    assert stat.S_IMODE(cache.stat().st_mode) == 0o700


# ---------------------------------------------------------------------------
# upload_command


def test_upload_command_exact():
    cmd = upload_command(BUNDLE)
    assert cmd == (
        f"cd && umask 077 && cat > .cache/fleet/.tmp-{BUNDLE}-$$"
        f" && mv -f .cache/fleet/.tmp-{BUNDLE}-$$ .cache/fleet/{BUNDLE}"
    )


@pytest.mark.parametrize(
    "name",
    [
        BUNDLE,
        "src-abc.c",
        "a b",
        "x'; rm -rf / #",
        'q"uote',
        "$(rm -rf /)",
        "`rm -rf /`",
        "semi;colon",
    ],
)
def test_upload_command_quotes_the_name(name):
    argv = shlex.split(upload_command(name))
    tmp = f".cache/fleet/.tmp-{name}-$$"
    assert argv == [
        "cd",
        "&&",
        "umask",
        "077",
        "&&",
        "cat",
        ">",
        tmp,
        "&&",
        "mv",
        "-f",
        tmp,
        f".cache/fleet/{name}",
    ]


@pytest.mark.parametrize(
    "name",
    ["agent-1.pyz", "a b", "it's", "x; touch PWNED", "$(touch PWNED)", "`touch PWNED`"],
)
def test_upload_command_in_a_real_shell(tmp_path, name):
    assert sh(list_command(), tmp_path).returncode == 0
    data = b"payload \x00\xff " + name.encode()
    done = sh(upload_command(name), tmp_path, data)
    assert done.returncode == 0, done.stderr
    cache = tmp_path / ".cache" / "fleet"
    assert os.listdir(cache) == [name]  # no temp file left behind
    assert (cache / name).read_bytes() == data
    assert stat.S_IMODE((cache / name).stat().st_mode) == 0o600
    assert not (tmp_path / "PWNED").exists() and not Path("/PWNED").exists()


# ---------------------------------------------------------------------------
# agent_command


@pytest.mark.parametrize(
    "python, become, argv",
    [
        (None, False, ["cd", "&&", "exec", DEFAULT_PYTHON, f".cache/fleet/{BUNDLE}"]),
        ("", False, ["cd", "&&", "exec", DEFAULT_PYTHON, f".cache/fleet/{BUNDLE}"]),
        (
            None,
            True,
            [
                "cd",
                "&&",
                "exec",
                "sudo",
                "-n",
                "--",
                DEFAULT_PYTHON,
                f".cache/fleet/{BUNDLE}",
            ],
        ),
        (
            "/opt/py/bin/python3.12",
            False,
            ["cd", "&&", "exec", "/opt/py/bin/python3.12", f".cache/fleet/{BUNDLE}"],
        ),
        (
            "/opt/py/bin/python3.12",
            True,
            [
                "cd",
                "&&",
                "exec",
                "sudo",
                "-n",
                "--",
                "/opt/py/bin/python3.12",
                f".cache/fleet/{BUNDLE}",
            ],
        ),
    ]
    + [(p, False, ["cd", "&&", "exec", p, f".cache/fleet/{BUNDLE}"]) for p in HOSTILE]
    + [
        (p, True, ["cd", "&&", "exec", "sudo", "-n", "--", p, f".cache/fleet/{BUNDLE}"])
        for p in HOSTILE
    ],
)
def test_agent_command_argv(python, become, argv):
    cmd = MemoryTransport(FakeHost(python=python, become=become)).agent_command(BUNDLE)
    assert shlex.split(cmd) == argv
    assert cmd.startswith("cd && exec ")
    assert ("sudo -n --" in cmd) is become


@pytest.mark.parametrize("python", HOSTILE)
def test_agent_command_interpreter_appears_only_quoted(python):
    cmd = MemoryTransport(FakeHost(python=python)).agent_command(BUNDLE)
    assert cmd == f"cd && exec {shlex.quote(python)} .cache/fleet/{BUNDLE}"
    become = MemoryTransport(FakeHost(python=python, become=True)).agent_command(BUNDLE)
    assert (
        become == f"cd && exec sudo -n -- {shlex.quote(python)} .cache/fleet/{BUNDLE}"
    )


def test_agent_command_quotes_the_bundle_name():
    cmd = MemoryTransport(FakeHost()).agent_command("a b;c.pyz")
    assert shlex.split(cmd) == [
        "cd",
        "&&",
        "exec",
        DEFAULT_PYTHON,
        ".cache/fleet/a b;c.pyz",
    ]


@pytest.mark.parametrize(
    "vars, argv_head",
    [
        ({}, ["cd", "&&", "exec", DEFAULT_PYTHON]),
        (
            {
                "ansible_python_interpreter": "/usr/bin/python3; rm -rf /",
                "ansible_become": "yes",
            },
            ["cd", "&&", "exec", "sudo", "-n", "--", "/usr/bin/python3; rm -rf /"],
        ),
        (
            {"ansible_become": "no", "ansible_python_interpreter": "/p y"},
            ["cd", "&&", "exec", "/p y"],
        ),
    ],
)
def test_agent_command_from_a_real_inventory_host(vars, argv_head):
    cmd = MemoryTransport(Host("h", dict(vars))).agent_command(BUNDLE)
    assert shlex.split(cmd) == argv_head + [f".cache/fleet/{BUNDLE}"]


def test_agent_command_in_a_real_shell_runs_a_hostile_interpreter_path(tmp_path):
    """The interpreter is one word to the shell: no injected command runs."""
    weird = (
        tmp_path / "bin dir; touch PWNED1 $(touch PWNED2)" / "py'th\"on `touch PWNED3`"
    )
    weird.parent.mkdir()
    weird.write_text('#!/bin/sh\nprintf "%s\\n" "$PWD" "$0" "$@" > "$HOME/argv.txt"\n')
    weird.chmod(0o755)
    cmd = MemoryTransport(FakeHost(python=str(weird))).agent_command(BUNDLE)
    done = sh(cmd, tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "argv.txt").read_text().split("\n") == [
        str(tmp_path),
        str(weird),
        f".cache/fleet/{BUNDLE}",
        "",
    ]
    assert sorted(os.listdir(tmp_path)) == ["argv.txt", weird.parent.name]


# ---------------------------------------------------------------------------
# push


def test_push_sends_only_missing_files():
    t = MemoryTransport(files={"agent-a.pyz": b"old"})
    files = {"agent-a.pyz": b"AAAA", "src-b.c": b"bb", "src-c.c": b"ccc"}
    assert asyncio.run(t.push(files)) == 5
    assert t.uploads == ["src-b.c", "src-c.c"]
    assert t.files == {"agent-a.pyz": b"old", "src-b.c": b"bb", "src-c.c": b"ccc"}
    assert t.bytes_pushed == 5
    assert t.listed == 1
    # a second run sends nothing already there
    assert asyncio.run(t.push(files)) == 0
    assert t.uploads == ["src-b.c", "src-c.c"]
    assert t.bytes_pushed == 5
    assert asyncio.run(t.push({"src-d.c": b"dddddd"})) == 6
    assert t.bytes_pushed == 11


def test_push_nothing():
    t = MemoryTransport()
    assert asyncio.run(t.push({})) == 0
    assert t.uploads == [] and t.bytes_pushed == 0


def test_transport_is_abstract():
    with pytest.raises(TypeError):
        Transport(FakeHost(), TransportOptions())  # type: ignore[abstract]

    class Partial(Transport):
        async def connect(self) -> None:
            pass

    with pytest.raises(TypeError):
        Partial(FakeHost(), TransportOptions())  # type: ignore[abstract]


def test_transport_options_defaults():
    a, b = TransportOptions(), TransportOptions()
    assert (a.known_hosts, a.connect_timeout, a.extra) == (None, None, {})
    a.extra["k"] = 1
    assert b.extra == {}  # no shared mutable default


def test_host_failure():
    err = HostFailure("unreachable", "connection refused")
    assert (err.outcome, err.reason, str(err)) == (
        "unreachable",
        "connection refused",
        "connection refused",
    )


# ---------------------------------------------------------------------------
# AgentProcess


class FakeStdin:
    def __init__(self, error=None):
        self.data = b""
        self.error = error
        self.eof = False

    def write(self, data):
        if self.error:
            raise self.error
        self.data += data

    async def drain(self):
        pass

    def write_eof(self):
        if self.error:
            raise self.error
        self.eof = True


def _proc(stdin, waiter=None, killer=None):
    async def never():
        await asyncio.sleep(3600)

    return AgentProcess(stdin, "out", "err", waiter or never, killer or (lambda: None))


def test_agent_process_send_and_eof():
    stdin = FakeStdin()
    proc = _proc(stdin)
    asyncio.run(proc.send(b"one\n"))
    asyncio.run(proc.send(b"two\n"))
    proc.close_stdin()
    assert (stdin.data, stdin.eof) == (b"one\ntwo\n", True)
    assert (proc.stdout, proc.stderr) == ("out", "err")


@pytest.mark.parametrize(
    "error",
    [
        BrokenPipeError(),
        ConnectionResetError(),
        OSError(5, "EIO"),
        RuntimeError("closed"),
    ],
)
def test_agent_process_ignores_a_gone_host(error):
    stdin = FakeStdin(error)
    proc = _proc(stdin)
    asyncio.run(proc.send(b"x\n"))  # no exception
    proc.close_stdin()
    assert (stdin.data, stdin.eof) == (b"", False)


def test_agent_process_close_stdin_without_write_eof():
    _proc(object()).close_stdin()  # AttributeError is swallowed


def test_agent_process_wait():
    async def exits():
        return 7

    assert asyncio.run(_proc(FakeStdin(), waiter=exits).wait(1.0)) == 7
    assert asyncio.run(_proc(FakeStdin()).wait(0.01)) is None


@pytest.mark.parametrize("error", [ProcessLookupError(), OSError(), RuntimeError()])
def test_agent_process_kill_ignores_errors(error):
    calls = []

    def killer():
        calls.append(1)
        raise error

    _proc(FakeStdin(), killer=killer).kill()
    assert calls == [1]
