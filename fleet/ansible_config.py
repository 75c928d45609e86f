"""ansible.cfg and the ANSIBLE_* environment, found and read as Ansible does.

The first of ``$ANSIBLE_CONFIG`` (a file, or a folder holding ansible.cfg),
``./ansible.cfg`` (skipped in a world-writable folder), ``~/.ansible.cfg``
and ``/etc/ansible/ansible.cfg`` is the config file. fleet reads its
``[defaults]`` ``inventory``, ``remote_user``, ``private_key_file``,
``forks``, ``timeout`` and ``host_key_checking``; each has an environment
variable that wins over the file (ANSIBLE_INVENTORY, ANSIBLE_REMOTE_USER,
ANSIBLE_PRIVATE_KEY_FILE, ANSIBLE_FORKS, ANSIBLE_TIMEOUT,
ANSIBLE_HOST_KEY_CHECKING), and the command line wins over both.
"""

from __future__ import annotations

import configparser
import os
import re
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from .errors import InputError
from .limits import parse_forks, parse_timeout
from .yamlsrc import read_input_text

_TRUE = {"y", "yes", "on", "1", "true", "t"}
_FALSE = {"n", "no", "off", "0", "false", "f"}
ETC_HOSTS = "/etc/ansible/hosts"


@dataclass(frozen=True)
class Setting:
    """One value and where it came from (``ANSIBLE_FORKS``, ``FILE:LINE``)."""

    value: Any
    origin: str


# Each parser takes (raw text, name for messages, file, line).
Parser = Callable[[str, str, "str | None", "int | None"], Any]


def _text(raw: str, what: str, path: str | None, line: int | None) -> str:
    return raw.strip()


def _path(base: Path) -> Parser:
    """A parser of one path, relative to base (the config file's folder)."""
    def parse(raw: str, what: str, path: str | None, line: int | None) -> str:
        return str(base / os.path.expandvars(os.path.expanduser(raw.strip())))
    return parse


def _paths(base: Path) -> Parser:
    """A parser of Ansible's pathlist: comma-separated paths, relative to base."""
    one = _path(base)
    def parse(raw: str, what: str, path: str | None, line: int | None) -> list:
        return [one(p, what, path, line) for p in raw.split(",") if p.strip()]
    return parse


def _bool(raw: str, what: str, path: str | None, line: int | None) -> bool:
    word = raw.strip().lower()
    if word in _TRUE or word in _FALSE:
        return word in _TRUE
    raise InputError(f"{what} must be a boolean (yes/no, true/false, on/off, "
                     f"1/0), got {raw!r}", path, line)


# [defaults] key -> (environment variable, parser maker taking the base folder)
_KEYS: dict[str, tuple[str, Callable[[Path], Parser]]] = {
    "inventory": ("ANSIBLE_INVENTORY", _paths),
    "remote_user": ("ANSIBLE_REMOTE_USER", lambda base: _text),
    "private_key_file": ("ANSIBLE_PRIVATE_KEY_FILE", _path),
    "forks": ("ANSIBLE_FORKS", lambda base: parse_forks),
    "timeout": ("ANSIBLE_TIMEOUT", lambda base: parse_timeout),
    "host_key_checking": ("ANSIBLE_HOST_KEY_CHECKING", lambda base: _bool),
}


@dataclass
class AnsibleConfig:
    """The settings fleet takes from ansible.cfg and the environment."""

    path: str | None = None
    settings: dict[str, Setting] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def get(self, key: str) -> Any:
        """A setting's value, or None when neither file nor environment sets it."""
        setting = self.settings.get(key)
        return setting.value if setting else None

    def inventory_sources(self, cli: list[str] | None) -> list[str]:
        """-i sources, else ANSIBLE_INVENTORY, else ansible.cfg's; [] = localhost.

        A configured source that does not exist is an error naming where it
        was configured; -i sources are checked when they are loaded.
        """
        if cli:
            return list(cli)
        setting = self.settings.get("inventory")
        if setting is None:
            return []
        for source in setting.value:
            if not os.path.exists(source):
                raise InputError(f"{setting.origin}: inventory {source} does not "
                                 "exist (give -i to use another)")
        return list(setting.value)

    def localhost_note(self) -> str | None:
        """Why fleet targets localhost though Ansible would read /etc/ansible/hosts."""
        if "inventory" in self.settings or not os.path.exists(ETC_HOSTS):
            return None
        return (f"{ETC_HOSTS} is not read unless named (-i {ETC_HOSTS}, "
                "ANSIBLE_INVENTORY or ansible.cfg inventory); targeting localhost")

    def host_key_note(self) -> str | None:
        """The one warning that host_key_checking = False is not honoured."""
        setting = self.settings.get("host_key_checking")
        if setting is None or setting.value:
            return None
        return (f"{setting.origin} turns host_key_checking off; fleet checks host "
                "keys all the same. Add each host's key to known_hosts (ssh-keyscan "
                "-p PORT HOST >> ~/.ssh/known_hosts, after checking its "
                "fingerprint), or pass --accept-new-host-keys to record first-seen "
                "keys")


def find_config_file(env: Mapping[str, str] = os.environ,
                     cwd: str | None = None) -> tuple[str | None, list[str]]:
    """The config file Ansible would use, and warnings about ones it skipped."""
    warnings: list[str] = []
    candidates = []
    named = env.get("ANSIBLE_CONFIG")
    if named is not None:
        named = os.path.expanduser(named)
        if os.path.isdir(named):
            named = os.path.join(named, "ansible.cfg")
        candidates.append(named)
    cwd = cwd or os.getcwd()
    here = os.path.join(cwd, "ansible.cfg")
    if _world_writable(cwd):
        if os.path.exists(here):
            warnings.append(f"{here} is ignored: {cwd} is world-writable, so "
                            "anyone could have put it there (Ansible ignores it too)")
    else:
        candidates.append(here)
    candidates += [os.path.expanduser("~/.ansible.cfg"), "/etc/ansible/ansible.cfg"]
    for path in candidates:
        if os.path.isfile(path) and os.access(path, os.R_OK):
            break
    else:
        path = None
    if named is not None and path != named:
        warnings.append(f"ANSIBLE_CONFIG names {named}, which is not a readable "
                        f"file; using {path or 'no config file'}")
    return path, warnings


def _world_writable(folder: str) -> bool:
    try:
        return bool(os.stat(folder).st_mode & stat.S_IWOTH)
    except OSError:
        return False


def load_ansible_config(env: Mapping[str, str] = os.environ,
                        cwd: str | None = None) -> AnsibleConfig:
    """Find and read the config file, then let the environment override it."""
    path, warnings = find_config_file(env, cwd)
    config = AnsibleConfig(path=path, warnings=warnings)
    if path is not None:
        _read_file(config, path)
    here = Path(cwd or os.getcwd())
    for key, (variable, parser) in _KEYS.items():
        raw = env.get(variable)
        if raw is not None and raw.strip():
            value = parser(here)(raw, variable, None, None)
            config.settings[key] = Setting(value, variable)
    return config


def _read_file(config: AnsibleConfig, path: str) -> None:
    """The [defaults] keys fleet uses, each with the line it is on."""
    try:
        text = read_input_text(path)
    except InputError as err:
        raise InputError(f"cannot read the Ansible config file: {err.message}",
                         path) from None
    parser = configparser.ConfigParser(inline_comment_prefixes=(";",))
    try:
        parser.read_string(text, source=path)
    except configparser.Error as err:
        raise InputError(f"not a valid ansible.cfg: {_reason(err)}", path,
                         _error_line(err)) from None
    if not parser.has_section("defaults"):
        return
    base = Path(path).resolve().parent
    for key, (_variable, maker) in _KEYS.items():
        raw = parser.get("defaults", key, raw=True, fallback=None)
        if raw is not None and raw.strip():
            line = _line_of(text, "defaults", key)
            origin = f"{path}:{line}" if line else path
            value = maker(base)(raw, key, path, line)
            config.settings[key] = Setting(value, origin)


def _reason(err: configparser.Error) -> str:
    """configparser's message without its 'While reading from' preamble."""
    text = getattr(err, "message", None) or str(err)
    return re.sub(r"^While reading from .*?\[line\s*\d+\]: ", "", text.strip())


def _error_line(err: configparser.Error) -> int | None:
    """The line configparser blamed, if it said."""
    if getattr(err, "lineno", None):
        return err.lineno
    errors = getattr(err, "errors", None)
    return errors[0][0] if errors else None


def _line_of(text: str, section: str, key: str) -> int | None:
    """The line of ``key`` in ``[section]`` (the last one, as configparser reads)."""
    current, found = None, None
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        header = re.fullmatch(r"\[([^\]]+)\]", line)
        if header:
            current = header.group(1).strip()
        elif current == section and re.match(rf"{re.escape(key)}\s*[=:]", line):
            found = number
    return found
