"""Host keys: look a host up in known_hosts, record a first-seen key, explain refusals.

A key is trusted only when a known_hosts file lists it for the host. An unknown
host may have its first key recorded (``StrictHostKeyChecking accept-new`` or
``--accept-new-host-keys``); a host whose listed key differs is always refused.
"""

from __future__ import annotations

import asyncio
import os
import shlex
from dataclasses import dataclass

import asyncssh

from .base import HostFailure
from .sshconfig import SSHTarget


@dataclass
class KnownHost:
    """What the known_hosts files say about one host."""

    name: str  # the name looked up: "addr", "[addr]:port" or the HostKeyAlias
    trusted: tuple  # (host keys, CA keys, revoked keys) for asyncssh
    listed: bool  # some file has an entry for the name
    files: list[str]  # the files that exist and were read
    record_to: str  # where a first-seen key would be written


def known_hosts_name(target: SSHTarget) -> str:
    """The name OpenSSH files a host's key under."""
    if target.host_key_alias:
        return target.host_key_alias
    host = target.hostname
    return host if target.port == 22 else f"[{host}]:{target.port}"


def lookup(target: SSHTarget) -> KnownHost:
    """Read the target's known_hosts files; an unreadable file is a HostFailure."""
    name = known_hosts_name(target)
    files = [f for f in target.known_hosts if os.path.isfile(f)]
    try:
        known = asyncssh.read_known_hosts(files)
    except (OSError, ValueError) as err:
        reason = f"cannot read known_hosts: {err}"
        raise HostFailure("host-key-failed", reason) from None
    # The name is matched as-is, as OpenSSH does: asyncssh's own lookup would
    # fall back from "[addr]:port" to "addr" and trust another port's key.
    keys, cas, revoked, *_ = known.match(name, "", None)
    record_to = target.known_hosts[0] if target.known_hosts else ""
    return KnownHost(name, (keys, cas, revoked), bool(keys or cas), files, record_to)


def accepts_new(target: SSHTarget, options) -> bool:
    """Whether a first-seen key may be recorded for this target."""
    return options.accept_new_host_keys or target.strict_host_key_checking == (
        "accept-new"
    )


def record(known: KnownHost, key: asyncssh.SSHKey) -> str:
    """Append a first-seen key to known_hosts (mode 0600); return its fingerprint."""
    line = f"{known.name} {key.export_public_key('openssh').decode().strip()}\n"
    path = known.record_to
    os.makedirs(os.path.dirname(path) or ".", mode=0o700, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "a", encoding="utf-8") as f:
        f.write(line)
    return fingerprint(key)


def fingerprint(key: asyncssh.SSHKey) -> str:
    """'ssh-ed25519 SHA256:...' as ssh-keygen -l prints it."""
    return f"{key.get_algorithm()} {key.get_fingerprint('sha256')}"


def unknown_reason(target: SSHTarget, known: KnownHost, offered: str | None) -> str:
    """Why an unlisted host was refused, and how to trust it after checking it."""
    where = ", ".join(known.files) or f"{known.record_to} (no such file)"
    offer = f" The host offers {offered}." if offered else ""
    scan = (
        f"ssh-keyscan -p {target.port} {shlex.quote(target.hostname)} >> "
        f"{shlex.quote(known.record_to)}"
    )
    return (
        f"host key of {known.name} is unknown: no entry in {where}.{offer} "
        f"Check the fingerprint against the host's own (ssh-keygen -lf "
        f"/etc/ssh/ssh_host_ed25519_key.pub on it), then add it with: {scan}; "
        "or rerun with --accept-new-host-keys"
    )


def changed_reason(target: SSHTarget, known: KnownHost, offered: str | None) -> str:
    """Why a host whose key differs from its known_hosts entry was refused."""
    offer = f" (it offers {offered})" if offered else ""
    return (
        f"host key of {known.name} does not match its entry in "
        f"{', '.join(known.files)}{offer}: refused, as the host may be an "
        "impostor. If its key really changed, remove the old entry with "
        f"ssh-keygen -R {shlex.quote(known.name)} -f "
        f"{shlex.quote(known.files[0] if known.files else known.record_to)} "
        "and check the new fingerprint before adding it"
    )


async def offered_key(target: SSHTarget, tunnel) -> str | None:
    """The fingerprint of the key the host offers (for an error message), or None."""
    try:
        key = await asyncio.wait_for(
            asyncssh.get_server_host_key(
                target.hostname, target.port, tunnel=tunnel or (), config=None
            ),
            target.connect_timeout,
        )
    except (OSError, asyncssh.Error, ValueError, asyncio.TimeoutError):
        return None
    return fingerprint(key) if key is not None else None
