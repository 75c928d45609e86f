"""Unit tests for custom jobs: a playbook item with its own BCC program."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from fleet import cli
from fleet.catalog import Catalog, JobSpec
from fleet.errors import InputError, SpellingWarning
from fleet.jobspec import auto_slots
from fleet.play import plan_run
from fleet.playbook import load_playbook

FIXTURE_JOBS = Path(__file__).parent / "fixtures" / "jobs"
PROGRAM = "int count(void *ctx) { return {{ min_len }}; }\n"


@pytest.fixture()
def catalog() -> Catalog:
    return Catalog([FIXTURE_JOBS])


def write_book(tmp_path: Path, jobs: str, program: str = PROGRAM) -> Path:
    """A playbook whose jobs block is ``jobs``, beside bpf/prog.c."""
    (tmp_path / "bpf").mkdir(exist_ok=True)
    (tmp_path / "bpf" / "prog.c").write_text(program)
    path = tmp_path / "book.yaml"
    path.write_text("name: custom\nduration: 1s\njobs:\n" + textwrap.indent(
        textwrap.dedent(jobs), "  "))
    return path


def one_job(attach: str = "- {kprobe: vfs_read, fn: count}",
            outputs: str = "- {kind: table, map: counts}", extra: str = "") -> str:
    """A custom job item with the given attach and outputs lists (YAML text)."""
    text = ("- name: mine\n  source: bpf/prog.c\n"
            "  params: {min_len: {type: int, default: 1}}\n")
    if attach is not None:
        text += "  attach:\n" + textwrap.indent(attach, "    ") + "\n"
    return text + "  outputs:\n" + textwrap.indent(outputs, "    ") + "\n" + extra


def render_one(tmp_path: Path, catalog: Catalog, jobs: str, program: str = PROGRAM):
    book = load_playbook(write_book(tmp_path, jobs, program), catalog)
    [job] = book.render(catalog)
    return job


# --- attach forms -------------------------------------------------------------

def tp(target, fn=None):
    return {"kind": "tracepoint", "target": target, "fn": fn}


def slot(probe, *points, optional=False):
    return {"probe": probe, "optional": optional, "points": list(points)}


UPROBE = {"kind": "uprobe", "target": "c:strlen", "fn": "count", "library": "c",
          "symbol": "strlen", "addr": None, "pid": None}
KP = {"kind": "kprobe", "target": "do_sys_openat2", "fn": "f"}
PERF = {"kind": "perf_event", "target": "software:cpu-clock", "fn": "on_sample",
        "freq": 49}
USDT = {"kind": "usdt", "target": "/usr/bin/python3:python:gc__start", "fn": "on_gc",
        "binary": "/usr/bin/python3", "provider": "python", "probe": "gc__start",
        "pid": None}
ATTACH_FORMS = [
    ('tracepoint: "sched:sched_switch"',
     slot("sched_switch", tp("sched:sched_switch"))),
    ('tracepoint: "sched:sched_switch"\nfn: on_switch',
     slot("sched_switch", tp("sched:sched_switch", "on_switch"))),
    ("raw_tracepoint: sched_switch\nfn: f",
     slot("sched_switch", {"kind": "raw_tracepoint", "target": "sched_switch",
                           "fn": "f"})),
    ("raw_tracepoint: sched_switch",
     slot("sched_switch", {"kind": "raw_tracepoint", "target": "sched_switch",
                           "fn": None})),
    ("kprobe: do_sys_openat2\nfn: f", slot("do_sys_openat2", KP)),
    ("kprobe: do_sys_openat2",
     slot("do_sys_openat2", dict(KP, fn=None))),
    ("kretprobe: do_sys_openat2",
     slot("do_sys_openat2_return", dict(KP, kind="kretprobe", fn=None))),
    ("kprobe: 'vfs_*'\nfn: f",
     slot("vfs__", dict(KP, target="vfs_*", pattern=True))),
    ("uprobe: c:strlen\nfn: count", slot("strlen", UPROBE)),
    ("uretprobe: /lib/libc.so.6:strlen\nfn: count\npid: 42",
     slot("strlen_return", dict(UPROBE, kind="uretprobe", library="/lib/libc.so.6",
                                target="/lib/libc.so.6:strlen", pid=42))),
    ("uprobe: c:0x1234\nfn: count",
     slot("addr_1234", dict(UPROBE, target="c:0x1234", symbol=None, addr=0x1234))),
    ("usdt: /usr/bin/python3:python:gc__start\nfn: on_gc", slot("gc__start", USDT)),
    ("usdt: /usr/bin/python3:gc__start\nfn: on_gc\npid: 9",
     slot("gc__start", dict(USDT, target="/usr/bin/python3:gc__start", provider=None,
                            pid=9))),
    ("perf_event: cpu-clock\nfrequency: 49\nfn: on_sample", slot("cpu_clock", PERF)),
    ("perf_event: instructions\nfn: s",
     slot("instructions", dict(PERF, target="hardware:instructions", fn="s"))),
    ("perf_event: cpu-cycles\nfrequency: '{{ min_len * 10 }}'\nfn: s",
     slot("cpu_cycles", dict(PERF, target="hardware:cpu-cycles", fn="s", freq=10))),
    ("points:\n  - tracepoint: 'syscalls:sys_enter_openat'\n  - kprobe: do_sys_openat2"
     "\n    fn: f\noptional: true",
     slot("sys_enter_openat", tp("syscalls:sys_enter_openat"), KP, optional=True)),
    ("kprobe: vfs_read\nprobe: reads\noptional: true",
     slot("reads", {"kind": "kprobe", "target": "vfs_read", "fn": None},
          optional=True)),
]

# The playbook's old spellings: each still works, with a SpellingWarning.
OLD_ATTACH_FORMS = [
    ('tracepoint: {name: "sched:sched_switch", fn: on_switch}',
     slot("sched_switch", tp("sched:sched_switch", "on_switch")),
     "{tracepoint: {...}} is now written {tracepoint: sched:sched_switch, fn: "
     "on_switch}"),
    ("raw_tracepoint: {name: sched_switch, fn: f}",
     slot("sched_switch", {"kind": "raw_tracepoint", "target": "sched_switch",
                           "fn": "f"}), "{raw_tracepoint: {...}}"),
    ("kprobe: {function: do_sys_openat2, fn: f}", slot("do_sys_openat2", KP),
     "{kprobe: {...}} is now written {kprobe: do_sys_openat2, fn: f}"),
    ("kretprobe: {function: vfs_read, fn: ret}",
     slot("vfs_read_return", {"kind": "kretprobe", "target": "vfs_read", "fn": "ret"}),
     "{kretprobe: {...}}"),
    ("uprobe: {library: c, symbol: strlen, fn: count}", slot("strlen", UPROBE),
     "{uprobe: {...}} is now written {uprobe: c:strlen, fn: count}"),
    ("uretprobe: {library: /lib/libc.so.6, symbol: strlen, fn: count, pid: 42}",
     slot("strlen_return", dict(UPROBE, kind="uretprobe", library="/lib/libc.so.6",
                                target="/lib/libc.so.6:strlen", pid=42)),
     "{uretprobe: {...}}"),
    ("uprobe: {library: c, addr: 0x1234, fn: count}",
     slot("addr_1234", dict(UPROBE, target="c:0x1234", symbol=None, addr=0x1234)),
     "{uprobe: c:0x1234, fn: count}"),
    ("uprobe: {library: c, addr: '0x10', fn: count}",
     slot("addr_10", dict(UPROBE, target="c:0x10", symbol=None, addr=16)),
     "{uprobe: c:0x10, fn: count}"),
    ("usdt: {provider: python, probe: gc__start, binary: /usr/bin/python3, fn: on_gc}",
     slot("gc__start", USDT), "{usdt: /usr/bin/python3:python:gc__start, fn: on_gc}"),
    ("usdt: {provider: python, probe: gc__start, pid: 99, fn: on_gc}",
     slot("gc__start", {"kind": "usdt", "target": "/proc/99/exe:python:gc__start",
                        "fn": "on_gc", "binary": "/proc/99/exe", "provider": "python",
                        "probe": "gc__start", "pid": 99}), "{usdt: {...}}"),
    ("perf_event: {event: cpu-clock, frequency: 49, fn: on_sample}",
     slot("cpu_clock", PERF), "{perf_event: cpu-clock, fn: on_sample, frequency: 49}"),
    ("perf_event: {event: 'software:task-clock', frequency: 99, fn: s}",
     slot("task_clock", dict(PERF, target="software:task-clock", fn="s", freq=99)),
     "{perf_event: task-clock, fn: s, frequency: 99}"),
    ("perf_event: cpu-clock\nfreq: 7\nfn: on_sample",
     slot("cpu_clock", dict(PERF, freq=7)), "`freq:` is now spelled `frequency:`"),
    ("perf_event: software:cpu-clock\nfn: on_sample", slot("cpu_clock", PERF),
     "perf_event 'software:cpu-clock' is now spelled 'cpu-clock'"),
    ("first_of:\n  - tracepoint: 'syscalls:sys_enter_openat'\n"
     "  - kprobe: {function: do_sys_openat2, fn: f}\noptional: true",
     slot("sys_enter_openat", tp("syscalls:sys_enter_openat"), KP, optional=True),
     "`first_of:` is now spelled `points:`"),
]


@pytest.mark.parametrize("item,expected,note", OLD_ATTACH_FORMS)
def test_old_attach_spellings_warn_and_work(tmp_path: Path, catalog: Catalog,
                                            item: str, expected: dict,
                                            note: str) -> None:
    with pytest.warns(SpellingWarning) as caught:
        job = render_one(tmp_path, catalog, one_job(attach="- " + item.replace(
            "\n", "\n  ")))
    assert job.attach == [expected]
    messages = [str(w.message) for w in caught]
    assert any(note in m for m in messages), messages
    assert all(m.startswith(f"{tmp_path / 'book.yaml'}:") for m in messages)
    assert 8 <= int(messages[0].split(":")[1]) <= 10


@pytest.mark.parametrize("item,expected", ATTACH_FORMS)
@pytest.mark.filterwarnings("error::fleet.errors.SpellingWarning")
def test_attach_forms(tmp_path: Path, catalog: Catalog, item: str,
                      expected: dict) -> None:
    job = render_one(tmp_path, catalog, one_job(attach="- " + item.replace(
        "\n", "\n  ")))
    assert job.attach == [expected]


def test_slot_names_are_made_unique(tmp_path: Path, catalog: Catalog) -> None:
    attach = ("- kprobe: vfs_read\n- {kprobe: vfs_read, fn: count}\n"
              "- kprobe: vfs_write\n  probe: vfs_read_2")
    job = render_one(tmp_path, catalog, one_job(attach=attach))
    assert [s["probe"] for s in job.attach] == ["vfs_read", "vfs_read_3", "vfs_read_2"]


def test_when_drops_a_slot(tmp_path: Path, catalog: Catalog) -> None:
    attach = "- kprobe: vfs_read\n  when: min_len > 5\n- kprobe: vfs_write"
    job = render_one(tmp_path, catalog, one_job(attach=attach))
    assert [s["probe"] for s in job.attach] == ["vfs_write"]


# --- auto-attach (no attach:) -------------------------------------------------

AUTO_C = """\
TRACEPOINT_PROBE(syscalls, sys_enter_sync) { return 0; }
int kprobe__vfs_read(struct pt_regs *ctx) { return 0; }
int kretprobe__vfs_read(struct pt_regs *ctx) { return 0; }
RAW_TRACEPOINT_PROBE(sched_switch) { return 0; }
/* int kprobe__commented_out(void *ctx) */
// TRACEPOINT_PROBE(sched, also_commented)
int helper(void) { return kprobe_count; }
"""


def test_auto_slots_scan_the_c() -> None:
    assert auto_slots(AUTO_C) == [
        slot("sys_enter_sync", tp("syscalls:sys_enter_sync")),
        slot("vfs_read", {"kind": "kprobe", "target": "vfs_read", "fn": None}),
        slot("vfs_read_return", {"kind": "kretprobe", "target": "vfs_read",
                                 "fn": None}),
        slot("sched_switch", {"kind": "raw_tracepoint", "target": "sched_switch",
                              "fn": None}),
    ]


def test_omitted_attach_scans_the_rendered_c(tmp_path: Path, catalog: Catalog) -> None:
    program = ("{% if min_len > 0 %}TRACEPOINT_PROBE(sched, sched_switch) "
               "{ return 0; }{% endif %}\n")
    job = render_one(tmp_path, catalog, one_job(attach=None), program)
    assert job.attach == [slot("sched_switch", tp("sched:sched_switch"))]


def test_omitted_attach_without_auto_probes_is_an_error(tmp_path: Path,
                                                       catalog: Catalog) -> None:
    book = load_playbook(write_book(tmp_path, one_job(attach=None)), catalog)
    with pytest.raises(InputError) as err:
        book.render(catalog)
    assert "has no attach: and its C has no TRACEPOINT_PROBE" in err.value.message
    assert (err.value.path, err.value.line) == (str(tmp_path / "book.yaml"), 4)


# --- output forms -------------------------------------------------------------

def out(name, kind, map_, **extra):
    base = {"name": name, "kind": kind, "map": map_, "unit": None, "decode": {},
            "time": None, "columns": [], "top": None, "stack_map": None,
            "fields": None, "interval": None, "ratios": None, "scale": None,
            "meminfo": None}
    return {**base, **extra}


OUTPUT_FORMS = [
    ("{kind: histogram, map: dist, unit: usecs}",
     out("dist", "histogram", "dist", unit="usecs", scale="log2")),
    ("{kind: histogram, map: dist, scale: linear, name: lat, decode: {dev: disk}}",
     out("lat", "histogram", "dist", scale="linear", decode={"dev": "disk"})),
    ("{kind: histogram, map: dist, unit: \"{{ 'ms' if min_len > 1 else 'us' }}\"}",
     out("dist", "histogram", "dist", unit="us", scale="log2")),
    ("{kind: table, map: counts, top: 20}", out("counts", "table", "counts", top=20)),
    ("{kind: events, map: events, time: ts, columns: [comm, {field: lat, unit: us}]}",
     out("events", "events", "events", time="ts",
         columns=[{"field": "comm", "unit": None}, {"field": "lat", "unit": "us"}],
         buffer_pages=64)),
    ("{kind: stacks, map: counts, stack_map: stack_traces, top: 10}",
     out("counts", "stacks", "counts", stack_map="stack_traces", top=10)),
    ("{kind: trace}", out("trace", "trace", None)),
    ("{kind: trace, name: lines}", out("lines", "trace", None)),
]
OLD_OUTPUT_FORMS = [
    ("hist: {map: dist, unit: usecs}", OUTPUT_FORMS[0][1]),
    ("hist: {map: dist, scale: linear, name: lat, decode: {dev: disk}}",
     OUTPUT_FORMS[1][1]),
    ("table: {map: counts, key: string, top: 20}", OUTPUT_FORMS[3][1]),
    ("events: {map: events, time: ts, columns: [comm, {field: lat, unit: us}]}",
     OUTPUT_FORMS[4][1]),
    ("stacks: {map: counts, stack_map: stack_traces, top: 10}", OUTPUT_FORMS[5][1]),
    ("trace: {}", out("trace", "trace", None)),
    ("trace:", out("trace", "trace", None)),
    ("trace: {name: lines}", out("lines", "trace", None)),
]


@pytest.mark.parametrize("item,expected", OUTPUT_FORMS)
@pytest.mark.filterwarnings("error::fleet.errors.SpellingWarning")
def test_output_forms(tmp_path: Path, catalog: Catalog, item: str,
                      expected: dict) -> None:
    job = render_one(tmp_path, catalog, one_job(outputs="- " + item))
    assert job.outputs == [expected]


@pytest.mark.parametrize("item,expected", OLD_OUTPUT_FORMS)
def test_old_output_spellings_warn_and_work(tmp_path: Path, catalog: Catalog,
                                            item: str, expected: dict) -> None:
    with pytest.warns(SpellingWarning, match=r"book.yaml:10: \{\w+: \{...\}\} is "
                      r"now written \{kind: \w+, ...\}"):
        job = render_one(tmp_path, catalog, one_job(outputs="- " + item))
    assert job.outputs == [expected]


# --- rendering ---------------------------------------------------------------

def test_render_with_params_and_source_name(tmp_path: Path, catalog: Catalog) -> None:
    jobs = one_job() + textwrap.dedent("""\
        - name: inline
          text: |
            static const char want[] = {{ comm | c_chars }};
            int f(void *ctx) { return {{ n }}; }
          params:
            n: {type: int, default: 7}
            comm: {type: comm, default: sh}
          attach: [{kprobe: vfs_read, fn: f}]
          outputs: [{kind: trace}]
        - job: lat
        """)
    book = load_playbook(write_book(tmp_path, jobs), catalog)
    mine, inline, lat = book.render(catalog)
    assert mine.source == "int count(void *ctx) { return 1; }\n"
    assert (mine.job, mine.params, mine.source_name) == ("mine", {"min_len": 1},
                                                         "prog.c")
    assert mine.summary == "your own program prog.c"
    assert inline.source == ("static const char want[] = {0x73, 0x68, 0x00};\n"
                             "int f(void *ctx) { return 7; }\n")
    assert inline.source_name == "book.yaml:inline"
    assert lat.source_name == "program.bpf.c"
    assert inline.to_plan()["source_name"] == "book.yaml:inline"
    assert isinstance(book.jobs[0].spec, JobSpec)


def test_render_job_applies_cli_params(tmp_path: Path, catalog: Catalog) -> None:
    book = load_playbook(write_book(tmp_path, one_job()), catalog)
    assert "return 5;" in book.render_job(catalog, "mine", {"min_len": "5"}).source
    assert "return 1;" in book.render_job(catalog, None, {}).source
    with pytest.raises(InputError, match="must be an integer, got 'x'"):
        book.render_job(catalog, "mine", {"min_len": "x"})
    with pytest.raises(InputError, match="has no param 'nope'"):
        book.render_job(catalog, "mine", {"nope": "1"})
    with pytest.raises(InputError, match="no job 'other'; its jobs: mine"):
        book.render_job(catalog, "other", {})


def test_fleet_render_playbook_job(tmp_path: Path, capsys) -> None:
    path = write_book(tmp_path, one_job())
    assert cli.main(["render", str(path), "mine", "-p", "min_len=3"]) == 0
    assert capsys.readouterr().out == "int count(void *ctx) { return 3; }\n"
    assert cli.main(["render", str(path), "nope"]) == 1
    assert "no job 'nope'" in capsys.readouterr().err
    assert cli.main(["render", "biolatency", "extra"]) == 1
    assert "must be an existing" in capsys.readouterr().err


def test_undefined_name_in_source_file_names_the_c_line(tmp_path: Path,
                                                        catalog: Catalog) -> None:
    book = load_playbook(write_book(tmp_path, one_job(), "int a;\n{{ nope }}\n"),
                         catalog)
    with pytest.raises(InputError) as err:
        book.render(catalog)
    assert str(err.value) == (f"{tmp_path / 'bpf' / 'prog.c'}:2: template error: "
                              "'nope' is undefined")


def test_inline_text_errors_name_the_playbook_line(tmp_path: Path,
                                                   catalog: Catalog) -> None:
    jobs = ("- name: inline\n  text: |\n    int a;\n    int b;\n    {{ nope }}\n"
            "  outputs: [{kind: trace}]\n")
    book = load_playbook(write_book(tmp_path, jobs), catalog)
    with pytest.raises(InputError) as err:
        book.render(catalog)
    # the playbook: 3 header lines, "- name" on 4, "text: |" on 5, C from line 6
    assert (err.value.path, err.value.line) == (str(tmp_path / "book.yaml"), 8)
    assert "'nope' is undefined" in err.value.message
    with pytest.raises(InputError) as err:
        load_playbook(write_book(tmp_path, jobs.replace("{{ nope }}", "{% if %}")),
                      catalog)
    assert (err.value.line, "template syntax error" in err.value.message) == (8, True)


def test_plan_run_takes_custom_jobs(tmp_path: Path, catalog: Catalog) -> None:
    book = load_playbook(write_book(tmp_path, one_job()), catalog)
    plan = plan_run(book, catalog, runs_root=tmp_path / "runs")
    assert [(j.id, j.source_name) for j in plan.jobs] == [("mine", "prog.c")]
    assert [h.name for h in plan.hosts] == ["localhost"]


# --- errors: each names the playbook, its line and what was expected ------------

BAD = [
    (one_job(attach="- fentry: vfs_read"),
     "an attach slot has `points: [...]` (tried in order) or one point", 8),
    (one_job(attach="- kprob: vfs_read"), "(did you mean 'kprobe'?)", 8),
    (one_job(attach="- uprobe: {library: c, symbol: strlen}"),
     "a uprobe point is missing required key 'fn'", 8),
    (one_job(attach="- uprobe: {library: c, symbol: strlen, addr: 1, fn: f}"),
     "a uprobe needs exactly one of symbol or addr", 8),
    (one_job(attach="- usdt: {probe: gc__start, fn: f}"),
     "a usdt point needs binary: (a path) or pid:", 8),
    (one_job(attach="- {perf_event: page-faults, fn: f}"),
     "perf_event target must look like one of cpu-clock, task-clock, cpu-cycles, "
     "instructions", 8),
    (one_job(attach="- tracepoint: sched_switch"),
     "tracepoint target must look like category:name, got 'sched_switch'", 8),
    (one_job(attach="- {kprobe: vfs_read, fn: 1bad}"),
     "fn must name the C function to attach (a C identifier), got '1bad'", 8),
    (one_job(attach="- {kprobe: vfs_read, fnn: f}"),
     "unknown key 'fnn' in a kprobe point (did you mean 'fn'?)", 8),
    (one_job(attach="- points: []"), "points must be a non-empty list", 8),
    (one_job(attach="- points:\n    - kprobe: a\n      optional: true"),
     "unknown key 'optional' in a kprobe point", 10),
    (one_job(attach="- kprobe: a\n  optional: 1"), "optional must be true or false", 9),
    (one_job(attach="- kprobe: a\n  probe: x\n- kprobe: b\n  probe: x"),
     "probe 'x' is declared twice (first on line 8)", 10),
    (one_job(attach="[]"), "attach must be a non-empty list", 7),
    (one_job(outputs="- histogram: {map: dist}"),
     "(did you mean {kind: histogram, ...}?)", 10),
    (one_job(outputs="- {kind: histogram, map: dist, scale: log10}"),
     "scale must be one of log2, linear, got 'log10'", 10),
    (one_job(outputs="- hist: {unit: usecs}"),
     "a hist output is missing required key 'map'", 10),
    (one_job(outputs="- {kind: table, map: counts, top: 0}"),
     "top must be an integer >= 1", 10),
    (one_job(outputs="- trace: {map: x}"), "unknown key 'map' in a trace output", 10),
    (one_job(outputs="- {kind: events, map: e, time: 3}"),
     "time field must be a C ident", 10),
    (one_job(outputs="- {kind: table, map: a}\n- {kind: table, map: a}"),
     "output 'a' is declared twice (first on line 10)", 11),
    (one_job(outputs="- table: counts"), "table must be a mapping with keys: map", 10),
    (one_job().replace("bpf/prog.c", "bpf/missing.c"),
     "cannot read source 'bpf/missing.c' of job 'mine'", 5),
    (one_job().replace("  source: bpf/prog.c\n",
                       "  source: bpf/prog.c\n  text: 'int x;'\n"),
     "a custom job needs exactly one of source: (a C file, relative to the playbook)"
     " or text: (inline C)", 6),
    (one_job().replace("  source: bpf/prog.c\n", ""),
     "a custom job needs exactly one of source:", 4),
    ("- name: x\n  params: {}\n", "a jobs item needs job: NAME (a catalog job) or "
     "source: FILE / text: C (your own program)", 4),
    ("- job: lat\n  source: bpf/prog.c\n",
     "a jobs item runs either a catalog job (job:) or your own program", 5),
    (one_job().replace("- name: mine\n  source", "- source"),
     "a custom job (source: or text:) is missing required key 'name'", 4),
    (one_job(outputs="[]").replace("  outputs:\n    []\n", ""),
     "is missing required key 'outputs'", 4),
    (one_job().replace("{min_len: {type: int, default: 1}}", "{min_len: 1}"),
     "param 'min_len' must be a mapping like {type: int", 6),
    (one_job().replace("{type: int, default: 1}", "{type: integer}"),
     "param 'min_len' has type 'integer'; expected one of bool", 6),
    (one_job().replace("default: 1}", "default: x}"),
     "default of param 'min_len' must be an integer or null, got 'x'", 6),
    (one_job().replace("name: mine", "name: 'my job'"), "job name 'my job' must be",
     4),
    (one_job(extra="  sumary: x\n"),
     "unknown key 'sumary' in a jobs item (did you mean 'summary'?)", 11),
]


@pytest.mark.parametrize("jobs,message,line", BAD)
def test_bad_custom_jobs(tmp_path: Path, catalog: Catalog, jobs: str, message: str,
                         line: int) -> None:
    with pytest.raises(InputError) as err:
        load_playbook(write_book(tmp_path, jobs), catalog)
    assert message in err.value.message
    assert (err.value.path, err.value.line) == (str(tmp_path / "book.yaml"), line)


def test_cli_reports_a_bad_custom_job_without_traceback(tmp_path: Path,
                                                         capsys) -> None:
    path = write_book(tmp_path, one_job(attach="- fentry: vfs_read"))
    assert cli.main(["render", str(path), "mine"]) == 1
    err = capsys.readouterr().err
    assert f"{path}:8: an attach slot has" in " ".join(err.split())
    assert "Traceback" not in err
