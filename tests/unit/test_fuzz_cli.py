"""Property-based fuzzing of the CLI's input paths (hypothesis).

Inventories (YAML and INI), playbooks and command lines, hostile or merely
broken: ``fleet.cli.main`` runs in-process on paths that never contact a host
(``fleet inventory``, ``fleet render``, ``fleet jobs``, bad command lines) and
must exit 0 or 1, print no traceback, and answer within 5 s. Together the
tests below run over 2000 examples.
"""

from __future__ import annotations

import atexit
import contextlib
import io
import shutil
import tempfile
import time
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fleet.cli import main

WORK = Path(tempfile.mkdtemp(prefix="fleet-fuzz-"))
atexit.register(shutil.rmtree, WORK, True)
def fuzz(examples: int) -> settings:
    """Deterministic (CI reruns the same examples), no example database."""
    return settings(max_examples=examples, deadline=5000, derandomize=True,
                    database=None, suppress_health_check=list(HealthCheck))

NAMES = st.sampled_from(
    ["web", "db1", "web[01:03]", "w[a:c]", "x[0:99999999]", "h:2222", "h:" + "9" * 60,
     "../../etc/x", "a\u0000b", "all", "ungrouped", "[::1]:22", "10.0.0.1", "", "-",
     "web[1:2:0]", "w[3:1]", "~re", "h" * 300, "ansible_host", "\u00e9t\u00e9"])
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-10**6, 10**6),
    st.floats(allow_nan=True, allow_infinity=True), NAMES,
    st.text(max_size=30), st.sampled_from(["9" * 5000, "1e99999", "*a", "&a x"]))
VARS = st.sampled_from(["ansible_host", "ansible_port", "ansible_user",
                        "ansible_become", "ansible_python_interpreter",
                        "ansible_group_priority", "fleet_cache_dir", "x"])


def run_cli(*argv: str) -> tuple[int, str]:
    """Run the CLI in-process; (exit code, stdout + stderr)."""
    out, err = io.StringIO(), io.StringIO()
    began = time.monotonic()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(list(argv))
        except SystemExit as done:
            code = done.code if isinstance(done.code, int) else 1
    assert time.monotonic() - began < 5, argv
    return code, out.getvalue() + err.getvalue()


def check(code: int, text: str) -> None:
    assert code in (0, 1), text[-2000:]
    assert "Traceback" not in text, text[-2000:]


def write(name: str, text: str) -> Path:
    path = WORK / name
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    return path


host_vars = st.dictionaries(VARS, SCALARS, max_size=4)
group = st.fixed_dictionaries({}, optional={
    "hosts": st.dictionaries(NAMES, st.one_of(st.none(), host_vars), max_size=4),
    "vars": host_vars,
    "children": st.dictionaries(st.sampled_from(["web", "db", "all", "g"]),
                                st.none(), max_size=2),
})
yaml_inventory = st.dictionaries(st.sampled_from(["all", "web", "db", "plugin"]),
                                 st.one_of(st.none(), group), min_size=1, max_size=3)


def yaml_text(data) -> str:
    try:
        return yaml.safe_dump(data, allow_unicode=True)
    except yaml.YAMLError:
        return "all: {}\n"


HOSTILE_YAML = [
    "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
    "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c]\n"
    "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: [*e, *e, *e, *e, *e, *e, *e]\n",
    "all:\n  vars:\n    x: " + "[" * 5000 + "]" * 5000 + "\n",
    "all:\n  hosts:\n    h:\n      ansible_port: " + "9" * 5000 + "\n",
    "all:\n  hosts:\n    web[0:99999999]:\n",
    "all:\n  hosts:\n    w[0:999][0:999]:\n",
]


@fuzz(700)
@given(st.one_of(yaml_inventory.map(yaml_text), st.sampled_from(HOSTILE_YAML)),
       st.text(max_size=20))
def test_yaml_inventories(text, noise):
    path = write("inv.yaml", text + noise)
    check(*run_cli("inventory", "-i", str(path)))


INI_LINES = st.one_of(
    st.sampled_from(["[web]", "[web:vars]", "[web:children]", "[all:vars]", "[bad",
                     "[x:y]", "db", "web[01:99999999]", "h:" + "9" * 5000,
                     "h ansible_port=" + "9" * 5000, "h x='unclosed",
                     "h x=[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
                     "h x=" + "[" * 3000, "ansible_host=1.2.3.4", "# c", "; c",
                     "k=v", "a b c", "h ansible_become=yes"]),
    st.builds(lambda n, k, v: f"{n} {k}={v}", NAMES, VARS, st.text(max_size=10)),
    st.text(max_size=40),
)


@fuzz(700)
@given(st.lists(INI_LINES, max_size=12))
def test_ini_inventories(lines):
    path = write("inv.ini", "\n".join(lines) + "\n")
    check(*run_cli("inventory", "-i", str(path)))
    check(*run_cli("inventory", "web", "-i", str(path), "-l", "db:!x"))


JOB_ITEMS = st.one_of(
    st.fixed_dictionaries({"job": st.sampled_from(["biolatency", "syncsnoop", "nope",
                                                   "execsnoop"])},
                          optional={"params": st.dictionaries(
                              st.sampled_from(["per_disk", "comm", "pid", "x"]),
                              SCALARS, max_size=2),
                              "name": NAMES}),
    st.fixed_dictionaries({"name": NAMES, "text": st.text(max_size=60)},
                          optional={"outputs": st.just([{"table": {"map": "m"}}])}),
    SCALARS,
)
PLAY = st.fixed_dictionaries(
    {"jobs": st.one_of(st.lists(JOB_ITEMS, max_size=2), SCALARS)},
    optional={"name": NAMES, "hosts": NAMES,
              "duration": st.one_of(SCALARS, st.sampled_from(
                  ["10s", "99999999999999h", "1e400s", "-1s", "0", "500ms"])),
              "forks": st.one_of(SCALARS, st.just(10**30)),
              "ready_timeout": SCALARS, "keepalive": SCALARS, "tasks": SCALARS})


@fuzz(450)
@given(st.one_of(PLAY.map(yaml_text), st.sampled_from(HOSTILE_YAML)),
       st.sampled_from(["", "job"]))
def test_playbooks(text, job):
    path = write("pb.yaml", text)
    argv = ["render", str(path)] + ([job] if job else [])
    check(*run_cli(*argv))


ARGS = st.sampled_from(
    ["inventory", "jobs", "render", "report", "--rebuild", "-i", "-l", "-p", "-T",
     "nan", "-1", "1e99", "--json", "biolatency", "syncsnoop", "x=1", "comm=a b",
     "per_disk=yes", "min_latency_ms=" + "9" * 5000, "all", "web:!db", "~[", "@",
     "--help-me", "-f", "0", ",", "a,b:99999999,", str(WORK), "/dev/zero",
     "/nonexistent", "--rebuild=/dev/null"])


@fuzz(400)
@given(st.lists(ARGS, min_size=1, max_size=6))
def test_command_lines(argv):
    if argv[0] in ("run", "trace", "check"):
        return  # these contact hosts
    check(*run_cli(*argv))
