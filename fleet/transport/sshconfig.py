"""One host's SSH settings, resolved like OpenSSH and Ansible, without connecting.

Per setting, the first source that gives a value wins:

- user: ``ansible_user``/``ansible_ssh_user``, ``-u`` (or ansible.cfg
  ``remote_user``), ssh_config ``User``, the local user;
- address: ssh_config ``HostName`` for the destination, else the destination,
  which is ``ansible_host`` or else the inventory name (ssh is handed
  ``ansible_host`` by Ansible, so ``Host`` patterns match that);
- port: ``ansible_port``, ssh_config ``Port``, 22;
- keys: ``ansible_ssh_private_key_file``, else ``--private-key`` (or ansible.cfg
  ``private_key_file``), followed by ssh_config ``IdentityFile``; the ssh-agent
  (``IdentityAgent``, else ``SSH_AUTH_SOCK``) is offered too, limited to those
  files by ``IdentitiesOnly``; with no file named, ``~/.ssh/id_*``;
- ``-o``/``-J``/``-i``/``-p``/``-l`` in ``ansible_ssh_common_args`` /
  ``ansible_ssh_extra_args`` come after the host vars and before ssh_config,
  as on Ansible's ssh command line.

ssh_config (``~/.ssh/config`` then ``/etc/ssh/ssh_config``, or ``-F FILE``) is
read by asyncssh's own OpenSSH parser: ``Host``, ``Match``, ``Include``, tokens.
"""

from __future__ import annotations

import getpass
import os
import pwd
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from asyncssh.config import ConfigParseError, SSHClientConfig, SSHConfig

from ..errors import InputError
from .hostvars import (
    HOST_VARS,
    USER_VARS,
    named_key,
    origin_of,
    port_var,
    refuse_passwords,
    text_var,
)
from .sshargs import ARGS_VARS, SSHArgs, host_ssh_args

DEFAULT_PORT = 22
DEFAULT_CONNECT_TIMEOUT_S = 10.0
# A dead or frozen session is dropped after about 3 unanswered keepalives
# (base.KEEPALIVE_COUNT_MAX + 1): ~15 s. ssh_config ServerAliveInterval and a
# playbook's keepalive: override it.
DEFAULT_KEEPALIVE_S = 5.0
SYSTEM_CONFIG = "/etc/ssh/ssh_config"
DEFAULT_KEYS = ("id_ed25519", "id_ecdsa", "id_rsa")  # what the README promises

_UNSET = object()


class Jump(NamedTuple):
    """One ProxyJump hop: ``[user@]host[:port]``."""

    user: str | None
    host: str
    port: int | None

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        user = f"{self.user}@" if self.user else ""
        return f"{user}{host}" + (f":{self.port}" if self.port else "")


@dataclass
class SSHTarget:
    """Everything needed to reach one host, with where each setting came from."""

    name: str
    destination: str
    hostname: str
    port: int
    user: str
    identity_files: list[str]
    identities_only: bool
    agent_path: str | None
    proxy_jump: list[Jump]
    known_hosts: list[str]
    strict_host_key_checking: str
    connect_timeout: float
    keepalive_interval: float
    keepalive_count_max: int | None = None
    host_key_alias: str | None = None
    proxy_command: str | None = None
    config_files: list[str] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


class _ClientConfig(SSHClientConfig):
    """asyncssh's client config, plus StrictHostKeyChecking and command-line options.

    Command-line options are set before the files are read: asyncssh, like
    OpenSSH, keeps the first value of an option (and appends IdentityFile).
    """

    _handlers = {
        **SSHClientConfig._handlers,
        "stricthostkeychecking": ("StrictHostKeyChecking", SSHConfig._set_string),
    }

    def __init__(self, last_config, reload, canonical, final, local_user, user,
                 host, port, presets=()):
        super().__init__(last_config, reload, canonical, final, local_user, user,
                         host, port)
        for name, words in presets:
            option, handler = self._handlers[name.lower()]
            handler(self, option, words)
            if words:
                self._error(f"extra data at end of {name}: {' '.join(words)}")


def local_user() -> str:
    """The controller's user name, as ssh would use it."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return pwd.getpwuid(os.getuid()).pw_name


def default_config_files() -> list[str]:
    """The ssh_config files OpenSSH reads when no -F is given (those that exist)."""
    user = os.path.expanduser("~/.ssh/config")
    return [p for p in (user, SYSTEM_CONFIG) if os.path.isfile(p)]


def option_words(name: str, value: str) -> list[str]:
    """A command-line option's value split as ssh_config splits a line."""
    if name.lower() in _ClientConfig._no_split:
        return [value]
    try:
        return shlex.split(value)
    except ValueError:
        return value.split()


def load_config(destination: str, user: str | None, port: int | None,
                presets: list[tuple[str, list[str]]], files: list[str],
                where: str) -> _ClientConfig:
    """Evaluate ssh_config files for one destination, command-line options first."""
    words = [(n, list(w)) for n, w in presets if n.lower() in _ClientConfig._handlers]
    try:
        return _ClientConfig.load(
            None, files, False, False, False, local_user(),
            user if user is not None else (), destination,
            port if port is not None else (), words,
        )
    except (ConfigParseError, ValueError) as err:
        raise InputError(f"{where}: ssh_config: {err}") from None
    except OSError as err:
        raise InputError(
            f"{where}: cannot read ssh_config {err.filename}: {err.strerror}"
        ) from None


def parse_jumps(text: str | None, where: str) -> list[Jump]:
    """ProxyJump text (``a,user@b:2222``, ``ssh://b``, ``none``) as hops."""
    if not text or text.strip().lower() == "none":
        return []
    return [_parse_jump(part.strip(), where) for part in text.split(",")]


def _parse_jump(text: str, where: str) -> Jump:
    """One ``[ssh://][user@]host[:port]`` hop."""
    spec = text[len("ssh://"):] if text.startswith("ssh://") else text
    user, _, hostport = spec.rpartition("@")
    if hostport.startswith("["):
        host, _, rest = hostport[1:].partition("]")
        port_text = rest[1:] if rest.startswith(":") else rest
    else:
        host, _, port_text = hostport.partition(":")
    if not host or (port_text and not port_text.isdigit()):
        raise InputError(f"{where}: bad ProxyJump hop {text!r}: "
                         "expected [user@]host[:port]")
    port = int(port_text) if port_text else None
    if port is not None and not 0 < port < 65536:
        raise InputError(f"{where}: ProxyJump hop {text!r}: port out of range")
    return Jump(user or None, host, port)


def resolve_target(host, options, config_files: list[str] | None = None,
                   env: dict | None = None) -> SSHTarget:
    """Resolve how to reach an inventory host over SSH; bad settings raise InputError.

    Pure apart from reading the config files and checking that named key files
    can be read: nothing is contacted.
    """
    env = os.environ if env is None else env
    refuse_passwords(host)
    where = f"host '{host.name}'"
    args = host_ssh_args(host)
    host_var, address = text_var(host, HOST_VARS)
    destination = address or host.name
    user_var, user = text_var(host, USER_VARS)
    user_source = user_var
    if user is None and options.user:
        user, user_source = options.user, "-u/remote_user"
    port_source, port = port_var(host)
    key, key_source = named_key(host, options)
    presets = [("IdentityFile", [key])] if key else []
    presets += [(n, option_words(n, v)) for n, v in args.options]
    _check_args(host, destination, presets)
    files = _config_files(args, config_files, f"{where}: {_args_var(host)}",
                          origin_of(host, _args_var(host)))
    config = load_config(destination, user, port, presets, files, where)
    target = _target(host.name, destination, config, options, env, where)
    target.config_files = files
    known_var, known = text_var(host, ("fleet_known_hosts",))
    if known_var:
        target.known_hosts = [_expand(known)]
        target.sources["known_hosts"] = known_var
    target.sources.update(
        destination=host_var or "inventory name",
        user=user_source or ("ssh_config" if config.get("User") else "local user"),
        port=port_source or ("ssh_config" if config.get("Port") else "default"),
        keys=key_source or ("ssh_config" if target.identity_files else "defaults"),
        config=", ".join(files) or "none",
    )
    target.notes += [f"ignored ssh argument {a!r}" for a in args.ignored]
    target.notes += [f"ignored ssh option {n}" for n, _ in args.options
                     if n.lower() not in _ClientConfig._handlers]
    return target


def resolve_jump(jump: Jump, via: SSHTarget, options,
                 env: dict | None = None) -> SSHTarget:
    """Resolve one ProxyJump hop through the same ssh_config, as ssh's jump does."""
    env = os.environ if env is None else env
    where = f"host '{via.name}': ProxyJump {jump}"
    config = load_config(jump.host, jump.user, jump.port, [], via.config_files, where)
    target = _target(str(jump), jump.host, config, options, env, where)
    target.config_files = list(via.config_files)
    if options.known_hosts or via.sources.get("known_hosts") == "fleet_known_hosts":
        target.known_hosts = list(via.known_hosts)  # one known_hosts for the run
    target.proxy_jump = []  # hops are opened in order by the caller
    return target


def _args_var(host) -> str | None:
    """The ssh argument var a host sets (for error messages)."""
    return next((v for v in ARGS_VARS if host.vars.get(v)), None)


def _check_args(host, destination: str, presets) -> None:
    """The ssh arguments' own options, evaluated alone: errors name their var."""
    var = _args_var(host)
    if var is None:
        return
    where = f"host '{host.name}': {var}"
    try:
        alone = load_config(destination, None, None, presets, [], where)
        parse_jumps(alone.get("ProxyJump"), where)
    except InputError as err:
        raise InputError(err.message, *origin_of(host, var)) from None


def _config_files(args: SSHArgs, config_files, where, origin) -> list[str]:
    """-F from the ssh args, else the files given, else OpenSSH's defaults."""
    if args.config_file:
        path = os.path.expanduser(args.config_file)
        if not os.path.isfile(path):
            raise InputError(f"{where}: ssh -F names {path}, which is not a file",
                             *origin)
        return [path]
    return list(config_files) if config_files is not None else default_config_files()


def _target(name, destination, config, options, env, where) -> SSHTarget:
    """Build the target from an evaluated config (shared by hosts and jumps)."""
    known, known_source = _known_hosts(config, options)
    timeout = options.connect_timeout
    if timeout is None:
        timeout = float(config.get("ConnectTimeout") or DEFAULT_CONNECT_TIMEOUT_S)
    alive = config.get("ServerAliveInterval")
    target = SSHTarget(
        name=name,
        destination=destination,
        hostname=str(config.get("Hostname", destination)),
        port=int(config.get("Port", DEFAULT_PORT)),
        user=str(config.get("User") or local_user()),
        identity_files=[_expand(p) for p in config.get("IdentityFile", [])],
        identities_only=bool(config.get("IdentitiesOnly", False)),
        agent_path=_agent_path(config, env),
        proxy_jump=parse_jumps(config.get("ProxyJump"), where),
        known_hosts=known,
        strict_host_key_checking=str(
            config.get("StrictHostKeyChecking", "ask")).lower(),
        connect_timeout=timeout,
        keepalive_interval=float(DEFAULT_KEEPALIVE_S if alive is None else alive),
        keepalive_count_max=config.get("ServerAliveCountMax"),
        host_key_alias=config.get("HostKeyAlias"),
        proxy_command=config.get("ProxyCommand"),
    )
    target.sources["known_hosts"] = known_source
    return target


def _expand(path: str) -> str:
    return os.path.expandvars(os.path.expanduser(str(path)))


def _agent_path(config, env) -> str | None:
    """The ssh-agent socket: IdentityAgent (``none`` disables), else SSH_AUTH_SOCK."""
    agent = config.get("IdentityAgent", _UNSET)
    if agent is not _UNSET:
        if agent is None or agent.lower() == "none":  # asyncssh reads none as None
            return None
        if agent == "SSH_AUTH_SOCK":
            return env.get("SSH_AUTH_SOCK") or None
        if agent.startswith("$"):
            return env.get(agent[1:]) or None
        return _expand(agent)
    return env.get("SSH_AUTH_SOCK") or None


def _known_hosts(config, options) -> tuple[list[str], str]:
    """known_hosts files: --known-hosts, ssh_config, ~/.ssh/known_hosts."""
    if options.known_hosts:
        return [_expand(options.known_hosts)], "--known-hosts"
    user_files = config.get("UserKnownHostsFile")
    if user_files:
        files = [_expand(p) for p in user_files if p.lower() != "none"]
        return files, "ssh_config UserKnownHostsFile"
    home = Path("~/.ssh").expanduser()
    return [str(home / "known_hosts"), str(home / "known_hosts2")], "default"


def default_identity_files() -> list[str]:
    """The key files tried when none is named (those of them that exist)."""
    home = Path("~/.ssh").expanduser()
    return [str(home / n) for n in DEFAULT_KEYS if (home / n).is_file()]
