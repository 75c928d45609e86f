"""The connection vars of an inventory host that SSH resolution reads.

Ansible spells several of them two ways (``ansible_user``/``ansible_ssh_user``,
...); the first one a host sets is used. Bad values are InputErrors naming the
host, the var and where it was set.
"""

from __future__ import annotations

import os

from ..errors import InputError

HOST_VARS = ("ansible_host", "ansible_ssh_host")
PORT_VARS = ("ansible_port", "ansible_ssh_port")
USER_VARS = ("ansible_user", "ansible_ssh_user")
KEY_VARS = ("ansible_ssh_private_key_file", "ansible_private_key_file")
PASSWORD_VARS = ("ansible_password", "ansible_ssh_pass", "ansible_ssh_password")


def first_var(host, names) -> tuple[str | None, object]:
    """(var name, value) of the first of names the host sets, else (None, None)."""
    for name in names:
        value = host.vars.get(name)
        if value not in (None, ""):
            return name, value
    return None, None


def origin_of(host, var):
    """(file, line) where a host var was set, or (None, None)."""
    return host.origins.get(var, (None, None)) if var else (None, None)


def text_var(host, names) -> tuple[str | None, str | None]:
    """A host var that must be text (digits taken as text), with its name."""
    var, value = first_var(host, names)
    if var is None:
        return None, None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise InputError(f"host '{host.name}': {var} must be text, got {value!r}",
                         *origin_of(host, var))
    return var, str(value)


def port_var(host) -> tuple[str | None, int | None]:
    """ansible_port as a number from 1 to 65535, or None."""
    var, text = text_var(host, PORT_VARS)
    if var is None:
        return None, None
    if not text.strip().isdigit() or not 0 < int(text) < 65536:
        raise InputError(
            f"host '{host.name}': {var} must be a whole number from 1 to 65535, "
            f"got {host.vars[var]!r}", *origin_of(host, var))
    return var, int(text)


def check_key_file(path: str, what: str, origin=(None, None)) -> str:
    """A named private key must be a readable file; return its expanded path."""
    full = os.path.expanduser(path)
    try:
        with open(full, "rb") as f:
            f.read(1)
    except OSError as err:
        raise InputError(
            f"{what} names the key file {full}, which cannot be read: "
            f"{err.strerror or err}", *origin) from None
    return full


def named_key(host, options) -> tuple[str | None, str | None]:
    """(path, source) of the key named by a host var, else by the options."""
    var, path = text_var(host, KEY_VARS)
    if var is not None:
        what = f"host '{host.name}': {var}"
        return check_key_file(path, what, origin_of(host, var)), var
    if options.private_key:
        what = "--private-key (or ansible.cfg private_key_file)"
        return check_key_file(options.private_key, what), "--private-key"
    return None, None


def refuse_passwords(host) -> None:
    """Password login is not supported: say so before any host is contacted."""
    var, _ = first_var(host, PASSWORD_VARS)
    if var is not None:
        raise InputError(
            f"host '{host.name}': {var} is set, but fleet logs in with keys only "
            "(ssh-agent, ~/.ssh/id_*, ansible_ssh_private_key_file); install a "
            "key with ssh-copy-id and remove the password", *origin_of(host, var))
