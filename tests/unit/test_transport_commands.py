"""Unit tests for the transport seam: shell commands (quoting), the verified
cache, the verifying loader, push, AgentProcess.

Every command is parsed back with shlex.split and compared argv for argv; the
commands are also run by a real /bin/sh with HOME pointing at a temp dir, and
push runs against a LocalTransport whose home is a temp dir.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import os
import shlex
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from fleet.inventory.model import Host
from fleet.transport.base import (
    DEFAULT_PYTHON,
    AgentProcess,
    HostFailure,
    Transport,
    TransportOptions,
    loader_source,
)
from fleet.transport.cache import (
    CACHE_DIR,
    EMPTY_SHA256,
    check_command,
    parse_check,
    upload_command,
)
from fleet.transport.local import LocalTransport

BUNDLE = "agent-0123456789abcdef0123.pyz"
DIGEST = "ab" * 32

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


class HomeTransport(LocalTransport):
    """A LocalTransport whose login user's home is a temp dir."""

    def __init__(self, home: Path, host=None):
        super().__init__(host or FakeHost(), TransportOptions())
        self.home = home
        self.commands: list[str] = []

    async def run_short(self, command: str, data: bytes | None = None) -> bytes:
        self.commands.append(command)
        done = sh(command, self.home, data or b"")
        if done.returncode != 0:
            raise HostFailure("agent-crashed", done.stderr.decode())
        return done.stdout


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


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# ---------------------------------------------------------------------------
# the cache check


def test_constants():
    assert CACHE_DIR == ".cache/fleet"
    assert DEFAULT_PYTHON == "/usr/bin/python3"
    assert EMPTY_SHA256 == sha(b"")


def test_check_command_makes_a_private_dir_and_hashes_wanted_files(tmp_path):
    first = sh(check_command(CACHE_DIR, ["a.pyz"]), tmp_path)
    assert (first.returncode, first.stdout) == (0, b"")
    cache = tmp_path / ".cache" / "fleet"
    assert stat.S_IMODE(cache.stat().st_mode) == 0o700
    (cache / "a.pyz").write_bytes(b"zip")
    (cache / "other").write_bytes(b"o")
    out = sh(check_command(CACHE_DIR, ["a.pyz", "missing.c"]), tmp_path).stdout
    assert parse_check(out) == (None, {"a.pyz": sha(b"zip")})


@pytest.mark.parametrize(
    "spoil, problem",
    [
        (lambda c, t: (t.mkdir(), c.symlink_to(t)), "is a symbolic link"),
        (lambda c, t: c.write_bytes(b"x"), "is not a directory"),
        (lambda c, t: (c.mkdir(), os.chmod(c, 0o755)), "has mode 755, expected 700"),
        (lambda c, t: (c.mkdir(mode=0o700), os.chown(c, 65534, -1)),
         "is owned by uid 65534, not by the login user"),
    ],
    ids=["symlink", "file", "mode", "owner"],
)
def test_check_command_refuses_a_cache_dir_that_is_not_private(tmp_path, spoil,
                                                               problem):
    if "owned" in problem and os.geteuid() != 0:
        pytest.skip("chown needs root")
    (tmp_path / ".cache").mkdir()
    cache, target = tmp_path / ".cache" / "fleet", tmp_path / "elsewhere"
    spoil(cache, target)
    before = os.lstat(cache)
    found, digests = parse_check(sh(check_command(CACHE_DIR, ["a"]), tmp_path).stdout)
    assert found is not None and found.startswith(problem), found
    assert digests == {}
    after = os.lstat(cache)  # nothing followed, nothing chmodded
    assert (after.st_mode, after.st_uid) == (before.st_mode, before.st_uid)
    if target.exists():
        assert stat.S_IMODE(target.stat().st_mode) != 0o700 or True


def test_check_command_does_not_chmod_through_a_symlink(tmp_path):
    target = tmp_path / "victim"
    target.mkdir(mode=0o755)
    os.chmod(target, 0o755)
    (tmp_path / ".cache").mkdir()
    (tmp_path / ".cache" / "fleet").symlink_to(target)
    sh(check_command(CACHE_DIR, []), tmp_path)
    assert stat.S_IMODE(target.stat().st_mode) == 0o755


@pytest.mark.parametrize("cache_dir", ["/abs/c d", "rel/it's", "$(touch PWNED)"])
def test_check_command_quotes_the_dir_and_names(tmp_path, cache_dir):
    cache_dir = cache_dir.replace("/abs", str(tmp_path / "abs"))
    done = sh(check_command(cache_dir, ["x; touch PWNED", "`touch PWNED`"]), tmp_path)
    assert done.returncode == 0, done.stderr
    assert not (tmp_path / "PWNED").exists() and not Path("/PWNED").exists()
    made = Path(cache_dir) if cache_dir.startswith("/") else tmp_path / cache_dir
    assert made.is_dir()


def test_parse_check_ignores_noise():
    good = "a" * 64
    out = f"{good}  src-1.c\nshort  x\n\n".encode()
    assert parse_check(out) == (None, {"src-1.c": good})
    assert parse_check(b"problem: is a symbolic link, not a directory\n") == (
        "is a symbolic link, not a directory", {})


# ---------------------------------------------------------------------------
# upload_command


@pytest.mark.parametrize(
    "name",
    ["agent-1.pyz", "a b", "it's", "x; touch PWNED", "$(touch PWNED)", "`touch PWNED`"],
)
def test_upload_command_in_a_real_shell(tmp_path, name):
    assert sh(check_command(CACHE_DIR, []), tmp_path).returncode == 0
    data = b"payload \x00\xff " + name.encode()
    done = sh(upload_command(CACHE_DIR, name), tmp_path, data)
    assert done.returncode == 0, done.stderr
    cache = tmp_path / ".cache" / "fleet"
    assert os.listdir(cache) == [name]  # no temp file left behind
    assert (cache / name).read_bytes() == data
    assert stat.S_IMODE((cache / name).stat().st_mode) == 0o600
    assert not (tmp_path / "PWNED").exists() and not Path("/PWNED").exists()


def test_upload_temp_names_differ_between_controllers():
    one, two = upload_command(CACHE_DIR, "a.c"), upload_command(CACHE_DIR, "a.c")
    assert one != two  # a random part on top of the shell's pid


def test_two_uploads_at_once_leave_one_whole_file(tmp_path):
    sh(check_command(CACHE_DIR, []), tmp_path)
    env = {"HOME": str(tmp_path), "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    big = [bytes([65 + i]) * 2_000_000 for i in range(2)]
    procs = [subprocess.Popen(["/bin/sh", "-c", upload_command(CACHE_DIR, "f")],
                              stdin=subprocess.PIPE, env=env) for _ in big]
    for proc, data in zip(procs, big):
        proc.stdin.write(data)
    for proc in procs:
        proc.stdin.close()
        assert proc.wait(30) == 0
    cache = tmp_path / ".cache" / "fleet"
    assert os.listdir(cache) == ["f"]
    assert (cache / "f").read_bytes() in big


# ---------------------------------------------------------------------------
# agent_command and the loader


def agent_argv(python, become=False, cache=CACHE_DIR):
    head = ["cd", "&&", "exec"] + (["sudo", "-n", "--"] if become else [])
    return head + [python, "-I", "-c", loader_source(), f"{cache}/{BUNDLE}", DIGEST]


@pytest.mark.parametrize("become", [False, True])
@pytest.mark.parametrize(
    "python, used",
    [(None, DEFAULT_PYTHON), ("", DEFAULT_PYTHON), ("auto_silent", DEFAULT_PYTHON),
     ("/opt/py/bin/python3.12", "/opt/py/bin/python3.12")]
    + [(p, p) for p in HOSTILE],
)
def test_agent_command_argv(python, used, become):
    t = Transport.__new__(HomeTransport)
    HomeTransport.__init__(t, Path("/nonexistent"), FakeHost(python, become))
    cmd = t.agent_command(BUNDLE, DIGEST)
    assert shlex.split(cmd) == agent_argv(used, become)
    assert cmd.startswith("cd && exec ")
    assert ("sudo -n --" in cmd) is become


def test_agent_command_uses_the_hosts_cache_dir():
    host = FakeHost(vars={"fleet_cache_dir": "~/my cache;x"})
    cmd = HomeTransport(Path("/x"), host).agent_command(BUNDLE, DIGEST)
    assert shlex.split(cmd) == agent_argv(DEFAULT_PYTHON, cache="my cache;x")


@pytest.mark.parametrize("bad", ["a\x00b", "a\nb", "", "  ", 5])
def test_a_bad_cache_dir_var_is_a_cache_error(bad):
    t = HomeTransport(Path("/x"), FakeHost(vars={"fleet_cache_dir": bad}))
    if bad == "":
        assert t.cache_dir == CACHE_DIR  # unset: the default
        return
    with pytest.raises(HostFailure) as failure:
        _ = t.cache_dir
    assert failure.value.outcome == "cache-error"


@pytest.mark.parametrize(
    "vars, argv_python, become",
    [
        ({}, DEFAULT_PYTHON, False),
        ({"ansible_python_interpreter": "/usr/bin/python3; rm -rf /",
          "ansible_become": "yes"}, "/usr/bin/python3; rm -rf /", True),
        ({"ansible_become": "no", "ansible_python_interpreter": "/p y"}, "/p y", False),
    ],
)
def test_agent_command_from_a_real_inventory_host(vars, argv_python, become):
    cmd = HomeTransport(Path("/x"), Host("h", dict(vars))).agent_command(BUNDLE, DIGEST)
    assert shlex.split(cmd) == agent_argv(argv_python, become)


def test_agent_command_in_a_real_shell_runs_a_hostile_interpreter_path(tmp_path):
    """The interpreter is one word to the shell: no injected command runs."""
    weird = (
        tmp_path / "bin dir; touch PWNED1 $(touch PWNED2)" / "py'th\"on `touch PWNED3`"
    )
    weird.parent.mkdir()
    weird.write_text('#!/bin/sh\nprintf "%s\\n" "$PWD" "$0" "$@" > "$HOME/argv.txt"\n')
    weird.chmod(0o755)
    cmd = HomeTransport(tmp_path, FakeHost(python=str(weird))).agent_command(
        BUNDLE, DIGEST)
    done = sh(cmd, tmp_path)
    assert done.returncode == 0, done.stderr
    lines = (tmp_path / "argv.txt").read_text().split("\n")
    assert lines[:4] == [str(tmp_path), str(weird), "-I", "-c"]
    assert lines[-3:] == [f".cache/fleet/{BUNDLE}", DIGEST, ""]
    assert sorted(os.listdir(tmp_path)) == ["argv.txt", weird.parent.name]


def fake_bundle(main: str, **modules: str) -> bytes:
    """A zipapp like the agent's: __main__.py plus agent/<name>.py modules."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("__main__.py", main)
        zf.writestr("agent/__init__.py", "")
        for name, text in modules.items():
            zf.writestr(f"agent/{name}.py", text)
    return buf.getvalue()


def run_loader(path: Path, digest: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-I", "-c", loader_source(), str(path),
                           digest], capture_output=True, text=True, timeout=30,
                          cwd=path.parent)


def test_loader_runs_a_bundle_from_the_bytes_it_verified(tmp_path):
    # The bundle deletes itself before importing a module: that import can
    # only come from the bytes already read and checked.
    main = "import os, sys\nos.unlink(sys.argv[0])\nimport agent.late\n"
    data = fake_bundle(main, late="import sys\nprint('late', sys.argv[1][:4])\n")
    path = tmp_path / "agent-x.pyz"
    path.write_bytes(data)
    done = run_loader(path, sha(data))
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"late {sha(data)[:4]}\n"


@pytest.mark.parametrize("spoil", [lambda d: b"", lambda d: d[:-1] + b"!",
                                   lambda d: fake_bundle("print('evil')")],
                         ids=["empty", "tampered", "swapped"])
def test_loader_refuses_a_bundle_that_does_not_match(tmp_path, spoil):
    data = fake_bundle("print('good')")
    path = tmp_path / "agent-x.pyz"
    path.write_bytes(spoil(data))
    done = run_loader(path, sha(data))
    assert done.returncode == 86
    assert done.stdout == ""  # nothing of it ran
    assert "fleet-agent: cache-error:" in done.stderr
    assert "does not match its sha256" in done.stderr


def test_loader_source_is_small_enough_for_a_command_line():
    assert len(loader_source()) < 8000


# ---------------------------------------------------------------------------
# push


def test_push_sends_missing_and_altered_files_and_notes_them(tmp_path):
    t = HomeTransport(tmp_path)
    files = {"agent-a.pyz": b"AAAA", "src-b.c": b"bb", "src-c.c": b"ccc"}
    assert asyncio.run(t.push(files)) == 9
    cache = tmp_path / ".cache" / "fleet"
    assert {p.name: p.read_bytes() for p in cache.iterdir()} == files
    assert t.notes == []
    # a second run sends nothing already there
    assert asyncio.run(t.push(files)) == 0
    (cache / "agent-a.pyz").write_bytes(b"EVIL")
    (cache / "src-b.c").write_bytes(b"")
    again = HomeTransport(tmp_path)
    assert asyncio.run(again.push(files)) == 6
    assert {p.name: p.read_bytes() for p in cache.iterdir()} == files
    assert again.notes == [
        "cached agent-a.pyz did not match its sha256: pushed again",
        "cached src-b.c was empty: pushed again",
    ]
    assert again.bytes_pushed == 6


def test_push_to_a_symlinked_cache_is_a_cache_error(tmp_path):
    (tmp_path / ".cache").mkdir()
    (tmp_path / "target").mkdir()
    (tmp_path / ".cache" / "fleet").symlink_to(tmp_path / "target")
    t = HomeTransport(tmp_path)
    with pytest.raises(HostFailure) as failure:
        asyncio.run(t.push({"a": b"1"}))
    assert failure.value.outcome == "cache-error"
    assert "symbolic link" in failure.value.reason
    assert list((tmp_path / "target").iterdir()) == []  # nothing pushed there


def test_push_nothing(tmp_path):
    t = HomeTransport(tmp_path)
    assert asyncio.run(t.push({})) == 0
    assert t.bytes_pushed == 0


def test_kill_agent_checks_the_pid_still_runs_our_bundle(tmp_path):
    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        t = HomeTransport(tmp_path)
        asyncio.run(t.kill_agent(sleeper.pid, "agent-not-this.pyz"))
        assert sleeper.poll() is None  # another program: left alone
        asyncio.run(t.kill_agent(sleeper.pid, "sleep"))
        assert sleeper.wait(5) == -9
    finally:
        sleeper.kill()
        sleeper.wait()


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
    assert a.keepalive_s is None
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
