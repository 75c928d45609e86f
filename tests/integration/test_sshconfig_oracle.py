"""fleet's SSH settings against OpenSSH's own: ``ssh -G`` is the oracle.

Each case is an ssh_config plus an inventory host (and command-line options).
fleet resolves it with fleet.transport.sshconfig.resolve_target; ``ssh -G -F
CONFIG ... DEST`` prints what OpenSSH would use, given the same host vars as
Ansible passes them (``-o User=``, ``-o Port=``, ``-o IdentityFile=``, then the
ssh common and extra args). Hostname, port, user, identity files and proxy
jumps must agree. Nothing is contacted.
"""

from __future__ import annotations

import os
import pwd
import shlex
import shutil
import subprocess
from dataclasses import dataclass, field

import pytest

from fleet.inventory.model import Host
from fleet.transport.base import TransportOptions
from fleet.transport.sshconfig import local_user, parse_jumps, resolve_target

pytestmark = pytest.mark.skipif(shutil.which("ssh") is None, reason="needs ssh")

# ssh -G lists these when no IdentityFile is configured at all.
SSH_DEFAULT_KEYS = {"id_rsa", "id_ecdsa", "id_ecdsa_sk", "id_ed25519",
                    "id_ed25519_sk", "id_xmss", "id_dsa"}


@dataclass
class Case:
    """One ssh_config and one host."""

    id: str
    config: str
    name: str
    vars: dict = field(default_factory=dict)
    user: str | None = None  # -u
    private_key: str | None = None  # --private-key
    include: str = ""  # text of an included file (written as INCLUDE)


CASES = [
    Case("alias", "Host web1\n HostName 10.0.0.1\n Port 2201\n User deploy\n"
         " IdentityFile /k/web\n", "web1"),
    Case("first-wins", "Host web1\n User one\nHost *\n User two\n Port 2222\n",
         "web1"),
    Case("wildcard", "Host web-*\n User w\n Port 2000\nHost *\n User other\n",
         "web-7"),
    Case("negated", "Host * !bastion\n User inner\nHost bastion\n User outer\n",
         "bastion"),
    Case("identity-files-add-up", "Host db*\n IdentityFile /k/a\nHost *\n"
         " IdentityFile /k/b\n IdentityFile /k/c\n", "db1"),
    Case("include-absolute", "Include INCLUDE\nHost *\n User after\n", "inc1",
         include="Host inc1\n User included\n Port 2022\n"),
    Case("match-host", "Host m1\n HostName 10.9.9.9\nMatch host 10.9.*\n"
         " User matched\n", "m1"),
    Case("match-originalhost", "Match originalhost orig*\n Port 2345\n", "orig9"),
    Case("match-user", "Match user ops\n Port 2401\n", "any", user="ops"),
    Case("proxyjump", "Host inner\n ProxyJump jumper@gw.example:2222\n", "inner"),
    Case("proxyjump-chain", "Host deep\n ProxyJump gw1,admin@gw2:2200\n", "deep"),
    Case("proxyjump-none", "Host nj\n ProxyJump none\nHost *\n ProxyJump gw\n",
         "nj"),
    Case("common-args-jump-wins", "Host web2\n ProxyJump cfg-gw\n", "web2",
         vars={"ansible_ssh_common_args": "-o ProxyJump=args-gw"}),
    Case("extra-args-J", "Host *\n User u\n", "web3",
         vars={"ansible_ssh_extra_args": "-J ops@gw3:2022"}),
    Case("ansible-user-wins", "Host *\n User cfg\n", "h1",
         vars={"ansible_user": "inv"}),
    Case("ansible-port-wins", "Host *\n Port 2000\n", "h2",
         vars={"ansible_port": 2999}),
    Case("ansible-key-first", "Host *\n IdentityFile /k/cfg\n", "h3",
         vars={"ansible_ssh_private_key_file": "KEY"}),
    Case("private-key-option", "Host *\n IdentityFile /k/cfg\n", "h4",
         private_key="KEY"),
    Case("cli-user-below-host-var", "Host *\n User cfg\n", "h5",
         vars={"ansible_user": "inv"}, user="cli"),
    Case("cli-user-above-config", "Host *\n User cfg\n", "h6", user="cli"),
    Case("ansible-host-matches", "Host 10.3.3.3\n User byaddr\n Port 2003\n",
         "named", vars={"ansible_host": "10.3.3.3"}),
    Case("hostname-token", "Host t1\n HostName %h.example.com\n"
         " IdentityFile ~/.ssh/id_%r_%h\n User alice\n", "t1"),
    Case("equals-and-case", "host eq\n  port=2468\n  USER=EqUser\n"
         "  identityfile=/k/eq\n", "eq"),
    Case("no-config", "", "plain"),
    Case("ssh-option-in-args", "Host *\n Port 2000\n", "h7",
         vars={"ansible_ssh_common_args": "-o Port=2500 -o User=argsuser"}),
    Case("identitiesonly-and-agent", "Host io\n IdentitiesOnly yes\n"
         " IdentityFile /k/io\n", "io"),
]


def _ansible_argv(case: Case, key: str | None) -> list[str]:
    """The ssh options Ansible's ssh connection passes for these vars, in order."""
    argv = []
    if key:
        argv += ["-o", f"IdentityFile={key}"]
    if "ansible_port" in case.vars:
        argv += ["-o", f"Port={case.vars['ansible_port']}"]
    user = case.vars.get("ansible_user") or case.user
    if user:
        argv += ["-o", f"User={user}"]
    for var in ("ansible_ssh_common_args", "ansible_ssh_extra_args"):
        argv += shlex.split(case.vars.get(var, ""))
    return argv


def ssh_g(config: str, argv: list[str], destination: str) -> dict[str, list[str]]:
    """``ssh -G`` output as {keyword: [values]}."""
    done = subprocess.run(
        ["ssh", "-G", "-F", config, *argv, destination],
        capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, done.stderr
    out: dict[str, list[str]] = {}
    for line in done.stdout.splitlines():
        keyword, _, value = line.partition(" ")
        out.setdefault(keyword, []).append(value)
    return out


def _expand(path: str, user: str, host: str, port: str) -> str:
    """ssh -G prints IdentityFile before token expansion; expand as ssh would."""
    home = pwd.getpwuid(os.getuid()).pw_dir
    for token, value in (("%r", user), ("%h", host), ("%p", port),
                         ("%u", local_user()), ("%d", home), ("%%", "%")):
        path = path.replace(token, value)
    return os.path.expanduser(path)


@pytest.fixture(autouse=True)
def _home_is_the_passwd_home(monkeypatch):
    # ssh expands ~ from the passwd entry, asyncssh from $HOME.
    monkeypatch.setenv("HOME", pwd.getpwuid(os.getuid()).pw_dir)


def test_the_table_is_big_enough():
    assert len(CASES) >= 15
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_fleet_resolves_what_ssh_G_prints(case: Case, tmp_path):
    include = tmp_path / "included.conf"
    include.write_text(case.include)
    config = tmp_path / "ssh_config"
    config.write_text(case.config.replace("INCLUDE", str(include)))
    key = tmp_path / "named_key"
    key.write_text("not really a key, but a readable file\n")
    hostvars = {k: (str(key) if v == "KEY" else v) for k, v in case.vars.items()}
    private_key = str(key) if case.private_key == "KEY" else case.private_key
    named = hostvars.get("ansible_ssh_private_key_file") or private_key

    options = TransportOptions(user=case.user, private_key=private_key)
    target = resolve_target(Host(case.name, hostvars), options, [str(config)])
    destination = hostvars.get("ansible_host", case.name)
    case = Case(case.id, case.config, case.name, hostvars, case.user)
    want = ssh_g(str(config), _ansible_argv(case, named), destination)

    assert target.hostname == want["hostname"][0]
    assert str(target.port) == want["port"][0]
    assert target.user == want["user"][0]
    assert target.identities_only == (want["identitiesonly"][0] == "yes")
    keys = [_expand(p, target.user, target.hostname, str(target.port))
            for p in want["identityfile"]]
    if target.identity_files:
        assert target.identity_files == keys
    else:  # nothing named: both fall back to the default ~/.ssh/id_* files
        assert {os.path.basename(k) for k in keys} == SSH_DEFAULT_KEYS
    jumps = parse_jumps(want.get("proxyjump", [None])[0], "ssh -G")
    assert target.proxy_jump == jumps
