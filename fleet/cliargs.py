"""The `fleet` command line: each subcommand's arguments, help and examples.

To add a subcommand, write an ``_add_NAME(sub)`` function that adds its parser
(with ``description``, every argument's ``help`` and an ``examples:`` epilog)
and list it in ``SUBCOMMANDS``; ``fleet.commands.cmd_NAME`` runs it. Host
patterns and other positionals may stand anywhere among the options
(``fleet trace JOB -i INV PATTERN``): each subcommand's arguments are parsed
with argparse's intermixed parsing.
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from typing import Any, Callable

from .errors import InputError
from .histcli import HISTORY_HELP, add_parsers, add_record_options
from .limits import MAX_FORKS, parse_forks, parse_timeout
from .playbook import parse_duration
from .report.hostrows import SORTS

EXIT_BAD_INPUT = 1


class Parser(argparse.ArgumentParser):
    """argparse in fleet's error style: one paragraph, exit 1 (2 is a failed host)."""

    subcommands: dict[str, argparse.ArgumentParser] = {}  # set by build_parser

    def __init__(self, *args: Any, **kwargs: Any):
        # Raw, so examples keep their layout; the description is wrapped here.
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        if kwargs.get("description"):
            kwargs["description"] = textwrap.fill(kwargs["description"], 79)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(
            EXIT_BAD_INPUT,
            f"fleet: bad command line: {message}. See '{self.prog} --help'.\n",
        )


def _checked(parse: Callable[..., Any], name: str) -> Callable[[str], Any]:
    """An argparse type from one of fleet's value parsers (their InputError
    becomes argparse's error, which names the option)."""
    def convert(text: str) -> Any:
        try:
            return parse(text, "")
        except InputError as err:
            raise argparse.ArgumentTypeError(str(err).strip()) from None
    convert.__name__ = name  # argparse names the type in some messages
    return convert


FORKS = _checked(parse_forks, "forks")
TIMEOUT = _checked(parse_timeout, "timeout")
DURATION = _checked(lambda text, what: parse_duration(text, what=what), "duration")

INVENTORY_HELP = (
    "inventory file (YAML or INI), folder of them, or comma-separated host "
    "list; may be given several times (default: $ANSIBLE_INVENTORY, else "
    "ansible.cfg's inventory, else localhost over a local transport)"
)
VERBOSE_HELP = (
    "show each host's progress live, prefixed <host>: -v phases, connection "
    "steps and failures; -vv also the agent's stderr; -vvv also every "
    "protocol message"
)


def _add_inventory_args(p: argparse.ArgumentParser) -> None:
    """Where the hosts come from and which of them: shared by every host command."""
    p.add_argument("-i", "--inventory", action="append", metavar="INVENTORY",
                   help=INVENTORY_HELP)
    p.add_argument("-l", "--limit", metavar="PATTERN",
                   help="further limit the hosts to a pattern, or to the names "
                   "in @FILE (one a line)")
    p.add_argument("-e", "--extra-vars", action="append", metavar="VARS",
                   help="host vars over every inventory var: key=value pairs, "
                   "YAML/JSON text, or @FILE; may be given several times")
    p.add_argument("-v", "--verbose", action="count", default=0,
                   help=VERBOSE_HELP)


def _add_target_args(p: argparse.ArgumentParser) -> None:
    """Options of the commands that contact hosts."""
    _add_inventory_args(p)
    p.add_argument("-f", "--forks", type=FORKS,
                   help=f"hosts connected and prepared at once, 1 to {MAX_FORKS} "
                   "(default: ansible.cfg forks, else the playbook's, else 50)")
    p.add_argument("-T", "--timeout", type=TIMEOUT, metavar="SECONDS",
                   help="SSH connect timeout per host, above 0 and at most 3600 "
                   "(default: ansible.cfg timeout, else ssh_config "
                   "ConnectTimeout, else 10)")
    p.add_argument("--known-hosts", metavar="FILE",
                   help="known_hosts file where the inventory sets no "
                   "fleet_known_hosts (default: ssh_config UserKnownHostsFile, "
                   "else ~/.ssh/known_hosts)")
    p.add_argument("-u", "--user",
                   help="log in as this user where the inventory sets no "
                   "ansible_user (default: ansible.cfg remote_user, else "
                   "ssh_config User, else the local user)")
    p.add_argument("--private-key", metavar="FILE",
                   help="SSH private key where the inventory sets no "
                   "ansible_ssh_private_key_file (default: ansible.cfg "
                   "private_key_file, else ssh_config IdentityFile, ssh-agent, "
                   "~/.ssh/id_*)")
    p.add_argument("-b", "--become", action="store_true",
                   help="run the agent under sudo where ansible_become is not set")
    p.add_argument("-K", "--ask-become-pass", action="store_true",
                   help="ask once for the sudo password, used where become is on "
                   "(read from stdin when that is not a terminal)")
    p.add_argument("--accept-new-host-keys", action="store_true",
                   help="record the host key of a host not yet in known_hosts "
                   "(like StrictHostKeyChecking accept-new); a changed key is "
                   "always refused")
    p.add_argument("--ready-timeout", type=DURATION, metavar="DURATION",
                   help="how long hosts may take to compile and attach, e.g. "
                   "300s (default: the playbook's ready_timeout, else 120s)")
    p.add_argument("--point", action="append", default=[],
                   metavar="[JOB.]PROBE=KIND:TARGET",
                   help="use this declared attach point for the probe on every "
                   "host, e.g. enter_read=kprobe:vfs_read to try a fallback "
                   "(repeatable)")
    p.add_argument("--runs", default="runs", metavar="DIR",
                   help="where run folders go (default ./runs)")
    p.add_argument("--json", action="store_true",
                   help="print results.json to stdout instead of the report")


def _add_fail_on_lost(p: argparse.ArgumentParser) -> None:
    """--fail-on-lost, for commands that open a window."""
    p.add_argument("--fail-on-lost", action="store_true",
                   help="a host that lost events ends lost-events (exit 2) "
                   "instead of ok with a warning")


def _add_run(sub) -> None:
    run = sub.add_parser(
        "run", help="run a playbook of tracing jobs",
        description="Run a playbook's tracing jobs on its hosts in one aligned "
        "window, merge the results and print the report.",
        epilog="""examples:
  fleet run playbooks/disk-latency.yaml -i hosts.ini
        # the playbook's jobs on its hosts (its hosts: pattern)
  fleet run playbooks/disk-latency.yaml -i hosts.ini -l 'db:!db3' -d 30s
        # only db hosts but db3, for a 30 s window
  fleet run playbooks/cpu.yaml -i inventory/ -p runqlat.per_process=true
        # every file of the folder inventory/, one job param changed
  fleet run playbooks/net.yaml -i hosts.ini --list-hosts
        # which hosts it would reach; contacts none
  fleet run my.yaml --syntax-check
        # check the playbook and render every job's C; contacts no host""")
    run.add_argument("playbook", help="playbook file (YAML): hosts, duration, jobs")
    run.add_argument("-d", "--duration", type=DURATION,
                     help="override the playbook's window, e.g. 5s, 500ms, 2m")
    run.add_argument("-p", "--param", action="append", default=[],
                     metavar="JOB.PARAM=VALUE",
                     help="set a job's param (JOB is the job's name in the "
                     "playbook; PARAM=VALUE alone when it has one job)")
    run.add_argument("--list-hosts", action="store_true",
                     help="print the hosts the run would reach, contact none")
    run.add_argument("--syntax-check", action="store_true",
                     help="check inventory, playbook and params and render every "
                     "job's C, contact no host")
    _add_target_args(run)
    _add_fail_on_lost(run)
    add_record_options(run)


def _add_trace(sub) -> None:
    trace = sub.add_parser(
        "trace", help="run one job ad hoc (like ansible -m)",
        description="Run one catalog job on the hosts a pattern selects, for "
        "one window, and print the merged report.",
        epilog="""examples:
  fleet trace execsnoop
        # execs on this machine for 10 s (no inventory: localhost)
  fleet trace biolatency -i hosts.ini db -d 30s -p per_disk=true
        # db hosts' disk latency per disk, for 30 s
  fleet trace tcpconnect 'web:&prod' -i inventory/ -e ansible_user=ops
        # hosts in both web and prod, logging in as ops
  fleet trace syncsnoop all -i hosts.ini --list-hosts
        # which hosts it would reach; contacts none""")
    trace.add_argument("job", help="catalog job name (see 'fleet jobs')")
    trace.add_argument("pattern", nargs="?", default="all",
                       help="host pattern, as Ansible's: all, web, 'web:!web3', "
                       "'web:&prod', '~db[0-9]+' (default all)")
    trace.add_argument("-d", "--duration", type=DURATION, default="10s",
                       help="the window, e.g. 10s, 500ms, 2m (default 10s)")
    trace.add_argument("-p", "--param", action="append", default=[],
                       metavar="PARAM=VALUE",
                       help="set one of the job's params (see 'fleet jobs JOB')")
    trace.add_argument("--list-hosts", action="store_true",
                       help="print the hosts the job would reach, contact none")
    trace.add_argument("--interval", metavar="DURATION",
                       help="read a histogram job every interval, e.g. 1s "
                       "(per-interval slots, a heatmap over time)")
    _add_target_args(trace)
    _add_fail_on_lost(trace)
    add_record_options(trace)


def _add_check(sub) -> None:
    check = sub.add_parser(
        "check", help="preflight: can every job run on every host?",
        description="Connect to every host, push the agent, compile and attach "
        "every job, open no window: say per host and job what would run, with "
        "which attach point, or why not. Exit 0 only if everything can run.",
        epilog="""examples:
  fleet check -i hosts.ini
        # every catalog job on every host
  fleet check playbooks/disk-latency.yaml -i hosts.ini
        # the playbook's jobs on its hosts
  fleet check -i hosts.ini --hosts db --json
        # every catalog job on the db hosts, as JSON""")
    check.add_argument("playbook", nargs="?",
                       help="playbook whose jobs and hosts to check "
                       "(default: every catalog job)")
    check.add_argument("--hosts", dest="pattern", default="all", metavar="PATTERN",
                       help="host pattern when no playbook is given (default all)")
    _add_target_args(check)


def _add_inventory(sub) -> None:
    inv = sub.add_parser(
        "inventory", help="show the resolved hosts and their vars",
        description="Show the hosts a pattern selects with their groups and "
        "merged vars; --list, --graph and --host print what ansible-inventory "
        "prints.",
        epilog="""examples:
  fleet inventory -i hosts.ini web
        # web's hosts, their groups and vars
  fleet inventory -i inventory/ --list
        # the whole inventory as ansible-inventory --list JSON
  fleet inventory -i hosts.ini --graph prod
        # the group tree below prod
  fleet inventory -i hosts.ini --host db1 -e ansible_user=ops
        # db1's vars as JSON, with an extra var""")
    inv.add_argument("pattern", nargs="?",
                     help="host pattern (default all); with --graph a group name")
    mode = inv.add_mutually_exclusive_group()
    mode.add_argument("--list", action="store_true",
                      help="every group and host's vars as ansible-inventory "
                      "--list JSON (a pattern or -l limits the hosts)")
    mode.add_argument("--graph", action="store_true",
                      help="the group tree as ansible-inventory --graph")
    mode.add_argument("--host", metavar="HOST",
                      help="one host's vars as ansible-inventory --host JSON")
    _add_inventory_args(inv)


def _add_jobs(sub) -> None:
    jobs = sub.add_parser(
        "jobs", help="list the job catalog, or show one job",
        description="List the catalog's jobs, or show one job's params, attach "
        "points and outputs.",
        epilog="""examples:
  fleet jobs
        # every job with its summary
  fleet jobs biolatency
        # biolatency's params (with types and defaults), probes and outputs""")
    jobs.add_argument("name", nargs="?", help="a job to describe")


def _add_render(sub) -> None:
    render = sub.add_parser(
        "render", help="print the C a host would compile",
        description="Print the BPF C a host would compile for a catalog job, or "
        "for one job of a playbook, with its params applied.",
        epilog="""examples:
  fleet render biolatency -p per_disk=true
        # biolatency's C with one histogram per disk
  fleet render playbooks/disk-latency.yaml biosnoop
        # the C of the playbook's biosnoop job""")
    render.add_argument("name", help="a catalog job, or a playbook file (.yaml/.yml)")
    render.add_argument(
        "job", nargs="?",
        help="with a playbook: the job's name (may be left out when the "
        "playbook has one job)")
    render.add_argument("-p", "--param", action="append", default=[],
                        metavar="PARAM=VALUE", help="set one of the job's params")


def _add_report(sub) -> None:
    report = sub.add_parser(
        "report", help="render a run's report from its results.json",
        description="Render a run's report from its results.json alone; every "
        "fleet-wide figure is recomputed from the per-host data.",
        epilog="""examples:
  fleet report runs/20261126T144200-disk-latency     # the terminal report
  fleet report runs/ID/results.json --all-hosts      # a row for every host
  fleet report RUN --sort name --events 50           # by host name, 50 events
  fleet report RUN --html                            # writes RUN/report.html
  fleet report RUN --html /tmp/disk.html --text      # HTML there, text too
  fleet report RUN --json | jq .outcomes             # figures recomputed
  fleet report last --html                           # the newest recorded run
  fleet report last --html --baseline 5              # flame graph diff vs the
                                                     # median of 5 runs before
  fleet report --rebuild runs/ID                     # after a controller crash""")
    report.add_argument("run", metavar="RUN", nargs="?",
                        help="a run folder or its results.json, or a run id, "
                        "'last' or 'last~K' from the history")
    report.add_argument("--history", metavar="PATH", help=HISTORY_HELP)
    report.add_argument("--rebuild", metavar="RUN_DIR",
                        help="rebuild results.json, report.txt and report.html "
                        "from the run folder's run.json and host logs (after a "
                        "controller crash), then print the report")
    report.add_argument("--html", nargs="?", const="", metavar="FILE",
                        help="write the self-contained HTML report to FILE "
                        "(default: report.html in the run folder)")
    report.add_argument("--baseline", type=int, metavar="K",
                        help="with --html: draw each profile's differential "
                        "flame graph against the per-host median of the K runs "
                        "of the playbook before RUN in the history (default 1: "
                        "the previous run)")
    report.add_argument("--text", action="store_true",
                        help="print the terminal report (the default, unless "
                        "--html or --json is given)")
    report.add_argument("--json", action="store_true",
                        help="print results.json with its figures recomputed")
    report.add_argument("--all-hosts", action="store_true",
                        help="a table row for every host (default: outliers, "
                        "top and bottom few past 20 hosts)")
    report.add_argument("--sort", choices=SORTS, default="p99",
                        help="order of the hosts side by side (default p99)")
    report.add_argument("--events", type=int, default=15, metavar="N",
                        help="events listed per events job (default 15)")


SUBCOMMANDS = [_add_run, _add_trace, _add_check, _add_inventory, _add_jobs,
               _add_render, _add_report, add_parsers]


def build_parser(version: Callable[[], str]) -> Parser:
    """The top-level parser (with ``--version``) and every subcommand's."""
    parser = Parser(
        prog="fleet",
        description="Run BCC/eBPF tracing jobs across a fleet of hosts in one "
        "aligned window and merge the results. Inventories, patterns and "
        "ansible.cfg are Ansible's.",
        epilog="""examples:
  fleet trace execsnoop               # one job on this machine
  fleet run playbooks/disk-latency.yaml -i hosts.ini
  fleet inventory -i hosts.ini --graph
Each subcommand's --help shows its options and examples. Settings not given
on the command line come from ANSIBLE_INVENTORY, ANSIBLE_REMOTE_USER,
ANSIBLE_PRIVATE_KEY_FILE, ANSIBLE_FORKS, ANSIBLE_TIMEOUT, then from the
[defaults] of ansible.cfg ($ANSIBLE_CONFIG, ./ansible.cfg, ~/.ansible.cfg or
/etc/ansible/ansible.cfg, the first found).""")
    parser.add_argument("--version", action=_Version, version_text=version,
                        help="show fleet's version, its config file and Python")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND",
                                parser_class=Parser,
                                help="what to do; 'fleet COMMAND --help' shows how")
    for add in SUBCOMMANDS:
        add(sub)
    parser.subcommands = dict(sub.choices)
    return parser


class _Version(argparse.Action):
    """--version: the text is computed when asked (it names the config file)."""

    def __init__(self, option_strings, dest, version_text, **kwargs):
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS,
                         **kwargs)
        self.version_text = version_text

    def __call__(self, parser, namespace, values, option_string=None):
        sys.stdout.write(self.version_text() + "\n")
        parser.exit(0)


def parse_args(parser: Parser, argv: list[str]) -> argparse.Namespace:
    """Parse argv; a subcommand's positionals may follow its options."""
    command = argv[0] if argv else None
    if command not in parser.subcommands:
        return parser.parse_args(argv)  # --help, --version, or argparse's error
    chosen = parser.subcommands[command]
    nested = any(isinstance(a, argparse._SubParsersAction) for a in chosen._actions)
    # argparse cannot intermix around a nested subcommand (history show, export
    # openmetrics); those positionals are plain, so ordinary parsing suffices.
    parse = chosen.parse_args if nested else chosen.parse_intermixed_args
    args = parse(argv[1:])
    args.command = command
    return args
