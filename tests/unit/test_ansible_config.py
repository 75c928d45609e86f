"""Unit tests: finding and reading ansible.cfg and the ANSIBLE_* environment."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from fleet.ansible_config import find_config_file, load_ansible_config
from fleet.errors import InputError


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    """A HOME of our own, so ~/.ansible.cfg is the test's."""
    path = tmp_path / "home"
    path.mkdir()
    monkeypatch.setenv("HOME", str(path))
    return path


def folder(tmp_path: Path, name: str, cfg: str | None = None) -> Path:
    path = tmp_path / name
    path.mkdir(mode=0o755)
    os.chmod(path, 0o755)  # not world-writable whatever the umask
    if cfg is not None:
        (path / "ansible.cfg").write_text(cfg)
    return path


def test_first_found_env_then_cwd_then_home(tmp_path, home):
    cwd = folder(tmp_path, "work", "[defaults]\n")
    named = folder(tmp_path, "named", "[defaults]\n")
    (home / ".ansible.cfg").write_text("[defaults]\n")
    assert find_config_file({"ANSIBLE_CONFIG": str(named / "ansible.cfg")},
                            str(cwd)) == (str(named / "ansible.cfg"), [])
    # ANSIBLE_CONFIG may name a folder holding ansible.cfg.
    assert find_config_file({"ANSIBLE_CONFIG": str(named)}, str(cwd))[0] == str(
        named / "ansible.cfg")
    assert find_config_file({}, str(cwd))[0] == str(cwd / "ansible.cfg")
    empty = folder(tmp_path, "empty")
    assert find_config_file({}, str(empty))[0] == str(home / ".ansible.cfg")


def test_missing_ansible_config_warns_and_falls_through(tmp_path, home):
    cwd = folder(tmp_path, "work", "[defaults]\n")
    path, warnings = find_config_file({"ANSIBLE_CONFIG": "/nonexistent.cfg"},
                                      str(cwd))
    assert path == str(cwd / "ansible.cfg")
    assert warnings == [f"ANSIBLE_CONFIG names /nonexistent.cfg, which is not a "
                        f"readable file; using {cwd}/ansible.cfg"]


def test_world_writable_cwd_is_skipped_with_a_warning(tmp_path, home):
    cwd = folder(tmp_path, "public", "[defaults]\nforks = 3\n")
    os.chmod(cwd, 0o777)
    path, warnings = find_config_file({}, str(cwd))
    assert path is None or path != str(cwd / "ansible.cfg")
    assert "is world-writable" in warnings[0]


CFG = """\
[defaults]
inventory = hosts.ini, ../other
remote_user = deploy   ; the account we log in as
private_key_file = ~/keys/fleet
forks = 7
timeout = 4
host_key_checking = False

[ssh_connection]
pipelining = True
"""


def test_defaults_are_read_with_lines_and_paths_relative_to_the_file(tmp_path, home):
    cwd = folder(tmp_path, "work", CFG)
    config = load_ansible_config({}, str(cwd))
    assert config.path == str(cwd / "ansible.cfg")
    assert config.get("inventory") == [str(cwd / "hosts.ini"), str(cwd / "../other")]
    assert config.get("remote_user") == "deploy"
    assert config.get("private_key_file") == str(home / "keys/fleet")
    assert (config.get("forks"), config.get("timeout")) == (7, 4.0)
    assert config.settings["forks"].origin == f"{cwd}/ansible.cfg:5"
    assert config.get("host_key_checking") is False
    note = config.host_key_note()
    assert note.startswith(f"{cwd}/ansible.cfg:7 turns host_key_checking off;")
    assert "ssh-keyscan" in note and "--accept-new-host-keys" in note


def test_environment_wins_over_the_file(tmp_path, home):
    cwd = folder(tmp_path, "work", CFG)
    env = {"ANSIBLE_INVENTORY": "a.yaml,b", "ANSIBLE_REMOTE_USER": "ops",
           "ANSIBLE_PRIVATE_KEY_FILE": "k", "ANSIBLE_FORKS": "9",
           "ANSIBLE_TIMEOUT": "2.5", "ANSIBLE_HOST_KEY_CHECKING": "yes"}
    config = load_ansible_config(env, str(cwd))
    assert config.get("inventory") == [str(cwd / "a.yaml"), str(cwd / "b")]
    assert (config.get("remote_user"), config.get("private_key_file")) == (
        "ops", str(cwd / "k"))
    assert (config.get("forks"), config.get("timeout")) == (9, 2.5)
    assert config.settings["forks"].origin == "ANSIBLE_FORKS"
    assert config.host_key_note() is None


@pytest.mark.parametrize("text, message, line", [
    ("[defaults]\nforks = 0\n", "forks must be a whole number from 1 to 10000", 2),
    ("[defaults]\nforks = many\n", "got 'many'", 2),
    ("[defaults]\n\nforks = 100000000000000000000\n", "from 1 to 10000", 3),
    ("[defaults]\ntimeout = nan\n", "timeout must be a number of seconds", 2),
    ("[defaults]\ntimeout = -1\n", "above 0 and at most 3600", 2),
    ("[defaults]\nhost_key_checking = maybe\n", "must be a boolean", 2),
    ("forks = 3\n", "not a valid ansible.cfg: File contains no section headers", 1),
    ("[defaults]\nforks = 3\nforks = 4\n", "not a valid ansible.cfg: option 'forks'",
     3),
    ("[defaults]\nthis line is not an option\n", "not a valid ansible.cfg", 2),
])
def test_bad_config_names_file_and_line(tmp_path, home, text, message, line):
    cwd = folder(tmp_path, "work", text)
    with pytest.raises(InputError) as err:
        load_ansible_config({}, str(cwd))
    assert (err.value.path, err.value.line) == (str(cwd / "ansible.cfg"), line)
    assert message in err.value.message


@pytest.mark.parametrize("name, value, message", [
    ("ANSIBLE_FORKS", "0", "^ANSIBLE_FORKS must be a whole number"),
    ("ANSIBLE_TIMEOUT", "inf", "^ANSIBLE_TIMEOUT must be a number of seconds"),
    ("ANSIBLE_HOST_KEY_CHECKING", "perhaps", "must be a boolean"),
])
def test_bad_environment_values(tmp_path, home, name, value, message):
    with pytest.raises(InputError, match=message):
        load_ansible_config({name: value}, str(folder(tmp_path, "work")))


def test_inventory_sources_precedence(tmp_path, home):
    cwd = folder(tmp_path, "work", "[defaults]\ninventory = hosts\n")
    (cwd / "hosts").write_text("[g]\nh\n")
    config = load_ansible_config({}, str(cwd))
    assert config.inventory_sources(["cli.ini", "x,"]) == ["cli.ini", "x,"]
    assert config.inventory_sources(None) == [str(cwd / "hosts")]
    assert load_ansible_config({}, str(folder(tmp_path, "none"))
                               ).inventory_sources(None) == []


def test_configured_inventory_that_does_not_exist(tmp_path, home):
    cwd = folder(tmp_path, "work", "[defaults]\n\ninventory = nosuch\n")
    config = load_ansible_config({}, str(cwd))
    with pytest.raises(InputError) as err:
        config.inventory_sources(None)
    assert str(err.value) == (f"{cwd}/ansible.cfg:3: inventory {cwd}/nosuch does "
                              "not exist (give -i to use another)")
    env_config = load_ansible_config({"ANSIBLE_INVENTORY": "/no/such"}, str(cwd))
    with pytest.raises(InputError, match="^ANSIBLE_INVENTORY: inventory /no/such"):
        env_config.inventory_sources(None)
