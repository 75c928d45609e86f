"""Unit tests for playbook loading, validation messages, durations and overrides."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from fleet.catalog import Catalog
from fleet.errors import InputError
from fleet.playbook import (
    Playbook,
    PlaybookJob,
    apply_overrides,
    load_playbook,
    parse_duration,
)

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture()
def catalog() -> Catalog:
    return Catalog([FIXTURES / "jobs"])


def load_text(tmp_path: Path, text: str, catalog: Catalog) -> Playbook:
    path = tmp_path / "playbook.yaml"
    path.write_text(text)
    return load_playbook(path, catalog)


# --- good playbooks ----------------------------------------------------------

def test_load_fixture_playbook(catalog: Catalog) -> None:
    path = FIXTURES / "playbooks" / "disk-latency.yaml"
    book = load_playbook(path, catalog)
    assert (book.path, book.name, book.hosts) == (str(path), "disk latency", "all")
    assert (book.duration, book.forks, book.ready_timeout) == (10.0, 20, 120.0)
    assert [(j.id, j.job, j.line) for j in book.jobs] == [
        ("lat", "lat", 6), ("snoop-sh", "snoop", 8), ("snoop", "snoop", 12)]
    assert book.jobs[0].params["per_disk"] is True
    assert book.jobs[0].params["min_latency_ms"] == 0  # default filled in
    assert book.jobs[1].params["comm"] == "sh"


def test_ansible_style_single_play_list(catalog: Catalog) -> None:
    book = load_playbook(FIXTURES / "playbooks" / "ansible-list.yaml", catalog)
    assert book.name == "one play, Ansible style"
    assert book.hosts == "db:web"
    assert (book.duration, book.ready_timeout, book.forks) == (0.5, 120.0, 50)
    assert [j.id for j in book.jobs] == ["lat"]


def test_defaults_and_name_from_file(tmp_path: Path, catalog: Catalog) -> None:
    book = load_text(tmp_path, "duration: 1m\njobs:\n  - job: lat\n", catalog)
    assert (book.name, book.hosts, book.forks) == ("playbook", "all", 50)
    assert book.duration == 60.0


def test_render_keeps_ids_and_order(catalog: Catalog) -> None:
    book = load_playbook(FIXTURES / "playbooks" / "disk-latency.yaml", catalog)
    rendered = book.render(catalog)
    assert [(r.id, r.job) for r in rendered] == [
        ("lat", "lat"), ("snoop-sh", "snoop"), ("snoop", "snoop")]
    assert "{0x73, 0x68, 0x00}" in rendered[1].source


# --- bad playbooks: each names file:line and what was expected ----------------

GOOD = "hosts: all\nduration: 10s\njobs:\n  - job: lat\n"
BAD_PLAYBOOKS = [
    ("", "the playbook is empty", None),
    ("- job: lat\n", "unknown key 'job' in the play", 1),
    ("just text\n", "a play must be a mapping with duration and jobs, got a string", 1),
    ("- {duration: 1, jobs: [{job: lat}]}\n- {duration: 1, jobs: [{job: lat}]}\n",
     "a playbook holds exactly one play, this list has 2", 1),
    (GOOD + "duraton: 5s\n",
     "unknown key 'duraton' in the play (did you mean 'duration'?)", 5),
    (GOOD + "tasks: []\n", "unknown key 'tasks' in the play (did you mean 'jobs'?)", 5),
    ("hosts: all\njobs:\n  - job: lat\n",
     "the play is missing required key 'duration'", 1),
    ("duration: 10s\n", "the play is missing required key 'jobs'", 1),
    (GOOD.replace("10s", "10 days"),
     "duration must be a positive number of seconds or a string like 10s", 2),
    (GOOD.replace("10s", "-5s"), "got '-5s'", 2),
    (GOOD + "forks: 0\n", "forks must be an integer >= 1, got 0", 5),
    (GOOD + "forks: many\n", "forks must be an integer >= 1, got 'many'", 5),
    (GOOD + "ready_timeout: soon\n", "ready_timeout must be a positive number", 5),
    (GOOD.replace("hosts: all", "hosts: 3"), "hosts must be a host pattern", 1),
    (GOOD.replace("hosts: all", "name: [a]"), "name must be a non-empty string", 1),
    ("duration: 1\njobs: []\n", "jobs must be a non-empty list", 2),
    ("duration: 1\njobs:\n  - lat\n", "each item of jobs must be a mapping", 3),
    (GOOD.replace("job: lat", "job: latt"),
     "unknown job 'latt' (did you mean 'lat'?); known jobs: lat, snoop", 4),
    (GOOD.replace("job: lat", "jobb: lat"),
     "unknown key 'jobb' in a jobs item (did you mean 'job'?)", 4),
    (GOOD.replace("job: lat", "params: {}"),
     "a jobs item needs job: NAME (a catalog job) or source: FILE / text: C", 4),
    (GOOD + "  - job: lat\n",
     "job id 'lat' is used twice (first on line 4); give one of them a distinct", 5),
    (GOOD + "    name: 'disk latency'\n", "job name 'disk latency' must be 1-64", 5),
    (GOOD + "    name: \"lat2\\n\"\n", "job name 'lat2\\n' must be 1-64", 5),
    (GOOD + "    params: {per_disc: true}\n",
     "job 'lat' has no param 'per_disc' (did you mean 'per_disk'?); known params: "
     "per_disk, queued, milliseconds, min_latency_ms, disk", 5),
    (GOOD + "    params:\n      per_disk: true\n      min_latency_ms: fast\n",
     "param 'min_latency_ms' of job 'lat' must be an integer from 0 to 3600000, "
     "got 'fast'", 7),
    (GOOD + "    params:\n      per_disk: 'yes'\n",
     "param 'per_disk' of job 'lat' must be true or false, got 'yes'", 6),
    (GOOD + "    params:\n      disk: ../etc\n", "must be a disk name like 'sda'", 6),
    (GOOD + "    params: [1]\n", "params of job 'lat' must be a mapping", 5),
    ("duration: 1\njobs:\n  - job: snoop\n    params: {comm: 'ab\"c'}\n",
     "param 'comm' of job 'snoop' must be a command name of 1-15 printable", 4),
    ("duration: [\n", "YAML syntax error", 2),
]


@pytest.mark.parametrize("text,message,line", BAD_PLAYBOOKS)
def test_bad_playbook(tmp_path: Path, catalog: Catalog, text: str, message: str,
                      line: int | None) -> None:
    with pytest.raises(InputError) as err:
        load_text(tmp_path, text, catalog)
    assert message in err.value.message
    assert err.value.path == str(tmp_path / "playbook.yaml")
    assert err.value.line == line


def test_error_text_is_file_line_message(tmp_path: Path, catalog: Catalog) -> None:
    text = "duration: 1\njobs:\n  - job: snoop\n    params:\n      pid: fast\n"
    with pytest.raises(InputError) as err:
        load_text(tmp_path, text, catalog)
    assert str(err.value) == (f"{tmp_path / 'playbook.yaml'}:5: param 'pid' of job "
                              "'snoop' must be an integer >= 1, got 'fast'")


def test_broken_job_yaml_keeps_its_own_location(tmp_path: Path) -> None:
    job_dir = tmp_path / "jobs" / "broken"
    job_dir.mkdir(parents=True)
    (job_dir / "job.yaml").write_text("summary: x\nattach: 3\n")
    (job_dir / "program.bpf.c").write_text("")
    with pytest.raises(InputError) as err:
        load_text(tmp_path, "duration: 1\njobs: [{job: broken}]\n",
                  Catalog([tmp_path / "jobs"]))
    assert err.value.path == str(job_dir / "job.yaml")


# --- durations ---------------------------------------------------------------

@pytest.mark.parametrize("value,seconds", [
    (10, 10.0), (2.5, 2.5), ("10", 10.0), ("10s", 10.0), ("1.5s", 1.5),
    ("500ms", 0.5), ("2m", 120.0), ("1h", 3600.0), (" 3s ", 3.0), (".5s", 0.5),
])
def test_good_durations(value: object, seconds: float) -> None:
    assert math.isclose(parse_duration(value), seconds)


@pytest.mark.parametrize("value", [
    0, "0s", -1, "-1s", "10d", "s", "", "1.2.3s", "10 secs", True, None, [10],
    float("inf"), float("nan"), "1h30m", "5s\nx",
])
def test_bad_durations(value: object) -> None:
    with pytest.raises(InputError) as err:
        parse_duration(value, "p.yaml", 3)
    assert str(err.value).startswith("p.yaml:3: duration must be a positive number")


# --- overrides and ad hoc runs -----------------------------------------------

def test_apply_overrides(catalog: Catalog) -> None:
    book = load_playbook(FIXTURES / "playbooks" / "disk-latency.yaml", catalog)
    changed = apply_overrides(book, duration="30s", forks="5")
    assert (changed.duration, changed.forks) == (30.0, 5)
    assert (book.duration, book.forks) == (10.0, 20)  # the original is unchanged
    assert apply_overrides(book) == book
    with pytest.raises(InputError, match="--forks must be an integer >= 1"):
        apply_overrides(book, forks=0)
    with pytest.raises(InputError, match="--duration must be a positive"):
        apply_overrides(book, duration="forever")


def test_for_job_converts_cli_strings(catalog: Catalog) -> None:
    book = Playbook.for_job(catalog, "lat", {"per_disk": "yes", "min_latency_ms": "3"})
    assert (book.hosts, book.duration, book.name) == ("all", 10.0, "trace lat")
    [job] = book.jobs
    assert isinstance(job, PlaybookJob)
    assert (job.id, job.job) == ("lat", "lat")
    assert job.params["per_disk"] is True and job.params["min_latency_ms"] == 3
    assert [r.id for r in book.render(catalog)] == ["lat"]


@pytest.mark.parametrize("params,message", [
    ({"min_latency_ms": "fast"},
     "param 'min_latency_ms' of job 'lat' must be an integer from 0 to 3600000"),
    ({"per_disk": "maybe"}, "param 'per_disk' of job 'lat' must be true or false"),
    ({"nope": "1"}, "job 'lat' has no param 'nope'"),
])
def test_for_job_rejects_bad_cli_values(catalog: Catalog, params: dict,
                                        message: str) -> None:
    with pytest.raises(InputError, match=message):
        Playbook.for_job(catalog, "lat", params)


def test_for_job_unknown_job(catalog: Catalog) -> None:
    with pytest.raises(InputError, match="unknown job .zzz.; known jobs: lat, snoop"):
        Playbook.for_job(catalog, "zzz", {})


def test_keepalive_is_a_bounded_duration(tmp_path):
    catalog = Catalog.default()
    book = tmp_path / "pb.yaml"
    book.write_text("name: k\nkeepalive: 2s\nduration: 1s\njobs:\n  - job: syncsnoop\n")
    assert load_playbook(book, catalog).keepalive == 2.0
    book.write_text("name: k\nkeepalive: 1h\nduration: 1s\njobs:\n  - job: syncsnoop\n")
    with pytest.raises(InputError) as err:
        load_playbook(book, catalog)
    assert err.value.line == 2 and "at most 300s" in err.value.message
