"""Unit tests: become settings, sudo's prompt answered once, outcomes from stderr."""

from __future__ import annotations

import asyncio
import subprocess

import pytest

from fleet.errors import InputError
from fleet.inventory.model import Host
from fleet.transport.base import HostFailure, TransportOptions
from fleet.transport.become import (
    SUDO_PROMPT,
    Become,
    SudoPromptReader,
    resolve_become,
    sudo_argv,
)
from fleet.transport.cache import check_command, parse_check, problem_reason
from fleet.transport.diagnosis import (
    become_failure,
    cache_failure,
    command_failure,
    explain_agent_exit,
)
from fleet.transport.local import LocalTransport


@pytest.mark.parametrize("vars, options, want", [
    ({}, {}, Become()),
    ({}, {"become": True}, Become(True)),
    ({"ansible_become": "no"}, {"become": True}, Become()),  # host vars win
    ({"ansible_become": True, "ansible_become_user": "postgres"}, {},
     Become(True, "postgres")),
    ({"ansible_become": "yes"}, {"become_password": "cli"}, Become(True, None, "cli")),
    ({"ansible_become": 1, "ansible_become_pass": "var"}, {"become_password": "cli"},
     Become(True, None, "var")),
    ({"ansible_become_method": "su"}, {}, Become()),  # only checked when used
])
def test_resolve_become(vars, options, want):
    got = resolve_become(Host("h", vars), TransportOptions(**options))
    assert (got.enabled, got.user, got.password) == (want.enabled, want.user,
                                                     want.password)


def test_become_password_is_not_in_reprs():
    assert "s3cret" not in repr(Become(True, None, "s3cret"))
    assert "s3cret" not in repr(TransportOptions(become_password="s3cret"))


@pytest.mark.parametrize("become, argv", [
    (Become(), []),
    (Become(True), ["sudo", "-n", "--"]),
    (Become(True, "root"), ["sudo", "-n", "--"]),
    (Become(True, "pg"), ["sudo", "-n", "-u", "pg", "--"]),
    (Become(True, None, "pw"), ["sudo", "-S", "-p", SUDO_PROMPT, "--"]),
    (Become(True, "pg", ""), ["sudo", "-S", "-p", SUDO_PROMPT, "-u", "pg", "--"]),
])
def test_sudo_argv(become, argv):
    assert sudo_argv(become) == argv


def test_bad_become_method_names_the_var():
    host = Host("db1", {"ansible_become": True, "ansible_become_method": "doas"},
                {"ansible_become_method": ("inv.ini", 3)})
    with pytest.raises(InputError, match="inv.ini:3: .*db1.*doas.*sudo only"):
        resolve_become(host, TransportOptions())


# ---------------------------------------------------------------------------
# the prompt


class Chunks:
    """A stream that returns the given chunks, then EOF."""

    def __init__(self, *chunks: bytes):
        self.chunks = list(chunks)

    async def read(self, n: int) -> bytes:
        return self.chunks.pop(0) if self.chunks else b""


class Stdin:
    def __init__(self):
        self.data, self.eof = b"", False

    def write(self, data: bytes) -> None:
        self.data += data

    async def drain(self) -> None:
        pass

    def write_eof(self) -> None:
        self.eof = True


async def _lines(reader) -> list[bytes]:
    out = []
    while True:
        line = await reader.readline()
        if not line:
            return out
        out.append(line)


def test_prompt_is_answered_once_and_cut_out():
    p = SUDO_PROMPT.encode()
    stdin = Stdin()
    reader = SudoPromptReader(
        Chunks(b"lecture line\n", p[:5], p[5:], b"fleet-agent: started\n"),
        stdin, "s3cret")
    lines = asyncio.run(_lines(reader))
    assert lines == [b"lecture line\n", b"fleet-agent: started\n"]
    assert (stdin.data, stdin.eof, reader.prompts) == (b"s3cret\n", False, 1)


def test_a_second_prompt_gives_up_after_one_try():
    p = SUDO_PROMPT.encode()
    stdin = Stdin()
    reader = SudoPromptReader(
        Chunks(p, b"Sorry, try again.\n" + p,
               b"sudo: 1 incorrect password attempt\n"), stdin, "wrong")
    lines = [t.decode().rstrip() for t in asyncio.run(_lines(reader))]
    assert stdin.data == b"wrong\n" and stdin.eof
    assert "wrong" not in " ".join(lines) and SUDO_PROMPT not in " ".join(lines)
    failure = explain_agent_exit(lines, None)
    assert failure.outcome == "become-failed"
    assert failure.reason.startswith("sudo refused the become password")


# ---------------------------------------------------------------------------
# outcomes from what hosts print


@pytest.mark.parametrize("stderr, starts", [
    ("sh: 1: exec: sudo: not found", "sudo is not installed"),
    ("bash: line 1: sudo: command not found", "sudo is not installed"),
    ("sudo: a password is required", "sudo needs a password: give it with -K"),
    ("sshfleet-x is not in the sudoers file.", "the login user may not use sudo"),
    ("sudo: unknown user pgx", "sudo does not know the become user"),
    ("fleet-agent: compiling", None),
])
def test_become_failure(stderr, starts):
    got = become_failure([stderr])
    assert (got is None) if starts is None else got.startswith(starts)


def test_explain_agent_exit():
    assert explain_agent_exit(["x"], "Connection lost").outcome == "connection-lost"
    assert explain_agent_exit(["sudo: a password is required"], None).outcome == \
        "become-failed"
    assert explain_agent_exit(["sh: 1: exec: /opt/py: not found"], None).outcome == \
        "no-bcc"
    crashed = explain_agent_exit(["Traceback", "ValueError: x"], None)
    assert crashed.outcome == "agent-crashed" and "ValueError: x" in crashed.reason


def test_agent_oserror_in_its_cache_is_a_cache_error():
    lines = ["Traceback (most recent call last):", "  File ...",
             "PermissionError: [Errno 13] Permission denied: "
             "'/home/u/.cache/fleet/kheaders/linux-headers-6.1.tmp30967'"]
    failure = explain_agent_exit(lines, None)
    assert (failure.outcome, failure.reason) == (
        "cache-error", "cache /home/u/.cache/fleet/kheaders/linux-headers-6.1.tmp30967:"
        " Permission denied (EACCES)")


def _real_shell(home: str) -> str | None:
    """The problem fleet's cache check prints in a real /bin/sh with HOME=home."""
    done = subprocess.run(["/bin/sh", "-c", check_command(".cache/fleet", ["a"])],
                          env={"HOME": home, "PATH": "/usr/bin:/bin"},
                          capture_output=True)
    assert done.returncode == 0
    return parse_check(done.stdout)[0]


def test_cache_check_names_home_and_cache_problems_in_a_real_shell(tmp_path):
    missing = tmp_path / "gone"
    reason = problem_reason(".cache/fleet", _real_shell(str(missing)), "alice")
    assert reason == (f"home directory of alice is unusable: {missing}: No such "
                      "file or directory (ENOENT); fleet keeps its cache in "
                      "~/.cache/fleet")
    (tmp_path / "home").mkdir()
    (tmp_path / "home" / ".cache").write_text("a file where a directory should be")
    reason = problem_reason(".cache/fleet", _real_shell(str(tmp_path / "home")), "bob")
    assert reason.startswith("cache dir ~/.cache/fleet of bob cannot be created: ")
    assert "Not a directory" in reason


@pytest.mark.parametrize("stderr, want", [
    ("Could not chdir to home directory /nonexistent/u: No such file or directory\n"
     "sh: 1: cd: can't cd to /nonexistent/u",
     "home directory of u /nonexistent/u is unusable: No such file or directory "
     "(ENOENT)"),
    ("bash: line 1: cd: /home/u: Permission denied",
     "home directory of u /home/u: Permission denied (EACCES)"),
    ("mkdir: cannot create directory ‘.cache’: Read-only file system",
     "cache ~/.cache/fleet of u is not writable: .cache: Read-only file system "
     "(EROFS)"),
    ("sh: 1: cannot create .cache/fleet/.tmp-a-1: No space left on device",
     "cache ~/.cache/fleet of u is not writable: .cache/fleet/.tmp-a-1: No space "
     "left on device (ENOSPC)"),
])
def test_cache_failure_texts(stderr, want):
    assert cache_failure(stderr, "u").startswith(want)


def test_other_command_failures_stay_agent_crashed():
    failure = command_failure("cd && ls", "ls: weird thing", "u")
    assert failure.outcome == "agent-crashed" and "weird thing" in failure.reason


def test_local_cache_error_names_path_and_errno(tmp_path, monkeypatch):
    home = tmp_path / "home-is-a-file"
    home.write_text("")
    monkeypatch.setenv("HOME", str(home))
    transport = LocalTransport(Host("localhost", {}), TransportOptions())
    with pytest.raises(HostFailure) as err:
        asyncio.run(transport.push({"a": b"x"}))
    assert err.value.outcome == "cache-error"
    assert str(home) in err.value.reason and "(ENOTDIR)" in err.value.reason


# ---------------------------------------------------------------------------
# what a host lacks


@pytest.mark.parametrize("os_facts, command", [
    ({"id": "debian", "version_id": "12"}, "apt-get install python3-bpfcc"),
    ({"id": "linuxmint", "id_like": "ubuntu debian"}, "apt-get install python3-bpfcc"),
    ({"id": "rocky", "id_like": "rhel centos fedora"}, "dnf install python3-bcc"),
    ({"id": "opensuse-leap", "id_like": "suse opensuse"}, "zypper install python3-bcc"),
    ({"id": "plan9"}, None),
    (None, None),
])
def test_bcc_install_command(os_facts, command):
    from fleet.prerequisites import bcc_install_command

    assert bcc_install_command(os_facts) == command


def test_remedies():
    from fleet.prerequisites import root_remedy, with_remedy

    facts = {"euid": 1000, "os": {"id": "ubuntu", "version_id": "24.04"}}
    assert with_remedy("no-bcc", "no bcc", facts) == (
        "no bcc; install it with: apt-get install python3-bpfcc (ubuntu 24.04)")
    assert with_remedy("timeout", "slow", facts) == "slow"
    assert "https://github.com/iovisor/bcc" in with_remedy("no-bcc", "x", {})
    assert root_remedy(facts).startswith("the agent ran as uid 1000, not root")
    assert root_remedy({"euid": 0}) is None and root_remedy(None) is None


def test_check_report_lists_what_hosts_need():
    from io import StringIO

    from rich.console import Console

    from fleet.report.check import render_check

    hosts = [
        {"name": "ok1", "outcome": "ok", "facts": {"euid": 0}, "jobs": {
            "j": {"status": "ok", "attach": []}}},
        {"name": "user1", "outcome": "ok", "facts": {"euid": 1000}, "jobs": {
            "j": {"status": "ok", "attach": []}}},
        {"name": "nobcc", "outcome": "no-bcc", "reason": "no bcc; install it with: "
         "apt-get install python3-bpfcc (debian 12)", "facts": {"euid": 0},
         "jobs": {}},
    ]
    out = StringIO()
    render_check(["j"], hosts, Console(file=out, width=80, color_system=None), 2)
    text = " ".join(out.getvalue().split())
    assert "HOSTS NEED user1: the agent ran as uid 1000, not root" in text
    assert "nobcc: no bcc; install it with: apt-get install python3-bpfcc" in text
    assert "ok1:" not in text
    assert max(len(line) for line in out.getvalue().splitlines()) <= 80
