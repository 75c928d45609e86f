"""Unit tests of the command line: parsing, validation, help, run -p overrides."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from fleet.catalog import Catalog
from fleet.cli import main, version_text
from fleet.cliargs import build_parser, parse_args
from fleet.errors import InputError
from fleet.overrides import apply_params
from fleet.playbook import load_playbook

FIXTURES = Path(__file__).parent / "fixtures"
PARSER = build_parser(version_text)


def parse(*argv: str) -> argparse.Namespace:
    return parse_args(PARSER, list(argv))


@pytest.mark.parametrize("argv, pattern, inventory", [
    (["trace", "syncsnoop", "web", "-i", "inv"], "web", ["inv"]),
    (["trace", "syncsnoop", "-i", "inv", "web"], "web", ["inv"]),
    (["trace", "-i", "inv", "syncsnoop", "-d", "1s", "web"], "web", ["inv"]),
    (["trace", "syncsnoop", "-i", "a", "-i", "b,"], "all", ["a", "b,"]),
    (["inventory", "-i", "inv", "db"], "db", ["inv"]),
    (["inventory", "--list", "-i", "inv"], None, ["inv"]),
])
def test_positionals_may_follow_options(argv, pattern, inventory):
    args = parse(*argv)
    assert (args.pattern, args.inventory) == (pattern, inventory)


def test_parsed_values_are_typed():
    args = parse("trace", "x", "-f", "5", "-T", "2.5", "-d", "500ms", "-vvv",
                 "-e", "a=1", "-e", "@f.yml")
    assert (args.forks, args.timeout, args.duration) == (5, 2.5, 0.5)
    assert (args.verbose, args.extra_vars) == (3, ["a=1", "@f.yml"])
    run = parse("run", "pb.yaml", "-p", "lat.per_disk=true", "--syntax-check")
    assert (run.param, run.syntax_check, run.list_hosts) == (
        ["lat.per_disk=true"], True, False)
    assert parse("run", "pb.yaml").timeout is None  # ansible.cfg may set it


@pytest.mark.parametrize("argv, message", [
    (["trace", "x", "-T", "nan"], "argument -T/--timeout: must be a number of "
     "seconds above 0 and at most 3600, got 'nan'"),
    (["trace", "x", "-T", "inf"], "got 'inf'"),
    (["trace", "x", "-T", "-1"], "got '-1'"),
    (["trace", "x", "-T", "0"], "got '0'"),
    (["trace", "x", "-T", "1e99"], "got '1e99'"),
    (["trace", "x", "-f", "0"], "argument -f/--forks: must be a whole number from "
     "1 to 10000, got '0'"),
    (["run", "p.yaml", "-f", str(10**30)], "argument -f/--forks: must be a whole"),
    (["run", "p.yaml", "-f", "2.5"], "got '2.5'"),
    (["trace", "x", "-d", "99999999999999h"], "argument -d/--duration: must be at "
     "most 7 days (604800s), got '99999999999999h'"),
    (["trace", "x", "--duration=-1s"], "argument -d/--duration: must be a positive"),
    (["trace", "x", "-d", "1e400"], "must be a positive number"),
    (["run", "p.yaml", "-d", "nan"], "argument -d/--duration"),
    (["trace"], "the following arguments are required: job"),
    (["trace", "x", "a", "b"], "unrecognized arguments: b"),
    (["inventory", "--list", "--graph"], "not allowed with argument"),
    (["nosuch"], "invalid choice: 'nosuch'"),
])
def test_bad_command_lines_exit_1_pointing_at_help(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_:
        parse(*argv)
    err = capsys.readouterr().err
    assert exit_.value.code == 1
    assert err.startswith("fleet: bad command line: ") and message in err
    help_of = "fleet" if argv[0] == "nosuch" else f"fleet {argv[0]}"
    assert err.rstrip().endswith(f"See '{help_of} --help'.")
    assert "Traceback" not in err


def test_every_argument_has_help_and_every_subcommand_examples():
    for name, sub in PARSER.subcommands.items():
        for action in sub._actions:
            assert action.help, f"fleet {name}: {action.dest} has no help"
        assert sub.epilog.startswith("examples:\n"), name
        assert sub.description, name
        text = sub.format_help()
        assert max(len(line) for line in text.splitlines()) <= 80, name
        # Examples use only the subcommand's own name.
        for line in sub.epilog.splitlines()[1:]:
            if line.strip().startswith("fleet "):
                assert line.split()[1] == name, line


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_:
        parse("--version")
    out = capsys.readouterr().out
    assert exit_.value.code == 0
    assert out.startswith("fleet 0.") and "config file = " in out
    assert "python version = " in out


def test_jobs_listing_fits_80_columns_and_has_no_template_text(capsys):
    assert main(["jobs"]) == 0
    listing = capsys.readouterr().out
    assert max(len(line) for line in listing.splitlines()) <= 80
    assert "biolatency" in listing and "{{" not in listing
    for name in ("biolatency", "runqlat"):
        assert main(["jobs", name]) == 0
        text = capsys.readouterr().out
        assert "{{" not in text and "{%" not in text
        assert "latency: histogram, usecs" in text


# ------------------------------------------------------------------ run -p


@pytest.fixture()
def playbook():
    catalog = Catalog([FIXTURES / "jobs"])
    return catalog, load_playbook(FIXTURES / "playbooks" / "disk-latency.yaml",
                                  catalog)


def test_run_params_by_job_name(playbook):
    catalog, book = playbook
    changed = apply_params(book, catalog, {"snoop-sh.comm": "bash",
                                           "lat.per_disk": "false"})
    params = {job.id: job.params for job in changed.jobs}
    assert params["snoop-sh"]["comm"] == "bash"
    assert params["lat"]["per_disk"] is False
    assert params["snoop"] == {job.id: job.params for job in book.jobs}["snoop"]
    assert apply_params(book, catalog, {}) is book


@pytest.mark.parametrize("texts, message", [
    ({"per_disk": "true"}, "say which job, as -p JOB.per_disk=VALUE; the "
     "playbook's jobs: lat, snoop-sh, snoop"),
    ({"nosuch.x": "1"}, "the playbook has no job 'nosuch'"),
    ({"lat.": "1"}, "name a param after 'lat.'"),
    ({"lat.per_disc": "1"}, "has no param 'per_disc' (did you mean 'per_disk'?)"),
    ({"lat.per_disk": "perhaps"}, "must be true or false"),
])
def test_bad_run_params(playbook, texts, message):
    catalog, book = playbook
    with pytest.raises(InputError) as err:
        apply_params(book, catalog, texts)
    assert message in str(err.value)
