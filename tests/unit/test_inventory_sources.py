"""Unit tests: several -i sources, inventory folders, group_vars/host_vars, -e."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from fleet.errors import InputError
from fleet.inventory import load_inventory
from fleet.inventory.extravars import parse_extra_vars
from fleet.inventory.folders import inventory_files, is_ignored
from fleet.inventory.varsdirs import vars_files


def put(base: Path, name: str, text: str = "") -> Path:
    """Write a file (parents made), dedented."""
    path = base / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


# ------------------------------------------------------------------ folders


@pytest.mark.parametrize("name, ignored", [
    ("hosts.ini", False), ("hosts", False), ("web.yaml", False), ("x.json", False),
    ("hosts~", True), ("hosts.bak", True), ("hosts.orig", True), ("a.retry", True),
    ("a.pyc", True), ("README.md", True), ("notes.txt", True), ("a.rst", True),
    ("ansible.cfg", True), ("x.swp", True), (".hidden", True), ("group_vars", True),
    ("host_vars", True), ("vars_plugins", True), ("my_group_vars", False),
])
def test_folder_entries_ansible_skips(name, ignored):
    assert is_ignored(name) is ignored


def test_folder_files_sorted_and_recursive(tmp_path):
    for name in ("b.ini", "a.yaml", "sub/c", "sub/.d", "z.bak", "group_vars/all",
                 "sub/host_vars/h", "README.md"):
        put(tmp_path, name, "")
    found = [p.relative_to(tmp_path).as_posix() for p in inventory_files(tmp_path)]
    assert found == ["a.yaml", "b.ini", "sub/c"]


def test_folder_inventory_reads_every_file_and_its_vars_dirs(tmp_path):
    put(tmp_path, "inv/10-web.ini", "[web]\nw1\nw2 port_note=inline\n")
    put(tmp_path, "inv/20-db.yaml", "db:\n  hosts:\n    d1:\n")
    put(tmp_path, "inv/hosts.bak", "[web]\nghost\n")
    put(tmp_path, "inv/group_vars/web.yml", "role: web\n")
    put(tmp_path, "inv/host_vars/d1.json", '{"role": "primary"}\n')
    inventory = load_inventory(str(tmp_path / "inv"))
    assert list(inventory.hosts) == ["w1", "w2", "d1"]
    assert inventory.hosts["w1"].vars == {"role": "web"}
    assert inventory.hosts["d1"].vars == {"role": "primary"}


def test_inventory_script_is_refused(tmp_path):
    path = put(tmp_path, "ec2.py", "#!/usr/bin/env python3\nprint('{}')\n")
    with pytest.raises(InputError, match=r"ec2.py:1: this looks like an inventory"):
        load_inventory(str(path))


# ------------------------------------------------------------------ vars files


def test_first_of_name_yml_yaml_json_wins(tmp_path):
    for name in ("db.yaml", "db.json", "web.yml", "web.yaml"):
        put(tmp_path, name, "{}\n")
    assert vars_files(tmp_path, "db") == [tmp_path / "db.yaml"]
    assert vars_files(tmp_path, "web") == [tmp_path / "web.yml"]
    put(tmp_path, "web", "{}\n")
    assert vars_files(tmp_path, "web") == [tmp_path / "web"]
    assert vars_files(tmp_path, "nosuch") == []
    assert vars_files(tmp_path / "missing", "db") == []


def test_vars_folder_files(tmp_path):
    for name in ("web/02.yml", "web/01.yaml", "web/sub/03", "web/.hidden.yml",
                 "web/x.yml~", "web/notes.txt", "web/conf.d/04.yml", "web/05.json"):
        put(tmp_path, name, "{}\n")
    found = [p.relative_to(tmp_path).as_posix() for p in vars_files(tmp_path, "web")]
    assert found == ["web/01.yaml", "web/02.yml", "web/05.json", "web/sub/03"]


PRECEDENCE_INI = """
[all:vars]
v_all=inv_all
v_groups=inv_all
v_files=inv_all
v_host=inv_all

[parent:children]
child

[parent:vars]
v_groups=inv_parent
v_files=inv_parent

[child]
h1 v_host=inv_host v_hostvars=inv_host

[child:vars]
v_groups=inv_child
v_files=inv_child
"""


@pytest.mark.parametrize("key, expected", [
    ("v_all", "inv_all"),          # only the inventory's all sets it
    ("v_groups", "inv_child"),     # child group over parent over all
    ("v_files", "gv_child"),       # group_vars files over inventory group vars
    ("v_gv_all", "gv_all"),
    ("v_gv_order", "gv_child"),    # group_vars/child over group_vars/parent
    ("v_host", "inv_host"),        # inventory host vars over every group file
    ("v_hostvars", "hv"),          # host_vars over inventory host vars
    ("v_extra", "extra"),          # -e over everything
])
def test_vars_precedence(tmp_path, key, expected):
    inv = put(tmp_path, "hosts.ini", PRECEDENCE_INI)
    put(tmp_path, "group_vars/all.yml", "v_files: gv_all\nv_gv_all: gv_all\n"
        "v_host: gv_all\nv_gv_order: gv_all\n")
    put(tmp_path, "group_vars/parent.yml", "v_files: gv_parent\nv_gv_order: gv_parent\n"
        "v_host: gv_parent\n")
    put(tmp_path, "group_vars/child/main.yml", "v_files: gv_child\n"
        "v_gv_order: gv_child\nv_extra: gv_child\n")
    put(tmp_path, "host_vars/h1", "v_hostvars: hv\nv_extra: hv\n")
    extra = parse_extra_vars(["v_extra=extra"])
    host = load_inventory(str(inv), extra).hosts["h1"]
    assert host.vars[key] == expected


def test_later_source_wins_and_each_brings_its_vars_dirs(tmp_path):
    first = put(tmp_path, "a/hosts.ini", "[web]\nw1 from_a=1\n")
    put(tmp_path, "a/group_vars/web.yml", "who: a\nonly_a: 1\n")
    second = put(tmp_path, "b/hosts.yaml", "web:\n  hosts:\n    w2:\n")
    put(tmp_path, "b/group_vars/web.yml", "who: b\n")
    inventory = load_inventory([str(first), str(second), "solo,"])
    assert list(inventory.hosts) == ["w1", "w2", "solo"]
    assert inventory.hosts["w1"].vars == {"from_a": 1, "who": "b", "only_a": 1}
    assert inventory.groups_of(inventory.hosts["solo"]) == ["ungrouped"]
    assert inventory.source == f"{first}, {second}, solo,"


def test_bad_vars_file_names_file_and_line(tmp_path):
    inv = put(tmp_path, "hosts", "[web]\nw1\n")
    bad = put(tmp_path, "group_vars/web.yml", "- a\n- b\n")
    with pytest.raises(InputError) as err:
        load_inventory(str(inv))
    assert str(err.value) == (
        f"{bad}:1: a vars file must map variable names to values, got a list")
    put(tmp_path, "group_vars/web.yml", "a: 1\na: 2\n")
    with pytest.raises(InputError, match=r"web.yml:2: duplicate key 'a'"):
        load_inventory(str(inv))


def test_bad_connection_var_from_a_vars_file_names_that_file(tmp_path):
    inv = put(tmp_path, "hosts", "[web]\nw1\n")
    bad = put(tmp_path, "host_vars/w1.yml", "x: 1\nansible_port: many\n")
    with pytest.raises(InputError) as err:
        load_inventory(str(inv)).select("all")
    assert str(err.value).startswith(f"{bad}:2: host 'w1': ansible_port must be")


def test_implicit_localhost_gets_all_vars_host_vars_and_extra(tmp_path):
    inv = put(tmp_path, "hosts", "[web]\nw1\n[all:vars]\na=1\n")
    put(tmp_path, "group_vars/all.yml", "b: 2\n")
    put(tmp_path, "host_vars/localhost.yml", "c: 3\n")
    (host,) = load_inventory(str(inv), parse_extra_vars(["d=4"])).resolve("localhost")
    assert host.vars == {"a": 1, "b": 2, "c": 3, "d": "4",
                         "ansible_connection": "local"}


def test_empty_host_list_is_an_error():
    with pytest.raises(InputError, match=r"the host list -i ',' names no host"):
        load_inventory(",")


# ------------------------------------------------------------------ -e


@pytest.mark.parametrize("values, expected", [
    (["a=1 b='two words'"], {"a": "1", "b": "two words"}),
    (['{"n": 1, "l": [1, 2]}'], {"n": 1, "l": [1, 2]}),
    (["{n: 1}", "n=2"], {"n": "2"}),
    (["ansible_user=deploy", '{"ansible_port": 2222}'],
     {"ansible_user": "deploy", "ansible_port": 2222}),
    ([""], {}),
    ([], {}),
])
def test_extra_vars_forms(values, expected):
    assert parse_extra_vars(values).vars == expected


def test_extra_vars_file(tmp_path):
    path = put(tmp_path, "vars.yml", "k: v\nn: [1]\n")
    layer = parse_extra_vars([f"@{path}"])
    assert layer.vars == {"k": "v", "n": [1]}
    assert layer.origins["n"] == (str(path), 2)


@pytest.mark.parametrize("value, message", [
    ("novalue", "'novalue' is not key=value"),
    ("a='unclosed", "check quotes"),
    ("[1, 2]", "expected key=value pairs, a YAML/JSON mapping"),
    ("{a: [}", "-e/--extra-vars:1: YAML syntax error"),
    ("/etc/vars.yml", "to read a file, write -e @/etc/vars.yml"),
    ("@", "name the file after the @"),
    ("@/nonexistent/v.yml", "/nonexistent/v.yml: cannot read file"),
])
def test_bad_extra_vars(value, message):
    with pytest.raises(InputError) as err:
        parse_extra_vars([value])
    assert message in str(err.value)


# ------------------------------------------------------------------ targeting


def test_target_warns_per_unmatched_term_and_refuses_no_host(tmp_path):
    inventory = load_inventory(str(put(tmp_path, "hosts", "[web]\nw1\nw2\n")))
    hosts, warnings = inventory.target("w1:hots2")
    assert [h.name for h in hosts] == ["w1"]
    assert warnings == ["could not match supplied host pattern, ignoring: hots2"]
    with pytest.raises(InputError) as err:
        inventory.target("nosuch")
    assert str(err.value) == (
        f"no host matches the host pattern 'nosuch' in inventory {tmp_path}/hosts")
    with pytest.raises(InputError, match="limited by 'db'"):
        inventory.target("web", "db")
