"""Name what went wrong on a host from what it printed: sudo, the cache, the session.

An agent that ends early, or a cache command that fails, leaves only text on
stderr; these functions turn it into an outcome with a reason that says what
to fix (become-failed, cache-error, connection-lost, no-bcc, agent-crashed).
"""

from __future__ import annotations

import errno
import os
import re

from .base import CACHE_DIR, HostFailure

_ERRNO_BY_TEXT = {os.strerror(n): name for n, name in errno.errorcode.items()}

# (stderr text, what it means), first match wins; sudo's own wording.
_SUDO_FAILURES = (
    ("fleet: sudo asked for the password again",
     "sudo refused the become password (wrong password)"),
    ("incorrect password attempt", "sudo refused the become password"),
    ("a password is required",
     "sudo needs a password: give it with -K/--ask-become-pass or "
     "ansible_become_password, or allow passwordless sudo for this user"),
    ("no password was provided", "sudo needs a password and none was given"),
    ("is not in the sudoers file", "the login user may not use sudo"),
    ("is not allowed to execute", "sudo does not allow this user to run the agent"),
    ("may not run sudo", "the login user may not use sudo"),
    ("unknown user", "sudo does not know the become user"),
    ("a terminal is required", "sudo wants a terminal (requiretty)"),
    ("no tty present", "sudo wants a terminal (requiretty)"),
)
_SUDO_MISSING = re.compile(r"sudo: (command )?not found|sudo: No such file")


def _tail(lines: list[str], n: int = 3) -> str:
    return " / ".join(t for t in lines[-n:] if t) or "no output"


def become_failure(lines: list[str]) -> str | None:
    """What sudo's messages say went wrong, or None when sudo did not complain."""
    text = "\n".join(lines)
    if _SUDO_MISSING.search(text):
        return f"sudo is not installed on the host (or not on its PATH): {_tail(lines)}"
    for needle, meaning in _SUDO_FAILURES:
        if needle in text:
            return f"{meaning}: {_tail(lines)}"
    return None


def explain_agent_exit(lines: list[str], lost: str | None) -> HostFailure:
    """The outcome of an agent that ended before it should have."""
    if lost:
        return HostFailure(
            "connection-lost", f"SSH session lost during the run ({lost})"
        )
    become = become_failure(lines)
    if become:
        return HostFailure("become-failed", become)
    cache = _agent_cache_error(lines)
    if cache:
        return HostFailure("cache-error", cache)
    if any("No such file" in t or "not found" in t for t in lines):
        return HostFailure("no-bcc", f"cannot run the agent's Python: {_tail(lines)}")
    return HostFailure("agent-crashed", f"agent exited early: {_tail(lines)}")


_PY_OS_ERROR = re.compile(
    r"Error: \[Errno (\d+)\] ([^:]+): '([^']*\.cache/fleet[^']*)'"
)


def _agent_cache_error(lines: list[str]) -> str | None:
    """The agent's own OSError on a path in its cache (e.g. files left by root)."""
    for line in reversed(lines):
        found = _PY_OS_ERROR.search(line)
        if found:
            name = errno.errorcode.get(int(found[1]), found[1])
            return f"cache {found[3]}: {found[2]} ({name})"
    return None


def _errno_name(text: str) -> str:
    """'Permission denied' -> 'EACCES' (the errno a shell message stands for)."""
    name = _ERRNO_BY_TEXT.get(text.strip())
    return f"{text.strip()} ({name})" if name else text.strip()


def cache_failure(stderr: str, user: str | None = None) -> str | None:
    """Why the cache dir could not be used, from a cache command's stderr."""
    who = f" of {user}" if user else ""
    for line in stderr.splitlines():
        home = re.search(r"chdir to home directory (.+?): (.+)$", line)
        if home:
            return (f"home directory{who} {home[1]} is unusable: "
                    f"{_errno_name(home[2])}; fleet keeps its cache in ~/{CACHE_DIR}")
    for line in stderr.splitlines():
        cd = re.search(r"cd: (?:can't cd to (\S+)|(\S+): (.+)$|HOME not set)", line)
        if cd:
            path = cd[1] or cd[2] or "$HOME"
            why = _errno_name(cd[3]) if cd[3] else "cannot enter it"
            return (f"home directory{who} {path}: {why}; fleet keeps its cache "
                    f"in ~/{CACHE_DIR}")
        failed = re.search(r"([^\s:]*\.cache[^\s:]*): ([^:]+)$", line)
        if failed:
            path = failed[1].strip("‘’'`\"")
            return (f"cache ~/{CACHE_DIR}{who} is not writable: {path}: "
                    f"{_errno_name(failed[2])}")
    return None


def command_failure(command: str, stderr: str, user: str | None) -> HostFailure:
    """The outcome of a failed short command (cache check or upload)."""
    cache = cache_failure(stderr, user)
    if cache:
        return HostFailure("cache-error", cache)
    return HostFailure("agent-crashed", f"'{command}' failed: {stderr.strip()[-300:]}")
