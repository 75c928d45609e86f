"""The `fleet` CLI: parse arguments, call the library, map outcomes to exit codes."""

from __future__ import annotations

import argparse
import sys
import warnings

from rich.console import Console

from .errors import FleetError, SpellingWarning

EXIT_BAD_INPUT = 1
EXIT_INTERRUPTED = 99


class _Parser(argparse.ArgumentParser):
    """argparse in fleet's error style: one paragraph, exit 1 (2 is a failed host)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(
            EXIT_BAD_INPUT,
            f"fleet: bad command line: {message}. See '{self.prog} --help'.\n",
        )


def _add_target_args(p: argparse.ArgumentParser) -> None:
    """Options shared by commands that reach hosts."""
    p.add_argument(
        "-i",
        "--inventory",
        help="Ansible inventory file (YAML or INI), "
        "or a comma-separated host list; default: localhost",
    )
    p.add_argument("-l", "--limit", help="further limit the hosts (pattern, or @file)")
    p.add_argument("-f", "--forks", type=int, help="hosts set up in parallel")
    p.add_argument(
        "--known-hosts",
        help="known_hosts file (default: inventory var "
        "fleet_known_hosts, then ~/.ssh/known_hosts)",
    )
    p.add_argument(
        "-T",
        "--timeout",
        type=float,
        default=10.0,
        help="SSH connect timeout per host, seconds (default 10)",
    )
    p.add_argument(
        "--runs", default="runs", help="where run folders go (default ./runs)"
    )
    p.add_argument(
        "--json",
        action="store_true",
        help="print results.json to stdout instead of the report",
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every subcommand."""
    parser = _Parser(
        prog="fleet",
        description="Run BCC/eBPF tracing jobs across a "
        "fleet of hosts in one aligned window and merge the results.",
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    run = sub.add_parser("run", help="run a playbook of tracing jobs")
    run.add_argument("playbook")
    run.add_argument("-d", "--duration", help="override the playbook's window, e.g. 5s")
    _add_target_args(run)
    trace = sub.add_parser("trace", help="run one job ad hoc (like ansible -m)")
    trace.add_argument("job")
    trace.add_argument("pattern", nargs="?", default="all")
    trace.add_argument("-d", "--duration", default="10s")
    trace.add_argument("-p", "--param", action="append", default=[], metavar="K=V")
    _add_target_args(trace)
    check = sub.add_parser("check", help="preflight: can every job run on every host?")
    check.add_argument("playbook", nargs="?", help="default: every catalog job")
    check.add_argument(
        "--hosts",
        dest="pattern",
        default="all",
        help="host pattern when no playbook is given (default all)",
    )
    _add_target_args(check)
    inv = sub.add_parser("inventory", help="show the resolved hosts and their vars")
    inv.add_argument("pattern", nargs="?", default="all")
    inv.add_argument("-i", "--inventory")
    inv.add_argument("-l", "--limit")
    jobs = sub.add_parser("jobs", help="list the job catalog, or show one job")
    jobs.add_argument("name", nargs="?")
    render = sub.add_parser("render", help="print the C a host would compile")
    render.add_argument("name", help="a catalog job, or a playbook file (.yaml/.yml)")
    render.add_argument(
        "job",
        nargs="?",
        help="with a playbook: the job's name "
        "(may be left out when the playbook has one job)",
    )
    render.add_argument("-p", "--param", action="append", default=[], metavar="K=V")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script."""
    args = build_parser().parse_args(argv)
    err = Console(stderr=True, emoji=False,
                  width=80 if not sys.stderr.isatty() else None)
    _show_spelling_warnings(err)
    try:
        from . import commands

        return getattr(commands, f"cmd_{args.command}")(args, err)
    except FleetError as error:
        err.print(f"fleet: {error}", markup=False, highlight=False)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        err.print("fleet: interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # `fleet jobs | head`: the reader left; not an error
        sys.stderr.close()
        return 0


def _show_spelling_warnings(err: Console) -> None:
    """Print old-spelling warnings as one `fleet: warning:` paragraph each."""
    def show(message, category, filename, lineno, file=None, line=None):
        if issubclass(category, SpellingWarning):
            err.print(f"fleet: warning: {message}", markup=False, highlight=False)
        else:
            _SHOW_WARNING(message, category, filename, lineno, file, line)

    warnings.showwarning = show


_SHOW_WARNING = warnings.showwarning


if __name__ == "__main__":
    sys.exit(main())
