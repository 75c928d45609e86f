"""Unit tests for job discovery, job.yaml validation, param types and rendering."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

import fleet
from fleet.catalog import Catalog, RenderedJob
from fleet.errors import InputError
from fleet.params import ParamSpec, check_value

FIXTURE_JOBS = Path(__file__).parent / "fixtures" / "jobs"

GOOD_YAML = """\
summary: test job
params:
  n: {type: int, default: 3}
attach:
  - probe: p
    points:
      - tracepoint: sched:sched_switch
outputs:
  - name: out
    kind: histogram
    map: dist
"""


@pytest.fixture()
def catalog() -> Catalog:
    return Catalog([FIXTURE_JOBS])


def make_job(base: Path, name: str, yaml_text: str, c_text: str = "int x;\n") -> Path:
    """Write a job folder under base and return its path."""
    job_dir = base / name
    job_dir.mkdir(parents=True)
    (job_dir / "job.yaml").write_text(textwrap.dedent(yaml_text))
    (job_dir / "program.bpf.c").write_text(c_text)
    return job_dir


def render_c(tmp_path: Path, c_text: str, params_yaml: str, values: dict) -> str:
    """Render a one-off template with the given params block and values."""
    text = GOOD_YAML.replace("  n: {type: int, default: 3}\n", params_yaml)
    make_job(tmp_path, "t", text, c_text)
    return Catalog([tmp_path]).get("t").render(values, "t").source


# --- discovery ---------------------------------------------------------------

def test_discovery_finds_job_folders_and_ignores_others(catalog: Catalog) -> None:
    assert catalog.names() == ["lat", "snoop"]  # notes/ has no job.yaml


def test_earlier_dir_wins_and_missing_dirs_are_skipped(tmp_path: Path) -> None:
    make_job(tmp_path / "mine", "lat", GOOD_YAML.replace("test job", "my lat"))
    cat = Catalog([tmp_path / "mine", tmp_path / "absent", FIXTURE_JOBS])
    assert cat.names() == ["lat", "snoop"]
    assert cat.get("lat").summary == "my lat"


def test_default_catalog_uses_checkout_bpf_dir() -> None:
    package = Path(fleet.__file__).parent
    expected = package / "_data" / "bpf"
    if not expected.is_dir():
        expected = package.parent / "bpf"
    assert Catalog.default().dirs == [expected]


def test_unknown_job_lists_known_and_suggests(catalog: Catalog) -> None:
    with pytest.raises(InputError) as err:
        catalog.get("snop")
    assert str(err.value) == ("unknown job 'snop' (did you mean 'snoop'?); "
                              "known jobs: lat, snoop")


def test_get_parses_fixture_job(catalog: Catalog) -> None:
    spec = catalog.get("lat")
    assert spec.summary == "Fixture latency histogram (tests only)."
    assert list(spec.params) == ["per_disk", "queued", "milliseconds",
                                 "min_latency_ms", "disk"]
    assert spec.params["min_latency_ms"] == ParamSpec(
        "min_latency_ms", "int", 0, "skip faster I/O", 0, 3600000)
    assert [s.probe for s in spec.slots] == ["issue", "start", "complete"]


# --- bad job.yaml ------------------------------------------------------------

BAD_JOBS = [
    ("summary: x\n", "job.yaml is missing required key 'outputs'", 1),
    ("[1, 2]\n", "job.yaml must be a mapping", 1),
    (GOOD_YAML + "kind: histogram\n", "unknown key 'kind' in job.yaml", 12),
    (GOOD_YAML.replace("summary: test job", "sumary: x"),
     "unknown key 'sumary' in job.yaml (did you mean 'summary'?)", 1),
    (GOOD_YAML.replace("tracepoint: sched:sched_switch", "fentry: vfs_read"),
     "an attach point is a mapping {kind: target} (plus fn)", 7),
    (GOOD_YAML.replace("tracepoint: sched:sched_switch", "tracepoint: sched_switch"),
     "tracepoint target must look like category:name, got 'sched_switch'", 7),
    (GOOD_YAML.replace("      - tracepoint: sched:sched_switch",
                       "      - tracepoint: a:b\n        fn: 1bad"),
     "fn must name the C function to attach (a C identifier), got '1bad'", 8),
    (GOOD_YAML.replace("    map: dist\n", ""),
     "output is missing required key 'map'", 9),
    (GOOD_YAML.replace("kind: histogram", "kind: heatmap"),
     "output kind must be one of histogram, events, table", 10),
    (GOOD_YAML + "    time: ts\n", "`time` is only for events outputs", 12),
    (GOOD_YAML + "    top: 5\n", "`top` is only for table and stacks outputs", 12),
    (GOOD_YAML + "    scale: log10\n", "scale must be one of log2, linear", 12),
    (GOOD_YAML.replace("kind: histogram", "kind: table") + "    scale: linear\n",
     "`scale` is only for histogram outputs", 12),
    (GOOD_YAML.replace("kind: histogram", "kind: trace"),
     "a trace output reads bpf_trace_printk lines and takes no map", 11),
    (GOOD_YAML + "    decode: {dev: 3}\n", "decode entries must be field: decoder", 12),
    (GOOD_YAML + "  - name: out\n    kind: table\n    map: t\n",
     "output 'out' is declared twice (first on line 9)", 12),
    (GOOD_YAML.replace("    points:", "    when: 'n >'\n    points:"),
     "bad `when` expression", 6),
    (GOOD_YAML.replace(GOOD_YAML[GOOD_YAML.index("attach:"):GOOD_YAML.index("outputs")],
                       "attach: []\n"), "attach must be a non-empty list", 4),
    (GOOD_YAML.replace("{type: int, default: 3}", "{type: integer}"),
     "param 'n' has type 'integer'; expected one of bool, int", 3),
    (GOOD_YAML.replace("{type: int, default: 3}", "{type: int, pattern: x}"),
     "unknown key 'pattern' in param 'n' of type int", 3),
    (GOOD_YAML.replace("{type: int, default: 3}", "{type: int, default: -1, min: 0}"),
     "default of param 'n' must be an integer >= 0 or null, got -1", 3),
    (GOOD_YAML.replace("{type: int, default: 3}", "{type: str, default: a}"),
     "str param 'n' needs a `pattern:` regex", 3),
    (GOOD_YAML.replace("{type: int, default: 3}", "{type: str, pattern: '(['}"),
     "pattern of param 'n' is not a valid regex", 3),
    (GOOD_YAML.replace("  n: {type", "  loop: {type"),
     "param name 'loop' must be a lower-case identifier", 3),
    (GOOD_YAML.replace("tracepoint: sched:sched_switch",
                       'tracepoint: "sched:sched_switch\\n"'),
     "tracepoint target must look like category:name", 7),
    (GOOD_YAML.replace("{type: int, default: 3}", "{type: int, min: 5, max: 1}"),
     "param 'n' has min 5 above max 1", 3),
]


@pytest.mark.parametrize("text,message,line", BAD_JOBS)
def test_bad_job_yaml(tmp_path: Path, text: str, message: str, line: int) -> None:
    make_job(tmp_path, "bad", text)
    with pytest.raises(InputError) as err:
        Catalog([tmp_path]).get("bad")
    assert message in err.value.message
    assert err.value.path == str(tmp_path / "bad" / "job.yaml")
    assert err.value.line == line


def test_missing_template_is_an_error(tmp_path: Path) -> None:
    job_dir = make_job(tmp_path, "bad", GOOD_YAML)
    (job_dir / "program.bpf.c").unlink()
    with pytest.raises(InputError, match="cannot read the job's C template"):
        Catalog([tmp_path]).get("bad")


# --- param types -------------------------------------------------------------

INT = ParamSpec("n", "int", min=0, max=10)
FLOAT = ParamSpec("r", "float", min=0, max=1)
STR = ParamSpec("s", "str", pattern="[a-z]+", max_len=4)
PARAM_VALUES = [
    (ParamSpec("b", "bool"), True, True),
    (ParamSpec("b", "bool"), False, True),
    (ParamSpec("b", "bool"), "true", False),
    (ParamSpec("b", "bool"), 1, False),
    (INT, 0, True),
    (INT, 10, True),
    (INT, 11, False),
    (INT, -1, False),
    (INT, True, False),
    (INT, 2.0, False),
    (INT, "3", False),
    (ParamSpec("n", "int"), 2**63, False),
    (FLOAT, 0.5, True),
    (FLOAT, 1, True),
    (FLOAT, 1.5, False),
    (FLOAT, float("nan"), False),
    (FLOAT, False, False),
    (STR, "abcd", True),
    (STR, "abcde", False),
    (STR, "ab1", False),
    (STR, "", False),
    (ParamSpec("c", "comm"), "bash", True),
    (ParamSpec("c", "comm"), "kworker/0:1 x", True),
    (ParamSpec("c", "comm"), "a" * 16, False),
    (ParamSpec("c", "comm"), "", False),
    (ParamSpec("c", "comm"), 'a"b', False),
    (ParamSpec("c", "comm"), "a\\b", False),
    (ParamSpec("c", "comm"), "tab\there", False),
    (ParamSpec("c", "comm"), "café", False),
    (ParamSpec("c", "comm"), "bash\n", False),
    (ParamSpec("d", "disk"), "nvme0n1", True),
    (ParamSpec("d", "disk"), "dm-0", True),
    (ParamSpec("d", "disk"), "..", False),
    (ParamSpec("d", "disk"), "sda/../x", False),
    (ParamSpec("d", "disk"), "x" * 32, False),
    (ParamSpec("d", "disk"), "sda\n", False),
    (ParamSpec("d", "disk"), 5, False),
    (ParamSpec("d", "disk"), None, True),
]


@pytest.mark.parametrize("spec,value,ok", PARAM_VALUES)
def test_param_values(spec: ParamSpec, value: object, ok: bool) -> None:
    assert spec.accepts(value) is ok


CLI_VALUES = [
    (ParamSpec("b", "bool"), "yes", True),
    (ParamSpec("b", "bool"), "False", False),
    (ParamSpec("b", "bool"), "no", False),
    (ParamSpec("b", "bool"), "maybe", "maybe"),
    (INT, "7", 7),
    (INT, "010", 10),
    (INT, "0x10", 16),
    (INT, "fast", "fast"),
    (FLOAT, "0.25", 0.25),
    (FLOAT, "half", "half"),
    (ParamSpec("c", "comm"), "true", "true"),
]


@pytest.mark.parametrize("spec,text,value", CLI_VALUES)
def test_cli_strings_convert_by_type(spec: ParamSpec, text: str, value: object) -> None:
    assert spec.from_cli(text) == value
    assert type(spec.from_cli(text)) is type(value)


def test_wrong_type_message_says_what_was_expected() -> None:
    spec = ParamSpec("min_latency_ms", "int", min=0)
    with pytest.raises(InputError) as err:
        check_value(spec, "fast", "biosnoop", "playbook.yaml", 9)
    assert str(err.value) == ("playbook.yaml:9: param 'min_latency_ms' of job "
                              "'biosnoop' must be an integer >= 0, got 'fast'")


def test_float_param_is_stored_as_float() -> None:
    assert check_value(FLOAT, 1, "j") == 1.0
    assert isinstance(check_value(FLOAT, 1, "j"), float)


# --- rendering ---------------------------------------------------------------

def test_render_numbers_bools_and_defaults(catalog: Catalog) -> None:
    job = catalog.get("lat").render({"min_latency_ms": 5, "per_disk": True}, "j1")
    assert "#define MIN_NS (5ULL * 1000000ULL)" in job.source
    assert "#define PER_DISK 1" in job.source
    assert "BPF_HISTOGRAM(dist, struct disk_slot);" in job.source
    assert job.params == {"per_disk": True, "queued": False, "milliseconds": False,
                          "min_latency_ms": 5, "disk": None}
    assert job.id == "j1" and job.job == "lat"


def test_render_float(catalog: Catalog) -> None:
    source = catalog.get("snoop").render({"ratio": 0.25}, "s").source
    assert "#define RATIO 0.25\n" in source


def test_c_chars_and_c_len(catalog: Catalog) -> None:
    source = catalog.get("snoop").render({"comm": "dd"}, "s").source
    assert "want_comm[] = {0x64, 0x64, 0x00};" in source
    assert "#define WANT_COMM_LEN 2" in source
    assert "prefix[5] = {0x2f, 0x76, 0x61, 0x72, 0x00};" in source


def test_unset_string_param_is_falsy(catalog: Catalog) -> None:
    source = catalog.get("snoop").render({}, "s").source
    assert "want_comm" not in source


@pytest.mark.parametrize("expr", [
    "{{ s }}", "{{ s | upper }}", "{{ s ~ 'x' }}", "{{ s.raw() }}", "{{ s._value }}",
    "{{ s[0] }}", "{{ s | e }}", "{{ '%s' % s }}", "{{ s | attr('_value') }}",
    "{{ s | string }}", "{{ s | join }}", "{{ s | list }}", "{{ s | tojson }}",
])
def test_raw_string_param_cannot_reach_c(tmp_path: Path, expr: str) -> None:
    params = "  s: {type: str, pattern: '[a-z]+', default: abc}\n"
    with pytest.raises(InputError) as err:
        render_c(tmp_path, f"int a;\n{expr}\n", params, {})
    assert err.value.path == str(tmp_path / "t" / "program.bpf.c")
    assert err.value.line == 2
    assert "abc" not in str(err.value)


def test_raw_string_guard_message(tmp_path: Path) -> None:
    params = "  s: {type: comm, default: bash}\n"
    with pytest.raises(InputError) as err:
        render_c(tmp_path, "{{ s }}", params, {})
    assert "string param s can only be used via | c_chars / | c_len" in str(err.value)


def test_string_param_compares_in_conditions(tmp_path: Path) -> None:
    params = "  s: {type: comm, default: bash}\n"
    text = "{% if s == 'bash' %}yes{% else %}no{% endif %}"
    assert render_c(tmp_path, text, params, {}) == "yes"


def test_c_chars_on_unset_param_is_an_error(tmp_path: Path) -> None:
    params = "  s: {type: comm, default: null}\n"
    with pytest.raises(InputError, match="off \\(null\\)"):
        render_c(tmp_path, "{{ s | c_chars }}", params, {})


def test_disk_param_goes_to_resolve(catalog: Catalog) -> None:
    job = catalog.get("lat").render({"disk": "nvme0n1"}, "lat")
    assert job.resolve == {"disk": {"type": "disk", "value": "nvme0n1"}}
    assert "((dev) == FLEET_DEV_DISK)" in job.source
    assert "nvme0n1" not in job.source
    assert catalog.get("lat").render({}, "lat").resolve == {}


def test_when_drops_slots(catalog: Catalog) -> None:
    spec = catalog.get("lat")
    assert [a["probe"] for a in spec.render({}, "x").attach] == ["issue", "complete"]
    queued = spec.render({"queued": True}, "x").attach
    assert queued[1] == {"probe": "start", "optional": False, "points": [
        {"kind": "tracepoint", "target": "block:block_rq_insert", "fn": None},
        {"kind": "kprobe", "target": "blk_account_io_start",
         "fn": "trace_start_kprobe"},
    ]}
    assert queued[2]["optional"] is True


def test_when_with_undefined_name_names_job_yaml(tmp_path: Path) -> None:
    text = GOOD_YAML.replace("    points:", "    when: nope\n    points:")
    make_job(tmp_path, "t", text)
    with pytest.raises(InputError) as err:
        Catalog([tmp_path]).get("t").render({}, "t")
    assert (err.value.path, err.value.line) == (str(tmp_path / "t" / "job.yaml"), 5)
    assert "'nope' is undefined" in err.value.message


def test_outputs_are_rendered_with_params(catalog: Catalog) -> None:
    spec = catalog.get("lat")
    assert spec.render({}, "x").outputs == [{
        "name": "latency", "kind": "histogram", "map": "dist", "unit": "usecs",
        "decode": {"dev": "disk"}, "time": None, "columns": [], "top": None,
            "stack_map": None, "fields": None, "interval": None, "ratios": None,
            "scale": "log2", "meminfo": None}]
    assert spec.render({"milliseconds": True}, "x").outputs[0]["unit"] == "msecs"
    events = catalog.get("snoop").render({}, "x").outputs
    assert events[0]["columns"][2] == {"field": "lat_us", "unit": "usecs"}
    assert events[1]["top"] == 10


def test_undefined_variable_names_template_line(tmp_path: Path) -> None:
    with pytest.raises(InputError) as err:
        render_c(tmp_path, "int a;\nint b;\n{{ nope }}\n", "", {})
    assert str(err.value) == (f"{tmp_path / 't' / 'program.bpf.c'}:3: "
                              "template error: 'nope' is undefined")


def test_template_syntax_error_names_line(tmp_path: Path) -> None:
    make_job(tmp_path, "t", GOOD_YAML, "int a;\n{% if n %}\n")
    with pytest.raises(InputError) as err:
        Catalog([tmp_path]).get("t")
    assert err.value.path == str(tmp_path / "t" / "program.bpf.c")
    assert err.value.line == 2
    assert "template syntax error" in err.value.message


def test_render_rejects_bad_params(catalog: Catalog) -> None:
    with pytest.raises(InputError, match="job 'lat' has no param 'per_dsk' "
                                         "\\(did you mean 'per_disk'\\?\\)"):
        catalog.get("lat").render({"per_dsk": True}, "x")


def test_to_plan_is_plain_data(catalog: Catalog) -> None:
    job = catalog.get("lat").render({"disk": "sda"}, "x")
    plan = job.to_plan()
    assert set(plan) == {"id", "job", "params", "source", "attach", "resolve",
                         "outputs", "summary", "btf", "source_name"}
    assert plan["source_name"] == "program.bpf.c"  # a catalog job's file
    plan["attach"].clear()
    assert job.attach  # a deep copy: the plan can be changed freely
    assert isinstance(job, RenderedJob)


def test_render_text_accepts_cli_strings(catalog: Catalog) -> None:
    text = catalog.render_text("lat", {"min_latency_ms": "7", "per_disk": "yes"})
    assert "(7ULL * 1000000ULL)" in text and "#define PER_DISK 1" in text
    with pytest.raises(InputError, match="must be an integer from 0 to 3600000"):
        catalog.render_text("lat", {"min_latency_ms": "soon"})


def test_trace_output_needs_no_map_and_linear_scale_is_kept(tmp_path: Path) -> None:
    text = GOOD_YAML.replace("    kind: histogram\n    map: dist\n",
                             "    kind: trace\n") + (
        "  - name: lin\n    kind: histogram\n    map: d2\n    scale: linear\n")
    make_job(tmp_path, "t", text)
    trace, lin = Catalog([tmp_path]).get("t").render({}, "t").outputs
    assert (trace["kind"], trace["map"], trace["scale"]) == ("trace", None, None)
    assert (lin["kind"], lin["scale"]) == ("histogram", "linear")
