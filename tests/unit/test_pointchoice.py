"""--point [JOB.]PROBE=KIND:TARGET and --ready-timeout: parsing and their effect
on the planned jobs and options (no host is contacted)."""

from __future__ import annotations

import pytest
from rich.console import Console

from fleet import cli, commands
from fleet.catalog import Catalog
from fleet.cliargs import build_parser, parse_args
from fleet.errors import InputError
from fleet.playbook import Playbook
from fleet.pointchoice import PointChoice, apply_point_choices, parse_point_choice


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog.default()


def rendered(catalog: Catalog, *names: str) -> list:
    return [catalog.get(n).render(catalog.get(n).check_params({}), n) for n in names]


def slot(job, probe: str) -> dict:
    return next(s for s in job.attach if s["probe"] == probe)


@pytest.mark.parametrize("text, want", [
    ("enter_read=kprobe:vfs_read",
     PointChoice(None, "enter_read", "kprobe", "vfs_read")),
    ("vfsreadlat.exit_read=kretprobe:vfs_read",
     PointChoice("vfsreadlat", "exit_read", "kretprobe", "vfs_read")),
    ("my-job.read=tracepoint:filemap:mm_filemap_get_pages",
     PointChoice("my-job", "read", "tracepoint", "filemap:mm_filemap_get_pages")),
])
def test_parse(text, want):
    got = parse_point_choice(text)
    assert (got.job, got.probe, got.kind, got.target) == (
        want.job, want.probe, want.kind, want.target)
    assert got.label == f"{want.kind}:{want.target}"


@pytest.mark.parametrize("text", ["", "enter_read", "enter_read=vfs_read",
                                  "=kprobe:x", "a b=kprobe:x", "1x=kprobe:y"])
def test_parse_refuses_other_shapes(text):
    with pytest.raises(InputError, match=r"\[JOB\.\]PROBE=KIND:TARGET"):
        parse_point_choice(text)


def test_named_fallback_is_the_only_point_and_required(catalog):
    jobs = rendered(catalog, "vfsreadlat")
    apply_point_choices(jobs, ["enter_read=kprobe:vfs_read",
                               "vfsreadlat.exit_read=kretprobe:vfs_read"])
    enter, exit_ = slot(jobs[0], "enter_read"), slot(jobs[0], "exit_read")
    assert enter["points"] == [{"kind": "kprobe", "target": "vfs_read",
                                "fn": "vfs_read_entry"}]
    assert exit_["points"] == [{"kind": "kretprobe", "target": "vfs_read",
                                "fn": "vfs_read_return"}]
    assert not enter["optional"] and not exit_["optional"]
    # the other slots keep their declared points
    assert slot(jobs[0], "enter_pread64")["points"][0]["kind"] == "tracepoint"


def test_naming_an_optional_slot_makes_it_required(catalog):
    jobs = rendered(catalog, "vfsreadlat")
    assert slot(jobs[0], "enter_readv")["optional"]
    apply_point_choices(jobs, ["enter_readv=tracepoint:syscalls:sys_enter_readv"])
    assert not slot(jobs[0], "enter_readv")["optional"]


def test_without_a_job_every_job_declaring_the_point(catalog):
    jobs = rendered(catalog, "vfsreadlat", "urandomread")
    apply_point_choices(jobs, ["enter_read=tracepoint:syscalls:sys_enter_read"])
    for job in jobs:
        assert [p["kind"] for p in slot(job, "enter_read")["points"]] == ["tracepoint"]


def test_only_the_named_job_changes(catalog):
    jobs = rendered(catalog, "vfsreadlat", "urandomread")
    before = [dict(s) for s in jobs[1].attach]
    apply_point_choices(jobs, ["vfsreadlat.enter_read=kprobe:vfs_read"])
    assert jobs[1].attach == before


@pytest.mark.parametrize("text, message", [
    ("enter_read=kprobe:do_nothing",
     "no job declares that point for probe 'enter_read'; declared: "
     "kprobe:vfs_read, tracepoint:syscalls:sys_enter_read"),
    ("nope.enter_read=kprobe:vfs_read", "no job 'nope' in this run; its jobs: "
     "vfsreadlat"),
    ("enter_write=kprobe:vfs_write", "no probe 'enter_write' in any job of this "
     "run; probes: enter_pread64, enter_read"),
])
def test_errors_name_what_exists(catalog, text, message):
    with pytest.raises(InputError) as err:
        apply_point_choices(rendered(catalog, "vfsreadlat"), [text])
    assert str(err.value).startswith(f"--point {text}: ")
    assert message in str(err.value)


def _args(*argv: str):
    return parse_args(build_parser(cli.version_text), list(argv))


def test_cli_options_reach_the_plan(catalog, capsys):
    args = _args("trace", "vfsreadlat", "--ready-timeout", "5m",
                 "--point", "enter_read=kprobe:vfs_read")
    playbook = Playbook.for_job(catalog, "vfsreadlat", {})
    err = Console(stderr=True)
    plan = commands._plan(playbook, catalog, args, err)
    assert plan.options.ready_timeout_s == 300.0
    assert slot(plan.jobs[0], "enter_read")["points"][0]["kind"] == "kprobe"
    default = commands._plan(playbook, catalog, _args("trace", "vfsreadlat"), err)
    assert default.options.ready_timeout_s == playbook.ready_timeout


@pytest.mark.parametrize("argv", [
    ["trace", "vfsreadlat", "--ready-timeout", "0s"],
    ["trace", "vfsreadlat", "--ready-timeout", "soon"],
    ["trace", "vfsreadlat", "--point", "enter_read=kprobe:nope"],
])
def test_cli_bad_values_exit_1_with_one_paragraph(argv, capsys):
    try:
        code = cli.main(argv)
    except SystemExit as exit_:  # argparse's own error (fleet's one paragraph)
        code = exit_.code
    assert code == 1
    err = capsys.readouterr().err
    assert err.startswith("fleet: ") and "--" in err and "Traceback" not in err
