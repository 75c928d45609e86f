"""Become: whether and as whom the agent runs under sudo, and answering sudo's prompt.

Without a password the agent runs under ``sudo -n`` (never waits for one). With
one (``ansible_become_password`` or ``-K``) it runs under ``sudo -S`` with a
prompt of fleet's own: when that prompt shows up on the agent's stderr, the
password is written once to the agent's stdin, before any protocol message. A
second prompt means the password was wrong: stdin is closed so sudo gives up
after that one attempt. The prompt is cut out of the stderr text and the
password never reaches a log.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import InputError
from .hostvars import origin_of, text_var

PASSWORD_VARS = ("ansible_become_password", "ansible_become_pass", "ansible_sudo_pass")
SUDO_PROMPT = "fleet-sudo-password:"  # no '%': sudo expands %-escapes in prompts
REFUSED_LINE = b"fleet: sudo asked for the password again: it was refused\n"
_TRUE = {"y", "yes", "on", "1", "true", "t"}
_FALSE = {"n", "no", "off", "0", "false", "f"}


@dataclass
class Become:
    """How the agent is started on one host."""

    enabled: bool = False
    user: str | None = None  # None: sudo's default (root)
    password: str | None = field(default=None, repr=False)


def _flag(host, var: str) -> bool | None:
    """An Ansible boolean host var, or None when unset."""
    value = host.vars.get(var)
    if value is None or isinstance(value, bool):
        return value
    text = str(value).strip().lower() if isinstance(value, (str, int)) else None
    if text in _TRUE or text in _FALSE:
        return text in _TRUE
    raise InputError(
        f"host '{host.name}': {var} must be yes/no, true/false, on/off or 1/0, "
        f"got {value!r}", *origin_of(host, var))


def _text(host, var: str) -> str | None:
    return text_var(host, (var,))[1]


def resolve_become(host, options) -> Become:
    """The host's become settings: host vars first, then -b/-K; bad ones raise."""
    enabled = _flag(host, "ansible_become")
    if enabled is None:
        enabled = bool(options.become)
    if not enabled:
        return Become()
    method = _text(host, "ansible_become_method") or "sudo"
    if method != "sudo":
        raise InputError(
            f"host '{host.name}': ansible_become_method is {method!r}, but fleet "
            "becomes root with sudo only", *origin_of(host, "ansible_become_method"))
    password = options.become_password
    for var in PASSWORD_VARS:
        value = _text(host, var)
        if value is not None:
            password = value
            break
    return Become(True, _text(host, "ansible_become_user"), password)


def sudo_argv(become: Become) -> list[str]:
    """The words put before the agent's command line (none without become)."""
    if not become.enabled:
        return []
    argv = ["sudo"]
    argv += ["-S", "-p", SUDO_PROMPT] if become.password is not None else ["-n"]
    if become.user and become.user != "root":
        argv += ["-u", become.user]
    return argv + ["--"]


class SudoPromptReader:
    """The agent's stderr, answering sudo's password prompt on the agent's stdin."""

    def __init__(self, stream, stdin, password: str):
        self._stream = stream
        self._stdin = stdin
        self._password = password
        self._buf = b""
        self.prompts = 0

    async def readline(self) -> bytes:
        """The next stderr line, with fleet's sudo prompt answered and removed."""
        prompt = SUDO_PROMPT.encode()
        while True:
            at = self._buf.find(prompt)
            if at >= 0:
                self._buf = self._buf[:at] + self._buf[at + len(prompt):]
                await self._answer()
                continue
            newline = self._buf.find(b"\n")
            if newline >= 0:
                line, self._buf = self._buf[: newline + 1], self._buf[newline + 1:]
                return line
            chunk = await self._stream.read(4096)
            if not chunk:
                line, self._buf = self._buf, b""
                return line
            self._buf += chunk

    async def _answer(self) -> None:
        """First prompt: send the password; a second one: give up (wrong password)."""
        self.prompts += 1
        try:
            if self.prompts == 1:
                self._stdin.write((self._password + "\n").encode())
                await self._stdin.drain()
            else:
                self._buf = REFUSED_LINE + self._buf
                self._stdin.write_eof()
        except (OSError, RuntimeError):
            pass  # the channel is gone; the agent's exit says the rest
