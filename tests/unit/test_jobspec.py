"""The one job schema: built-in jobs render, custom jobs move into bpf/ by copying."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import pytest
import yaml

from fleet.catalog import Catalog
from fleet.errors import InputError, SpellingWarning
from fleet.jobdoc import describe_job
from fleet.playbook import load_playbook

REPO = Path(__file__).resolve().parents[2]
TUTORIAL = sorted((REPO / "examples" / "tutorial").glob("*/playbook.yaml"))
BUILTIN = Catalog.default()


@pytest.mark.parametrize("name", BUILTIN.names())
def test_every_builtin_job_renders_with_default_params(name: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no old spellings in bpf/ either
        spec = BUILTIN.get(name)
        job = spec.render({}, name)
    assert spec.summary and not spec.summary.startswith("job ")
    assert job.source.strip() and "{{" not in job.source and "{%" not in job.source
    assert job.attach and all(slot["points"] for slot in job.attach)
    for slot in job.attach:
        for point in slot["points"]:
            assert "template" not in point and "{{" not in point["target"]
    assert job.outputs and all(o["name"] and o["kind"] for o in job.outputs)
    assert all(len(line) <= 80 for line in describe_job(spec).splitlines())


# The bcc tools' options each job's params stand for (`fleet jobs NAME` shows them).
BCC_OPTIONS = {
    "execsnoop": {"failed_only": "-x", "name": "-n NAME", "uid": "-u UID",
                  "user": "-u USER", "ppid": "-P PPID", "show_uid": "-U",
                  "max_args": "--max-args MAX_ARGS"},
    "opensnoop": {"pid": "-p PID", "tid": "-t TID", "name": "-n NAME", "uid": "-u UID",
                  "failed_only": "-x", "show_uid": "-U", "show_flags": "-e",
                  "flags": "-f FLAG_FILTER"},
    "profile": {"frequency": "-F FREQUENCY", "pid": "-p PID", "tid": "-L TID",
                "cpu": "-C CPU", "stack_storage_size": "--stack-storage-size"},
    "runqlat": {"per_process": "-P", "per_thread": "-L", "pidnss": "--pidnss",
                "milliseconds": "-m"},
    "tcpconnect": {"pid": "-p PID", "ports": "-P PORT[,PORT]", "show_uid": "-U",
                   "count": "-c", "uid": "-u UID"},
}


@pytest.mark.parametrize("job", sorted(BCC_OPTIONS))
def test_params_name_the_bcc_option_they_stand_for(job: str) -> None:
    params = BUILTIN.get(job).params
    assert {name: params[name].bcc for name in BCC_OPTIONS[job]} == BCC_OPTIONS[job]
    for param in params.values():
        assert param.bcc is None or 0 < len(param.bcc) <= 40


def item_of(book: Path) -> dict:
    """The first (only) jobs item of a tutorial playbook, as plain YAML data."""
    [item] = yaml.safe_load(book.read_text())["jobs"]
    return item


@pytest.mark.parametrize("book", TUTORIAL, ids=lambda p: p.parent.name)
def test_a_custom_job_moves_into_bpf_by_copying(tmp_path: Path, book: Path) -> None:
    """A playbook's inline job is a job.yaml plus name: and source:/text:."""
    item = item_of(book)
    job_dir = tmp_path / "bpf" / item["name"]
    job_dir.mkdir(parents=True)
    shutil.copy(book.parent / item["source"], job_dir)
    folder = {k: v for k, v in item.items() if k != "name"}
    (job_dir / "job.yaml").write_text(yaml.safe_dump(folder, sort_keys=False))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        inline = load_playbook(book, BUILTIN).render(BUILTIN)[0].to_plan()
        copied = Catalog([tmp_path / "bpf"]).get(item["name"]).render(
            {}, item["name"]).to_plan()
    assert copied == inline


def write_job(base: Path, yaml_text: str, c_text: str = "int f(void *c) { return 0; }")\
        -> Catalog:
    (base / "j").mkdir(parents=True, exist_ok=True)
    (base / "j" / "job.yaml").write_text(yaml_text)
    (base / "j" / "program.bpf.c").write_text(c_text)
    return Catalog([base])


def test_old_spellings_in_job_yaml_warn_too(tmp_path: Path) -> None:
    catalog = write_job(tmp_path, (
        "summary: s\nattach:\n  - probe: p\n    first_of:\n"
        "      - perf_event: software:cpu-clock\n        fn: f\n        freq: 99\n"
        "outputs:\n  - hist: {map: dist}\n"))
    with pytest.warns(SpellingWarning) as caught:
        job = catalog.get("j").render({}, "j")
    lines = sorted(int(str(w.message).split(":")[1]) for w in caught)
    assert lines == [4, 5, 7, 9]
    assert job.attach[0]["points"] == [{"kind": "perf_event", "fn": "f", "freq": 99,
                                        "target": "software:cpu-clock"}]
    assert job.outputs[0]["kind"] == "histogram"


TEMPLATED = """\
summary: s
params:
  event: {type: str, pattern: "[a-z_]+:[a-z_]+", default: "sched:sched_switch"}
  function: {type: str, pattern: "[a-z_*]+", default: null}
attach:
  - probe: hit
    tracepoint: "{{ event }}"
    fn: f
    when: not function
  - probe: func
    kprobe: "{{ function }}"
    fn: f
    when: function
outputs:
  - {kind: table, map: counts}
"""


def test_attach_targets_may_come_from_params(tmp_path: Path) -> None:
    spec = write_job(tmp_path, TEMPLATED).get("j")
    assert spec.render({}, "j").attach[0]["points"] == [
        {"kind": "tracepoint", "target": "sched:sched_switch", "fn": "f"}]
    assert spec.render({"event": "irq:softirq_entry"}, "j").attach[0]["points"][0][
        "target"] == "irq:softirq_entry"
    [func] = spec.render({"function": "vfs_*"}, "j").attach
    assert func["points"] == [{"kind": "kprobe", "target": "vfs_*", "fn": "f",
                               "pattern": True}]


def test_a_rendered_target_is_checked_like_a_written_one(tmp_path: Path) -> None:
    text = TEMPLATED.replace('"[a-z_]+:[a-z_]+"', '"[a-z_:]+"')
    spec = write_job(tmp_path, text).get("j")
    with pytest.raises(InputError) as err:
        spec.render({"event": "sched_switch"}, "j")
    assert err.value.message == ("tracepoint target must look like category:name, "
                                 "got 'sched_switch'")
    assert (err.value.path, err.value.line) == (str(tmp_path / "j" / "job.yaml"), 6)


def test_job_yaml_may_name_its_source_or_carry_text(tmp_path: Path) -> None:
    catalog = write_job(tmp_path, "source: mine.c\noutputs: [{kind: trace}]\n")
    (tmp_path / "j" / "mine.c").write_text("TRACEPOINT_PROBE(sched, sched_switch) "
                                           "{ return 0; }\n")
    job = catalog.get("j").render({}, "j")
    assert job.source_name == "mine.c" and job.summary == "job j"
    assert job.attach[0]["points"][0]["target"] == "sched:sched_switch"
    inline = write_job(tmp_path / "b", "text: |\n  int a;\n  {{ nope }}\n"
                       "outputs: [{kind: trace}]\n").get("j")
    with pytest.raises(InputError) as err:
        inline.render({}, "j")
    assert (err.value.line, "'nope' is undefined" in err.value.message) == (3, True)


def test_bcc_option_of_a_param_is_shown_by_fleet_jobs(tmp_path: Path) -> None:
    spec = write_job(tmp_path, (
        "summary: s\nparams:\n  pid: {type: int, default: null, bcc: -p PID, "
        "help: only this process}\nattach: [{tracepoint: 'a:b'}]\n"
        "outputs: [{kind: trace}]\n")).get("j")
    assert spec.params["pid"].bcc == "-p PID"
    assert "pid (an integer; default none; bcc -p PID)" in describe_job(spec)
    with pytest.raises(InputError, match="bcc of param 'pid' must be"):
        write_job(tmp_path / "x", "params:\n  pid: {type: int, bcc: 3}\n"
                  "outputs: [{kind: trace}]\n").get("j")


WHENS = """\
summary: s
params:
  count: {type: bool, default: false}
  show_uid: {type: bool, default: false}
  ports: {type: str, pattern: "[0-9,]+", default: "80,443"}
  user: {type: user, default: null}
  lib: {type: str, pattern: "[a-z]+", default: null}
attach: [{tracepoint: "a:b"}]
outputs:
  - name: events
    when: not count
    kind: events
    map: events
    decode: {ip: "{{ 'usym' if lib else 'ksym' }}"}
    columns: [comm, {field: uid, when: show_uid}, pid]
  - name: counts
    when: count
    kind: table
    map: counts
    interval: 2
"""


def test_outputs_and_columns_with_when_and_templated_decoders(tmp_path: Path) -> None:
    spec = write_job(tmp_path, WHENS, "int p[] = {{ ports | c_ints }};").get("j")
    job = spec.render({}, "j")
    assert [o["name"] for o in job.outputs] == ["events"]
    assert [c["field"] for c in job.outputs[0]["columns"]] == ["comm", "pid"]
    assert job.outputs[0]["decode"] == {"ip": "ksym"}
    assert job.source == "int p[] = {80, 443};"
    shown = spec.render({"show_uid": True, "lib": "c"}, "j").outputs[0]
    assert [c["field"] for c in shown["columns"]] == ["comm", "uid", "pid"]
    assert shown["decode"] == {"ip": "usym"}
    [counts] = spec.render({"count": True}, "j").outputs
    assert (counts["name"], counts["interval"]) == ("counts", 2)


def test_a_user_param_is_resolved_on_each_host(tmp_path: Path) -> None:
    spec = write_job(tmp_path, WHENS).get("j")
    assert spec.render({"user": "www-data"}, "j").resolve == {
        "user": {"type": "user", "value": "www-data"}}
    with pytest.raises(InputError, match="must be a user name like 'www-data'"):
        spec.render({"user": "a b"}, "j")


def test_c_ints_refuses_anything_but_integers(tmp_path: Path) -> None:
    spec = write_job(tmp_path, WHENS, "{{ ports | c_ints }}").get("j")
    with pytest.raises(InputError, match="c_ints needs comma-separated integers"):
        spec.render({"ports": "80,,443"}, "j")


def test_a_decoder_template_must_render_to_a_decoder(tmp_path: Path) -> None:
    text = WHENS.replace("'usym' if lib else 'ksym'", "'nope'")
    with pytest.raises(InputError, match="must render to one of disk, ip"):
        write_job(tmp_path, text).get("j").render({}, "j")


def test_an_interval_table_is_reported_as_events() -> None:
    from fleet.results import _as_reported

    out = {"kind": "table", "interval": "1", "columns": [{"field": "comm"}]}
    assert _as_reported(out)["kind"] == "events"
    assert [c["field"] for c in _as_reported(out)["columns"]] == ["comm", "secs"]
    assert _as_reported({"kind": "table", "interval": None})["kind"] == "table"
