"""Unit tests for the Ansible-compatible inventory and host patterns."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from fleet.errors import InputError
from fleet.inventory import (
    Host,
    Inventory,
    format_hosts,
    load_inventory,
    parse_ini_value,
)
from fleet.inventory.builder import localhost_inventory
from fleet.inventory.patterns import expand_range, split_pattern

FIXTURES = Path(__file__).parent / "fixtures" / "inventory"
ALL_HOSTS = [
    "bastion", "web01", "web02", "web03", "web10",
    "db1", "db2", "db3", "db-old", "stage1", "stage3", "stage5",
]
WEB_VARS = {"ansible_user": "fleet", "tier": "prod", "retries": 3, "http_port": 8080}
DB_VARS = {
    "ansible_user": "fleet", "tier": "db", "retries": 3,
    "ansible_python_interpreter": "/usr/bin/python3",
}
# What hosts.ini and hosts.yaml both describe: host -> (groups, merged vars).
EXPECTED = {
    "bastion": (["ungrouped"], {"ansible_user": "jump", "tier": "all",
                                "ansible_host": "203.0.113.1"}),
    "web01": (["prod", "web"], WEB_VARS),
    "web02": (["prod", "web"], WEB_VARS),
    "web03": (["prod", "web"], WEB_VARS),
    "web10": (["prod", "web"], {"ansible_user": "fleet", "tier": "prod", "retries": 3,
                                "ansible_port": 2222, "ansible_become": True}),
    "db1": (["db", "prod"], DB_VARS),
    "db2": (["db", "prod"], DB_VARS),
    "db3": (["db", "prod"], DB_VARS),
    "db-old": (["db", "prod"], {**DB_VARS, "ansible_host": "10.0.0.9",
                                "note": "two words"}),
    "stage1": (["staging"], {"ansible_user": "fleet", "tier": "all"}),
    "stage3": (["staging"], {"ansible_user": "fleet", "tier": "all"}),
    "stage5": (["staging"], {"ansible_user": "fleet", "tier": "all"}),
}
SOURCES = ["hosts.ini", "hosts.yaml", "yaml_no_extension", "ini_no_extension"]


@pytest.fixture(scope="module")
def inv() -> Inventory:
    return load_inventory(str(FIXTURES / "hosts.ini"))


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return str(path)


def names(hosts: list[Host]) -> list[str]:
    return [host.name for host in hosts]


# ------------------------------------------------------------------ formats


@pytest.mark.parametrize("source", SOURCES)
def test_both_formats_give_the_same_hosts_groups_and_vars(source):
    inventory = load_inventory(str(FIXTURES / source))
    assert list(inventory.hosts) == ALL_HOSTS
    for host in inventory.hosts.values():
        groups, expected_vars = EXPECTED[host.name]
        assert inventory.groups_of(host) == groups, host.name
        assert host.vars == expected_vars, host.name


@pytest.mark.parametrize("source", SOURCES)
def test_group_tree_has_all_at_the_root(source):
    groups = load_inventory(str(FIXTURES / source)).groups
    assert sorted(groups["all"].children) == ["prod", "staging", "ungrouped"]
    assert groups["web"].parents == ["prod"]
    assert (groups["all"].depth, groups["prod"].depth, groups["db"].depth) == (0, 1, 2)


def test_one_line_that_looks_like_yaml_is_read_as_ini():
    inventory = load_inventory(str(FIXTURES / "one_host_with_port"))
    assert names(inventory.resolve("all")) == ["web1"]
    assert inventory.hosts["web1"].port == 2222


@pytest.mark.parametrize(
    "text, expected",
    [
        ("5", 5),
        ("1.5", 1.5),
        ("True", True),
        ("None", None),
        ("yes", "yes"),  # Ansible keeps yes/no as text in INI
        ("FALSE", "FALSE"),
        ("'quoted text'", "quoted text"),
        ("[1, 2]", [1, 2]),
        ("0755", "0755"),  # not a Python literal: stays text
        ("/usr/bin/python3", "/usr/bin/python3"),
        ("", ""),
    ],
)
def test_ini_values_are_python_literals_when_they_are_one(text, expected):
    assert parse_ini_value(text) == expected
    assert type(parse_ini_value(text)) is type(expected)


def test_ini_host_line_quotes_and_literals(tmp_path):
    path = write(tmp_path, "inv.ini", """
        [g]
        h1 count=2 on=False msg="hello world" list="[1, 'a']" empty=
        """)
    assert load_inventory(path).hosts["h1"].vars == {
        "count": 2, "on": False, "msg": "hello world", "list": [1, "a"], "empty": "",
    }


def test_ini_children_may_be_declared_before_their_groups(tmp_path):
    path = write(tmp_path, "inv.ini", """
        [prod:vars]
        tier=prod
        [prod:children]
        web
        [web]
        w1
        [prod]
        """)
    inventory = load_inventory(path)
    assert inventory.groups_of("w1") == ["prod", "web"]
    assert inventory.hosts["w1"].vars == {"tier": "prod"}


def test_host_in_several_groups_and_later_host_vars_win(tmp_path):
    path = write(tmp_path, "inv.ini", """
        [web]
        h1 role=web
        [backup]
        h1 role=backup
        h2
        """)
    inventory = load_inventory(path)
    assert inventory.groups_of("h1") == ["backup", "web"]
    assert inventory.hosts["h1"].vars == {"role": "backup"}
    assert names(inventory.resolve("backup")) == ["h1", "h2"]


def test_yaml_null_groups_hosts_and_top_level_groups(tmp_path):
    path = write(tmp_path, "inv.yaml", """
        web:
          hosts:
            w1:
            w2: ~
        empty:
        all:
          hosts:
            lone:
          children:
            ungrouped:
              hosts:
                w1:
        """)
    inventory = load_inventory(path)
    assert list(inventory.hosts) == ["w1", "w2", "lone"]
    assert inventory.groups_of("w1") == ["web"]  # a grouped host leaves ungrouped
    assert inventory.groups_of("lone") == ["ungrouped"]
    assert names(inventory.resolve("empty")) == []
    assert inventory.groups["empty"].parents == ["all"]


def test_yaml_hosts_given_as_one_name(tmp_path):
    path = write(tmp_path, "inv.yml", "g:\n  hosts: solo\n")
    assert names(load_inventory(path).resolve("g")) == ["solo"]


# ------------------------------------------------------------------ ranges


@pytest.mark.parametrize(
    "name, expected",
    [
        ("web", ["web"]),
        ("web[1:3]", ["web1", "web2", "web3"]),
        ("web[01:03]", ["web01", "web02", "web03"]),
        ("web[8:10]", ["web8", "web9", "web10"]),
        ("web[1:20:5]", ["web1", "web6", "web11", "web16"]),
        ("web[001:010:4]", ["web001", "web005", "web009"]),
        ("db[a:c]", ["dba", "dbb", "dbc"]),
        ("db[y:B]", ["dby", "dbz", "dbA", "dbB"]),
        ("n[:2]", ["n0", "n1", "n2"]),
        ("10.0.0.[1:3]", ["10.0.0.1", "10.0.0.2", "10.0.0.3"]),
        ("r[1:2]-[a:b].lan", ["r1-a.lan", "r1-b.lan", "r2-a.lan", "r2-b.lan"]),
    ],
)
def test_host_ranges_expand(name, expected):
    assert expand_range(name) == expected


@pytest.mark.parametrize(
    "name, why",
    [
        ("web[1:x]", "expected [START:END] or [START:END:STEP] with numbers or single"),
        ("web[1]", "expected [START:END]"),
        ("web[1:2:3:4]", "expected [START:END]"),
        ("web[1:]", "expected [START:END]"),
        ("web[aa:bb]", "expected [START:END]"),
        ("web[01:100]", "zero-padded START and END must have the same width"),
        ("web[3:1]", "START 3 is greater than END 1"),
        ("web[c:a]", "START 'c' comes after END 'a'"),
        ("web[1:5:0]", "STEP must be a whole number above 0, got '0'"),
        ("web[1:5:x]", "STEP must be a whole number above 0, got 'x'"),
        ("web[1:3", "unbalanced brackets"),
        ("web]1:3[", "unbalanced brackets"),
    ],
)
def test_bad_host_ranges_say_what_was_expected(name, why):
    with pytest.raises(InputError) as err:
        expand_range(name, "inv.ini", 7)
    assert str(err.value).startswith(f"inv.ini:7: bad host range '{name}': ")
    assert why in str(err.value)


# ------------------------------------------------------------------ precedence


PRECEDENCE = """
    all:
      vars: {v: all, from_all: 1}
      children:
        beta:
          vars: {v: beta}
          hosts: {h1: , h2: {v: host}}
        alpha:
          vars: {v: alpha, from_alpha: 1}
          hosts: {h1: , h2: }
        zz:
          vars: {v: zz, deep: zz}
          children:
            aa:
              vars: {v: aa, deep: aa}
              hosts: {h3: }
        top:
          vars: {v: top}
          hosts: {h3: }
"""


@pytest.mark.parametrize(
    "host, expected",
    [
        # siblings at one depth merge by name: beta after alpha
        ("h1", {"v": "beta", "from_all": 1, "from_alpha": 1}),
        # host vars beat every group
        ("h2", {"v": "host", "from_all": 1, "from_alpha": 1}),
        # a child group (depth 2) beats groups at depth 1, whatever their names
        ("h3", {"v": "aa", "from_all": 1, "deep": "aa"}),
    ],
)
def test_variable_precedence(tmp_path, host, expected):
    inventory = load_inventory(write(tmp_path, "inv.yaml", PRECEDENCE))
    assert inventory.hosts[host].vars == expected


def test_depth_is_the_longest_path_from_all(tmp_path):
    path = write(tmp_path, "inv.yaml", """
        a:
          children:
            b:
              children:
                c: {vars: {v: c}, hosts: {h: }}
            c:
            d: {vars: {v: d}, hosts: {h: }}
        """)
    inventory = load_inventory(path)
    assert [inventory.groups[g].depth for g in "abcd"] == [1, 2, 3, 2]
    assert inventory.hosts["h"].vars == {"v": "c"}  # depth 3 beats d at depth 2


def test_group_priority_reorders_siblings(tmp_path):
    text = PRECEDENCE.replace("{v: alpha,", "{ansible_group_priority: 5, v: alpha,")
    inventory = load_inventory(write(tmp_path, "inv.yaml", text))
    assert inventory.hosts["h1"].vars["v"] == "alpha"
    assert inventory.groups["alpha"].priority == 5
    assert "ansible_group_priority" not in inventory.hosts["h1"].vars


def test_ini_group_priority(tmp_path):
    path = write(tmp_path, "inv.ini", """
        [a]
        h
        [b]
        h
        [a:vars]
        v=a
        ansible_group_priority=2
        [b:vars]
        v=b
        """)
    assert load_inventory(path).hosts["h"].vars == {"v": "a"}


# ------------------------------------------------------------------ patterns


@pytest.mark.parametrize(
    "pattern, expected",
    [
        ("all", ALL_HOSTS),
        ("*", ALL_HOSTS),
        ("web", ["web01", "web02", "web03", "web10"]),
        ("web01", ["web01"]),
        ("web0*", ["web01", "web02", "web03"]),
        ("db?", ["db1", "db2", "db3"]),
        ("ungrouped", ["bastion"]),
        # union, by ':' or ',', in inventory order without duplicates
        ("db1:web01", ["web01", "db1"]),
        ("db1,web01, db1", ["web01", "db1"]),
        ("db:web", ["web01", "web02", "web03", "web10", "db1", "db2", "db3", "db-old"]),
        # exclusion and intersection
        ("db:!db3", ["db1", "db2", "db-old"]),
        ("prod:&db", ["db1", "db2", "db3", "db-old"]),
        ("web:&prod", ["web01", "web02", "web03", "web10"]),
        ("staging:&prod", []),
        ("!prod", ["bastion", "stage1", "stage3", "stage5"]),
        ("&db", ["db1", "db2", "db3", "db-old"]),
        # '&' terms run after plain terms, '!' terms last, wherever written
        ("!db1:db", ["db2", "db3", "db-old"]),
        ("&prod:db:staging", ["db1", "db2", "db3", "db-old"]),
        ("prod:!web:&db:!db-old", ["db1", "db2", "db3"]),
        # regex, matched from the start of the name
        ("~db[0-9]+", ["db1", "db2", "db3"]),
        ("~web(01|10)", ["web01", "web10"]),
        ("~eb", []),
        # subscripts pick from a group by position (Ansible: [x:y] inclusive)
        ("web[0]", ["web01"]),
        ("web[-1]", ["web10"]),
        ("webservers[0]", []),
        ("web[0:1]", ["web01", "web02"]),
        ("web[2:]", ["web03", "web10"]),
        ("web[9]", []),
        ("db[1]", ["db2"]),  # an index, not fnmatch's [1]
        ("web[0]:db[-1]", ["web01", "db-old"]),
        ("web[1:2]:!web03", ["web02"]),
        # a name that matches nothing is no error; localhost is implicit
        ("nosuch", []),
        ("web01:nosuch", ["web01"]),
    ],
)
def test_patterns(inv, pattern, expected):
    assert names(inv.resolve(pattern)) == expected


def test_implicit_localhost_is_local_and_outside_all(inv):
    (host,) = inv.resolve("localhost")
    assert (host.name, host.connection) == ("localhost", "local")
    assert host.vars["tier"] == "all"  # it still gets the all group's vars
    assert "localhost" not in names(inv.resolve("all"))


@pytest.mark.parametrize(
    "pattern, unmatched",
    [
        ("all", []),
        ("web:db", []),
        ("web:nosuch:!zzz", ["nosuch", "!zzz"]),
        ("web[9]", ["web[9]"]),
        ("web:&nothing", ["&nothing"]),
    ],
)
def test_unmatched_terms_are_reported(inv, pattern, unmatched):
    assert inv.unmatched(pattern) == unmatched


def test_unmatched_covers_the_limit(inv):
    assert inv.unmatched("web", limit="web01:ghost") == ["ghost"]


@pytest.mark.parametrize(
    "pattern, terms",
    [
        ("a:b", ["a", "b"]),
        ("a,b", ["a", "b"]),
        ("a:&b:!c", ["a", "&b", "!c"]),
        (" a , b:c ", ["a", "b", "c"]),
        ("web[0:2]:db", ["web[0:2]", "db"]),
        ("fe80::1", ["fe80::1"]),
        ("", []),
    ],
)
def test_split_pattern(pattern, terms):
    assert split_pattern(pattern) == terms


@pytest.mark.parametrize(
    "pattern, message",
    [
        ("", "the host pattern is empty"),
        ("web[0", "bad host pattern 'web[0': unbalanced brackets"),
        ("~db[", "bad host pattern '~db[': unbalanced brackets"),
        ("~db(", "bad host pattern '~db(': missing )"),
        ("web[0-1]", "use [START:END] (inclusive)"),
        ("web:!", "bad host pattern term '!': nothing after '!'"),
    ],
)
def test_bad_patterns(inv, pattern, message):
    with pytest.raises(InputError) as err:
        inv.resolve(pattern)
    assert message in str(err.value)


# ------------------------------------------------------------------ limit


@pytest.mark.parametrize(
    "pattern, limit, expected",
    [
        ("all", None, ALL_HOSTS),
        ("all", "db", ["db1", "db2", "db3", "db-old"]),
        ("web", "prod:!web03", ["web01", "web02", "web10"]),
        ("web", "db", []),
        ("db", "db[0:1]", ["db1", "db2"]),
        ("all", "!prod", ["bastion", "stage1", "stage3", "stage5"]),
        ("all", f"@{FIXTURES / 'limit.txt'}", ["web01", "db2"]),
        ("db", f"@{FIXTURES / 'limit.txt'}:bastion", ["db2"]),
    ],
)
def test_select_with_limit(inv, pattern, limit, expected):
    assert names(inv.select(pattern, limit=limit)) == expected


@pytest.mark.parametrize(
    "limit, message",
    [
        ("", "--limit is empty"),
        ("@/no/such/limit.txt", "/no/such/limit.txt: cannot read limit file"),
    ],
)
def test_bad_limits(inv, limit, message):
    with pytest.raises(InputError) as err:
        inv.select("all", limit=limit)
    assert message in str(err.value)


def test_select_checks_connection_vars_of_selected_hosts_only(tmp_path):
    path = write(tmp_path, "inv.yaml", """
        all:
          hosts:
            good:
            bad:
              ansible_port: ssh
        """)
    inventory = load_inventory(path)
    assert names(inventory.select("good")) == ["good"]
    with pytest.raises(InputError) as err:
        inventory.select("all")
    assert str(err.value) == (
        f"{path}:5: host 'bad': ansible_port must be a whole number "
        "from 1 to 65535, got 'ssh'"
    )


# ------------------------------------------------------------------ no file


def test_comma_separated_host_list():
    inventory = load_inventory("a, b:2222,web[1:2],")
    assert list(inventory.hosts) == ["a", "b", "web1", "web2"]
    assert inventory.hosts["b"].port == 2222
    assert inventory.hosts["a"].port == 22
    assert inventory.groups_of("web2") == ["ungrouped"]
    assert names(inventory.resolve("all")) == ["a", "b", "web1", "web2"]


def test_single_host_list_needs_its_trailing_comma():
    assert list(load_inventory("solo,").hosts) == ["solo"]
    with pytest.raises(InputError) as err:
        load_inventory("solo")
    assert "no such inventory file" in str(err.value)
    assert "-i 'solo,'" in str(err.value)


def test_existing_file_with_a_comma_is_a_file(tmp_path):
    path = write(tmp_path, "a,b", "[g]\nfromfile\n")
    assert list(load_inventory(path).hosts) == ["fromfile"]


@pytest.mark.parametrize("make", [lambda: load_inventory(None), localhost_inventory])
def test_no_inventory_means_local_localhost(make):
    inventory = make()
    (host,) = inventory.select("all")
    assert (host.name, host.connection) == ("localhost", "local")
    assert inventory.groups_of(host) == ["ungrouped"]


# ------------------------------------------------------------------ Host


@pytest.mark.parametrize(
    "host_vars, attribute, expected",
    [
        ({}, "address", "h"),
        ({"ansible_host": "10.1.1.1"}, "address", "10.1.1.1"),
        ({}, "port", 22),
        ({"ansible_port": 2200}, "port", 2200),
        ({"ansible_port": "2200"}, "port", 2200),
        ({}, "user", None),
        ({"ansible_user": "ops"}, "user", "ops"),
        ({"ansible_user": 1000}, "user", "1000"),
        ({"ansible_ssh_private_key_file": "~/.ssh/k"}, "key_file", "~/.ssh/k"),
        ({}, "key_file", None),
        ({"ansible_python_interpreter": "/opt/py"}, "python", "/opt/py"),
        ({}, "become", False),
        ({"ansible_become": True}, "become", True),
        ({"ansible_become": "yes"}, "become", True),
        ({"ansible_become": "On"}, "become", True),
        ({"ansible_become": "1"}, "become", True),
        ({"ansible_become": 1}, "become", True),
        ({"ansible_become": "no"}, "become", False),
        ({"ansible_become": "false"}, "become", False),
        ({}, "connection", "ssh"),
        ({"ansible_connection": "ssh"}, "connection", "ssh"),
        ({"ansible_connection": "local"}, "connection", "local"),
    ],
)
def test_host_connection_properties(host_vars, attribute, expected):
    assert getattr(Host("h", host_vars), attribute) == expected


@pytest.mark.parametrize(
    "host_vars, attribute, message",
    [
        ({"ansible_port": "ssh"}, "port", "ansible_port must be a whole number from 1"),
        ({"ansible_port": 0}, "port", "got 0"),
        ({"ansible_port": 70000}, "port", "got 70000"),
        ({"ansible_port": True}, "port", "got True"),
        ({"ansible_become": "maybe"}, "become", "ansible_become must be yes/no"),
        ({"ansible_become": None}, "become", "got None"),
        ({"ansible_connection": "docker"}, "connection", "'ssh' or 'local'"),
        ({"ansible_host": ["a"]}, "address", "ansible_host must be text"),
    ],
)
def test_bad_host_vars_are_input_errors(host_vars, attribute, message):
    with pytest.raises(InputError) as err:
        getattr(Host("h", host_vars), attribute)
    assert str(err.value).startswith("host 'h': ")
    assert message in str(err.value)


# ------------------------------------------------------------------ errors


BAD_INPUTS = [
    ("inventory.ini", "[web]\nweb1\nweb[1:x]\n", 3,
     "bad host range 'web[1:x]': expected [START:END] or [START:END:STEP] "
     "with numbers or single letters"),
    ("inventory.ini", "[web servers]\nw1\n", 1,
     "bad section header '[web servers]': expected [NAME], [NAME:vars] or "
     "[NAME:children] with no spaces"),
    ("inventory.ini", "[web]\nw1\n[web:things]\n", 3,
     "section [web:things] has unknown type: expected [NAME], [NAME:vars] or "
     "[NAME:children] with no spaces"),
    ("inventory.ini", "[web]\nw1 port 22\n", 2,
     "expected key=value host variable, got 'port'"),
    ("inventory.ini", "[web]\nw1\n[web:vars]\n\ndebug\n", 5,
     "expected key=value in [web:vars], got 'debug'"),
    ("inventory.ini", "[web]\nw1\n[prod:children]\nweb\ndb\n", 5,
     "section [prod:children] includes undefined group 'db'"),
    ("inventory.ini", "[web]\nw1\n# c\n[db:vars]\nx=1\n", 4,
     "section [db:vars] is for a group never defined"),
    ("inventory.ini", "[web]\nw1 msg='unclosed\n", 2,
     "cannot read host line: No closing quotation (check quotes)"),
    ("inventory.ini", "[web]\nw1:ssh\n", 2,
     "bad host 'w1:ssh': expected NAME or NAME:PORT with a numeric port"),
    ("inventory.ini", "[a:children]\nb\n[b:children]\na\n", 4,
     "adding group 'a' as a child of 'b' makes a loop"),
    ("inventory.ini", "[a]\nh\n[a:vars]\nansible_group_priority=high\n", 4,
     "ansible_group_priority of group 'a' must be a whole number, got 'high'"),
    ("inv.yaml", "all:\n  children:\n    web:\n    db:\n      - db1\n", 4,
     "group 'db' must be a mapping with hosts/vars/children, got a list"),
    ("inv.yaml", "web:\n  hosts:\n    - w1\n", 2,
     "hosts of group 'web' must be a mapping of host names to vars, got a list"),
    ("inv.yaml", "web:\n  host:\n    w1:\n", 2,
     "unexpected key 'host' in group 'web': expected hosts, vars or children"),
    ("inv.yaml", "web:\n  hosts:\n    w1: fast\n", 3,
     "host 'w1' in group 'web' must have a mapping of vars, got a string"),
    ("inv.yaml", "web:\n  vars:\n    - a\n", 2,
     "vars of group 'web' must be a mapping of variable names to values, got a list"),
    ("inv.yaml", "web:\n  hosts:\n    w1:\n  vars: {a: 1\n", 5,
     "YAML syntax error"),
    ("inv.yaml", "a:\n  children:\n    b:\n      children:\n        a:\n", 3,
     "adding group 'b' as a child of 'a' makes a loop"),
    ("inv.yaml", "- web\n- db\n", 1,
     "an inventory must map group names to groups, got a list"),
    ("inv.yaml", "web:\n  hosts:\n    w[3:1]:\n", 3,
     "bad host range 'w[3:1]': START 3 is greater than END 1"),
    ("inv.yaml", "plugin: aws_ec2\n", 1,
     "inventory plugin configs are not supported: give hosts and groups"),
    ("inv.yaml", "web:\n  hosts:\n    w1:\n    w1:\n", 4,
     "duplicate key 'w1' (first on line 3)"),
]


@pytest.mark.parametrize("name, text, line, message", BAD_INPUTS)
def test_bad_input_names_file_line_and_expectation(tmp_path, name, text, line, message):
    path = write(tmp_path, name, text)
    with pytest.raises(InputError) as err:
        load_inventory(path)
    assert (err.value.path, err.value.line) == (path, line)
    assert str(err.value).startswith(f"{path}:{line}: {message}")


@pytest.mark.parametrize(
    "name, text, message",
    [
        ("inv.yaml", "", "the inventory is empty"),
        ("inv.yaml", "# only a comment\n", "the inventory is empty"),
    ],
)
def test_empty_yaml_inventory_is_an_error(tmp_path, name, text, message):
    path = write(tmp_path, name, text)
    with pytest.raises(InputError) as err:
        load_inventory(path)
    expected = "expected groups like 'all: {hosts: ...}'"
    assert str(err.value) == f"{path}: {message}: {expected}"


def test_empty_folder_is_refused(tmp_path):
    (tmp_path / "notes.md").write_text("# not an inventory\n")
    with pytest.raises(InputError) as err:
        load_inventory(str(tmp_path))
    assert str(err.value).startswith(
        f"{tmp_path}: the inventory folder holds no inventory file"
    )


def test_empty_ini_inventory_has_no_hosts(tmp_path):
    inventory = load_inventory(write(tmp_path, "hosts", "# nothing yet\n"))
    assert inventory.resolve("all") == []
    assert inventory.unmatched("all") == ["all"]


# ------------------------------------------------------------------ listing


def test_describe(inv):
    assert inv.describe(inv.resolve("bastion")) == [
        {"name": "bastion", "groups": ["ungrouped"], "vars": EXPECTED["bastion"][1]},
    ]


def test_format_hosts(inv):
    assert format_hosts(inv.resolve("bastion:web10"), inv) == textwrap.dedent("""\
        bastion  groups: ungrouped
            ansible_host: 203.0.113.1
            ansible_user: jump
            tier: all

        web10  groups: prod, web
            ansible_become: true
            ansible_port: 2222
            ansible_user: fleet
            retries: 3
            tier: prod""")


def test_format_hosts_fits_80_columns():
    host_vars = {"long": "word " * 40, "nested": {"k": list(range(30))}, "p": "/x" * 60}
    host = Host("h" * 30, host_vars)
    groups = localhost_inventory().groups
    text = format_hosts([host], Inventory({host.name: host}, groups, {host.name: []}))
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert lines[0] == f"{'h' * 30}  groups: -"
    assert lines[1].startswith("    long: word word")
    assert lines[2].startswith("        word word")
    assert sum(line.startswith("    nested: ") for line in lines) == 1
    assert "".join(line.strip() for line in lines).count("/x") == 60


def test_yaml_without_extension_reports_yaml_errors(tmp_path):
    path = write(tmp_path, "hosts", "web:\n  - w1\n")
    with pytest.raises(InputError) as err:
        load_inventory(path)
    assert str(err.value) == (
        f"{path}:1: group 'web' must be a mapping with hosts/vars/children, got a list"
    )


def test_example_inventory_loads():
    example = Path(__file__).parents[2] / "inventory.example.yaml"
    inventory = load_inventory(str(example))
    hosts = {host.name: host for host in inventory.select("all")}
    assert len(hosts) == 16
    assert (hosts["bastion"].address, hosts["bastion"].port) == ("203.0.113.10", 2222)
    assert hosts["edgeb.example.com"].user == "edge"
    assert hosts["db2"].python == "/usr/bin/python3.11"
    assert hosts["web04"].become is True
    assert hosts["localhost"].connection == "local"
    assert names(inventory.select("db:!db3")) == ["db1", "db2", "db-replica"]
