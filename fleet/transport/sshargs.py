"""The ssh command-line options Ansible users put in ``ansible_ssh_common_args``.

``ansible_ssh_common_args`` and ``ansible_ssh_extra_args`` hold arguments for the
``ssh`` command (``-o ProxyJump=bastion``, ``-J bastion``, ``-F file``, ...).
fleet does not run ``ssh``; it reads the options that say where and how to
connect and hands them to asyncssh's ssh_config handling as command-line
options, which OpenSSH lets win over the config files. Options that change
nothing fleet does (``-C``, ``-o ControlMaster=auto``, ...) are listed as ignored
so the host log can say so.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field

from ..errors import InputError

ARGS_VARS = ("ansible_ssh_common_args", "ansible_ssh_extra_args")

# Flags that map onto one ssh_config option.
_FLAG_OPTIONS = {"-J": "ProxyJump", "-i": "IdentityFile", "-p": "Port", "-l": "User"}
# Other ssh flags that take an argument (consumed, then ignored).
_FLAGS_WITH_VALUE = set("bcDEeIiJLlmOopQRSWwBF")


@dataclass
class SSHArgs:
    """What a host's ssh arguments ask for."""

    options: list[tuple[str, str]] = field(default_factory=list)  # (-o name, value)
    config_file: str | None = None  # -F
    ignored: list[str] = field(default_factory=list)


def parse_ssh_args(text: str, var: str, origin=(None, None)) -> SSHArgs:
    """Read ``-o K=V``, ``-J``, ``-i``, ``-p``, ``-l`` and ``-F`` out of ssh args."""
    try:
        words = shlex.split(text)
    except ValueError as err:
        raise InputError(f"{var}: cannot split {text!r}: {err}", *origin) from None
    out = SSHArgs()
    i = 0
    while i < len(words):
        word = words[i]
        i += 1
        if not word.startswith("-") or len(word) < 2:
            out.ignored.append(word)
            continue
        flag, value = word[:2], word[2:]
        if flag[1] not in _FLAGS_WITH_VALUE:
            out.ignored.append(word)  # a flag without a value, e.g. -C or -q
            continue
        if not value:
            if i == len(words):
                raise InputError(f"{var}: {flag} needs a value in {text!r}", *origin)
            value = words[i]
            i += 1
        _take(out, flag, value, var, origin)
    return out


def _take(out: SSHArgs, flag: str, value: str, var: str, origin) -> None:
    """Record one flag with its value."""
    if flag == "-o":
        name, sep, rest = value.partition("=")
        if not sep:
            name, _, rest = value.partition(" ")
        if not name.strip() or not rest.strip():
            raise InputError(f"{var}: -o expects NAME=VALUE, got {value!r}", *origin)
        out.options.append((name.strip(), rest.strip()))
    elif flag == "-F":
        out.config_file = value
    elif flag in _FLAG_OPTIONS:
        out.options.append((_FLAG_OPTIONS[flag], value))
    else:
        out.ignored.append(f"{flag} {value}")


def host_ssh_args(host) -> SSHArgs:
    """Both ssh argument vars of a host, common args first (as Ansible joins them)."""
    merged = SSHArgs()
    for var in ARGS_VARS:
        text = host.vars.get(var)
        if text in (None, ""):
            continue
        origin = host.origins.get(var, (None, None))
        if not isinstance(text, str):
            raise InputError(
                f"host '{host.name}': {var} must be text, got {text!r}", *origin
            )
        args = parse_ssh_args(text, f"host '{host.name}': {var}", origin)
        merged.options += args.options
        merged.config_file = merged.config_file or args.config_file
        merged.ignored += args.ignored
    return merged
