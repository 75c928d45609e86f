"""Unit tests: SSH settings resolution, ssh args, plan-time errors, known_hosts."""

from __future__ import annotations

import asyncssh
import pytest

from fleet.errors import InputError
from fleet.inventory.model import Host
from fleet.transport import check_hosts
from fleet.transport.base import TransportOptions
from fleet.transport.hostkeys import (
    changed_reason,
    known_hosts_name,
    lookup,
    record,
    unknown_reason,
)
from fleet.transport.sshargs import parse_ssh_args
from fleet.transport.sshconfig import Jump, parse_jumps, resolve_target


def resolve(vars=None, config="", tmp_path=None, name="h1", env=None, **options):
    """resolve_target with a config text (no default config files)."""
    files = []
    if config:
        path = tmp_path / "ssh_config"
        path.write_text(config)
        files = [str(path)]
    return resolve_target(Host(name, dict(vars or {})), TransportOptions(**options),
                          files, env={} if env is None else env)


# ---------------------------------------------------------------------------
# ssh args


@pytest.mark.parametrize("text, options, config, ignored", [
    ("-o ProxyJump=gw", [("ProxyJump", "gw")], None, []),
    ("-oProxyJump=gw -o 'User deploy'", [("ProxyJump", "gw"), ("User", "deploy")],
     None, []),
    ("-J a@b:2 -i ~/k -p 2222 -l u", [("ProxyJump", "a@b:2"),
     ("IdentityFile", "~/k"), ("Port", "2222"), ("User", "u")], None, []),
    ("-F /etc/fleet/ssh_config -C -q", [], "/etc/fleet/ssh_config", ["-C", "-q"]),
    ("-o ControlMaster=auto -o ControlPersist=60s -c aes128-ctr",
     [("ControlMaster", "auto"), ("ControlPersist", "60s")], None,
     ["-c aes128-ctr"]),
    ("-Jgw", [("ProxyJump", "gw")], None, []),
])
def test_ssh_args(text, options, config, ignored):
    args = parse_ssh_args(text, "v")
    assert (args.options, args.config_file, args.ignored) == (options, config, ignored)


@pytest.mark.parametrize("text", ["-o", "-J", "-o ProxyJump", "-o 'a b", "-o =x"])
def test_bad_ssh_args_name_the_var(text):
    with pytest.raises(InputError, match="ansible_ssh_common_args"):
        parse_ssh_args(text, "ansible_ssh_common_args")


@pytest.mark.parametrize("text, hops", [
    (None, []), ("none", []), ("gw", [Jump(None, "gw", None)]),
    ("u@gw:2222,gw2", [Jump("u", "gw", 2222), Jump(None, "gw2", None)]),
    ("ssh://u@[::1]:22", [Jump("u", "::1", 22)]),
    ("u@[10.0.0.1]:2200", [Jump("u", "10.0.0.1", 2200)]),
])
def test_parse_jumps(text, hops):
    assert parse_jumps(text, "x") == hops


@pytest.mark.parametrize("text", ["gw:port", "@:22", "gw:70000"])
def test_bad_jumps(text):
    with pytest.raises(InputError, match="ProxyJump"):
        parse_jumps(text, "host 'h1'")


# ---------------------------------------------------------------------------
# resolution


def test_no_user_anywhere_is_the_local_user(tmp_path):
    import getpass

    target = resolve(tmp_path=tmp_path)
    assert (target.user, target.port, target.hostname) == (getpass.getuser(), 22, "h1")
    assert target.sources["user"] == "local user"
    assert target.identity_files == [] and target.sources["keys"] == "defaults"


def test_sources_are_named(tmp_path):
    key = tmp_path / "k"
    key.write_text("x")
    target = resolve({"ansible_host": "10.0.0.9", "ansible_user": "a",
                      "ansible_port": "2200", "ansible_ssh_private_key_file": str(key)},
                     "Host *\n IdentityFile /k/cfg\n", tmp_path)
    assert (target.hostname, target.user, target.port) == ("10.0.0.9", "a", 2200)
    assert target.identity_files == [str(key), "/k/cfg"]
    assert target.sources == {
        "known_hosts": "default", "destination": "ansible_host",
        "user": "ansible_user", "port": "ansible_port",
        "keys": "ansible_ssh_private_key_file", "config": str(tmp_path / "ssh_config"),
    }


def test_agent_socket_from_env_and_identity_agent(tmp_path):
    assert resolve(tmp_path=tmp_path, env={"SSH_AUTH_SOCK": "/s"}).agent_path == "/s"
    off = resolve(config="Host *\n IdentityAgent none\n", tmp_path=tmp_path,
                  env={"SSH_AUTH_SOCK": "/s"})
    assert off.agent_path is None
    other = resolve(config="Host *\n IdentityAgent /a/b\n", tmp_path=tmp_path)
    assert other.agent_path == "/a/b"


def test_timeouts_and_keepalive(tmp_path):
    cfg = "Host *\n ConnectTimeout 3\n ServerAliveInterval 7\n ServerAliveCountMax 2\n"
    target = resolve(config=cfg, tmp_path=tmp_path)
    assert (target.connect_timeout, target.keepalive_interval,
            target.keepalive_count_max) == (3.0, 7.0, 2)
    assert resolve(config=cfg, tmp_path=tmp_path, connect_timeout=20).connect_timeout \
        == 20
    plain = resolve(tmp_path=tmp_path)
    assert (plain.connect_timeout, plain.keepalive_interval) == (10.0, 5.0)


def test_known_hosts_precedence(tmp_path):
    cfg = "Host *\n UserKnownHostsFile /cfg/kh /cfg/kh2\n"
    assert resolve(config=cfg, tmp_path=tmp_path).known_hosts == ["/cfg/kh", "/cfg/kh2"]
    assert resolve(config=cfg, tmp_path=tmp_path,
                   known_hosts="/opt/kh").known_hosts == ["/opt/kh"]
    var = resolve({"fleet_known_hosts": "/var/kh"}, cfg, tmp_path, known_hosts="/o")
    assert (var.known_hosts, var.sources["known_hosts"]) == (["/var/kh"],
                                                            "fleet_known_hosts")


def test_strict_host_key_checking_is_read(tmp_path):
    cfg = "Host *\n StrictHostKeyChecking accept-new\n"
    assert resolve(config=cfg, tmp_path=tmp_path).strict_host_key_checking == \
        "accept-new"
    assert resolve(tmp_path=tmp_path).strict_host_key_checking == "ask"


def test_ignored_ssh_options_are_noted(tmp_path):
    target = resolve({"ansible_ssh_common_args": "-C -o ControlMaster=auto"},
                     tmp_path=tmp_path)
    assert target.notes == ["ignored ssh argument '-C'",
                            "ignored ssh option ControlMaster"]


def test_ssh_F_replaces_the_config_files(tmp_path):
    other = tmp_path / "other"
    other.write_text("Host *\n Port 2999\n")
    target = resolve({"ansible_ssh_common_args": f"-F {other}"},
                     "Host *\n Port 2000\n", tmp_path)
    assert target.port == 2999 and target.config_files == [str(other)]


@pytest.mark.parametrize("vars, match", [
    ({"ansible_ssh_private_key_file": "/no/such/key"},
     "ansible_ssh_private_key_file names the key file /no/such/key"),
    ({"ansible_private_key_file": "/no/such/key"}, "ansible_private_key_file"),
    ({"ansible_password": "hunter2"}, "ansible_password is set, but fleet logs in "
     "with keys only"),
    ({"ansible_ssh_pass": "x"}, "ansible_ssh_pass"),
    ({"ansible_port": "twenty"}, "ansible_port must be a whole number"),
    ({"ansible_port": 0}, "ansible_port must be a whole number"),
    ({"ansible_user": ["a"]}, "ansible_user must be text"),
    ({"ansible_ssh_common_args": "-o ProxyJump=gw:bad"}, "bad ProxyJump hop"),
    ({"ansible_ssh_common_args": "-o Port=abc"}, "ssh_config"),
    ({"ansible_ssh_common_args": "-F /no/such/config"}, "not a file"),
    ({"ansible_become": "yes", "ansible_become_method": "su"},
     "ansible_become_method is 'su'"),
    ({"ansible_become": "maybe"}, "ansible_become must be yes/no"),
])
def test_plan_time_errors_name_host_and_var(vars, match):
    with pytest.raises(InputError, match=match) as err:
        check_hosts([Host("web1", vars, {k: ("inv.yaml", 7) for k in vars})],
                    TransportOptions())
    assert "web1" in str(err.value) and str(err.value).startswith("inv.yaml:7: ")


def test_unreadable_key_is_a_plan_time_error(tmp_path):
    with pytest.raises(InputError, match="--private-key .* cannot be read"):
        check_hosts([Host("h", {})], TransportOptions(private_key=str(tmp_path)))


def test_local_hosts_skip_ssh_checks():
    check_hosts([Host("localhost", {"ansible_connection": "local",
                                    "ansible_password": "x"})], TransportOptions())


def test_bad_ssh_config_line_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="ssh_config"):
        resolve(config="Host *\n Port many\n", tmp_path=tmp_path)


# ---------------------------------------------------------------------------
# known_hosts


KEY = asyncssh.generate_private_key("ssh-ed25519")
OTHER = asyncssh.generate_private_key("ssh-ed25519")


def _line(name, key):
    return f"{name} {key.export_public_key('openssh').decode().strip()}\n"


def test_known_hosts_name(tmp_path):
    assert known_hosts_name(resolve({"ansible_host": "10.0.0.1"},
                                    tmp_path=tmp_path)) == "10.0.0.1"
    assert known_hosts_name(resolve({"ansible_host": "10.0.0.1", "ansible_port": 2},
                                    tmp_path=tmp_path)) == "[10.0.0.1]:2"


def test_lookup_matches_the_port_exactly(tmp_path):
    kh = tmp_path / "kh"
    kh.write_text(_line("10.0.0.1", KEY))
    target = resolve({"ansible_host": "10.0.0.1", "ansible_port": 2201},
                     tmp_path=tmp_path, known_hosts=str(kh))
    known = lookup(target)
    assert not known.listed  # asyncssh alone would fall back to port 22's entry
    kh.write_text(_line("[10.0.0.1]:2201", KEY))
    known = lookup(target)
    assert known.listed and known.trusted[0] == [KEY.convert_to_public()]


def test_record_appends_a_first_seen_key(tmp_path):
    kh = tmp_path / "new" / "known_hosts"
    target = resolve({"ansible_host": "10.0.0.1", "ansible_port": 2201},
                     tmp_path=tmp_path, known_hosts=str(kh))
    known = lookup(target)
    assert (known.listed, known.files, known.record_to) == (False, [], str(kh))
    fp = record(known, KEY.convert_to_public())
    assert fp.startswith("ssh-ed25519 SHA256:")
    assert kh.read_text() == _line("[10.0.0.1]:2201", KEY)
    assert oct(kh.stat().st_mode & 0o777) == "0o600"
    assert lookup(target).listed


def test_refusal_reasons_give_the_remedy(tmp_path):
    kh = tmp_path / "kh"
    kh.write_text(_line("[10.0.0.1]:2201", OTHER))
    target = resolve({"ansible_host": "10.0.0.1", "ansible_port": 2201},
                     tmp_path=tmp_path, known_hosts=str(kh))
    known = lookup(target)
    unknown = unknown_reason(target, known, "ssh-ed25519 SHA256:abc")
    assert f"ssh-keyscan -p 2201 10.0.0.1 >> {kh}" in unknown
    assert "SHA256:abc" in unknown and "--accept-new-host-keys" in unknown
    changed = changed_reason(target, known, None)
    assert "does not match" in changed and "refused" in changed
    assert f"ssh-keygen -R '[10.0.0.1]:2201' -f {kh}" in changed
