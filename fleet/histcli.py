"""Command-line parsers for history, diff, export and schedule, and run's options."""

from __future__ import annotations

import argparse
import textwrap

from fleet.diff import DEFAULT_THRESHOLD_SLOTS
from fleet.merge import MIN_SAMPLES
from fleet.schedule import DEFAULT_NICE, DEFAULT_TEXTFILE_DIR, DEFAULT_UNIT_DIR

_RAW = argparse.RawDescriptionHelpFormatter


def _wrap(text: str) -> str:
    """A description wrapped by hand: the raw formatter keeps the examples as typed."""
    return textwrap.fill(text, 78)

HISTORY_HELP = ("history file (default: $FLEET_HISTORY, else "
                "$XDG_DATA_HOME/fleet/history.sqlite, ~/.local/share by default)")

RUN_HELP = ("a run id, a run folder (or its results.json), 'last', or 'last~K' "
            "(K runs before the last)")

HISTORY_EXAMPLES = """\
examples:
    fleet history                      # the last 20 runs, newest first
    fleet history --playbook 'health sweep' --host db17 --limit 50
    fleet history show last            # the newest run, host by host
    fleet history show last~1 --json   # the run before it, as JSON
    fleet history prune --keep 100     # keep each playbook's newest 100 runs
    fleet history prune --older-than 30d
"""

DIFF_EXAMPLES = """\
examples:
    fleet diff                         # the last run against the one before it
                                       # of the same playbook
    fleet diff last~1 last             # two runs, A then B
    fleet diff runs/20261126T144200-health-sweep last
    fleet diff --baseline 10           # the last run against the per-host
                                       # median of the 10 runs before it
    fleet diff A B --threshold-slots 1 --min-count 100 --json
    fleet diff A B --folded out/       # out/JOB.diff.folded, for flamegraph.pl

exit status: 0 no host regressed, 3 some host regressed, 1 bad input.
"""

EXPORT_EXAMPLES = """\
examples:
    fleet export openmetrics last      # OpenMetrics text of the newest run
    fleet export openmetrics last --format prometheus | promtool check metrics
    fleet export openmetrics runs/20261126T144200-health-sweep -o sweep.om
"""

SCHEDULE_EXAMPLES = """\
examples:
    fleet schedule playbooks/health-sweep.yaml -i inventory.yaml --every 15m
                                       # fleet-health-sweep.service + .timer
                                       # in /etc/systemd/system
    fleet schedule playbooks/health-sweep.yaml -i inventory.yaml --every 1h \\
        --unit-dir ~/.config/systemd/user --textfile-dir /srv/textfiles
    fleet schedule playbooks/health-sweep.yaml -i hosts.ini --every 30m --cron
                                       # print a crontab line instead
    fleet schedule --list              # the sweeps fleet installed
    fleet schedule --remove health-sweep
"""


def add_record_options(parser: argparse.ArgumentParser) -> None:
    """run/trace: where the run is recorded and exported."""
    parser.add_argument("--history", metavar="PATH", help=HISTORY_HELP)
    parser.add_argument("--no-history", action="store_true",
                        help="do not record this run in the history")
    parser.add_argument("--textfile-dir", metavar="DIR",
                        help="also write fleet_<playbook>.prom there, atomically, "
                        "for node_exporter's textfile collector")


def add_parsers(sub) -> None:
    """Add the history, diff, export and schedule subcommands."""
    _history_parser(sub)
    _diff_parser(sub)
    _export_parser(sub)
    _schedule_parser(sub)


def _history_parser(sub) -> None:
    hist = sub.add_parser(
        "history", help="list recorded runs, show one, prune",
        description=_wrap("Runs recorded by fleet run and fleet trace, newest "
                          "first: id, when, playbook, hosts ok/failed, exit."),
        epilog=HISTORY_EXAMPLES, formatter_class=_RAW)
    hist.add_argument("--playbook", metavar="NAME", help="only runs of this playbook")
    hist.add_argument("--host", metavar="H", help="only runs that included this host")
    hist.add_argument("--limit", type=int, default=20, metavar="N",
                      help="at most N runs (default 20)")
    hist.add_argument("--json", action="store_true", help="print JSON")
    hist.add_argument("--history", metavar="PATH", help=HISTORY_HELP)
    actions = hist.add_subparsers(dest="history_command", metavar="{show,prune}",
                                  parser_class=type(hist),
                                  help="show one run, or prune old ones "
                                  "(none: list runs)")
    show = actions.add_parser("show", help="one run: hosts, facts, per-job figures",
                              epilog=HISTORY_EXAMPLES, formatter_class=_RAW)
    show.add_argument("run", metavar="RUN", help=RUN_HELP)
    # SUPPRESS: a value given before 'show' is not reset by the subcommand.
    show.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                      help="print the run record")
    show.add_argument("--history", metavar="PATH", default=argparse.SUPPRESS,
                      help=HISTORY_HELP)
    prune = actions.add_parser("prune", help="delete old runs from the history",
                               epilog=HISTORY_EXAMPLES, formatter_class=_RAW)
    which = prune.add_mutually_exclusive_group(required=True)
    which.add_argument("--keep", type=int, metavar="N",
                       help="keep the newest N runs of each playbook")
    which.add_argument("--older-than", metavar="AGE",
                       help="delete runs started longer ago than AGE (30d, 2w, 12h)")
    prune.add_argument("--history", metavar="PATH", default=argparse.SUPPRESS,
                       help=HISTORY_HELP)


def _diff_parser(sub) -> None:
    diff = sub.add_parser(
        "diff", help="what changed between two runs, or against a baseline",
        description=_wrap("Per job, host and key: histogram count and p50/p90/p99 "
        "(slot bounds), a distance between the distributions (earth mover's, "
        "in log2 slots), table rows and stacks that changed most, event rates. "
        "Each host is flagged regressed, improved or same."),
        epilog=DIFF_EXAMPLES, formatter_class=_RAW)
    diff.add_argument("runs", nargs="*", metavar="RUN",
                      help=f"A and B: {RUN_HELP}. None: the last run against the "
                      "one before it of the same playbook; one: that run against "
                      "the last; with --baseline: B only (default last)")
    diff.add_argument("--baseline", type=int, metavar="K",
                      help="compare B with the per-host median of the K runs of "
                      "its playbook before it")
    diff.add_argument("--playbook", metavar="NAME",
                      help="'last' and 'last~K' count only this playbook's runs")
    diff.add_argument("--threshold-slots", type=int, default=DEFAULT_THRESHOLD_SLOTS,
                      metavar="N", help="p50 or p99 must move this many log2 slots "
                      f"to flag (default {DEFAULT_THRESHOLD_SLOTS}, about 4x)")
    diff.add_argument("--min-count", type=int, default=MIN_SAMPLES, metavar="N",
                      help="samples needed on both sides to flag a histogram "
                      f"(default {MIN_SAMPLES})")
    diff.add_argument("--folded", metavar="DIR",
                      help="write DIR/<job>.diff.folded (stack count_a count_b) "
                      "for each profile job, for a differential flame graph")
    diff.add_argument("--json", action="store_true", help="print the diff as JSON")
    diff.add_argument("--history", metavar="PATH", help=HISTORY_HELP)


def _export_parser(sub) -> None:
    export = sub.add_parser("export", help="a run in a monitoring system's format",
                            description=_wrap("Print a recorded run in a format "
                            "monitoring systems read: OpenMetrics text, or the "
                            "Prometheus text format."),
                            epilog=EXPORT_EXAMPLES, formatter_class=_RAW)
    formats = export.add_subparsers(dest="export_format", required=True,
                                    metavar="{openmetrics}", parser_class=type(export),
                                    help="the format to print")
    om = formats.add_parser(
        "openmetrics", help="OpenMetrics text (or Prometheus text)",
        description=_wrap("Histograms as cumulative buckets (le = each log2 slot's "
        "upper bound, in base units), tables as gauges, event counts as "
        "counters, fleet_host_up and fleet_run_timestamp_seconds."),
        epilog=EXPORT_EXAMPLES, formatter_class=_RAW)
    om.add_argument("run", metavar="RUN", help=RUN_HELP)
    om.add_argument("--format", choices=("openmetrics", "prometheus"),
                    default="openmetrics", help="OpenMetrics 1.0 (default) or the "
                    "Prometheus text format 0.0.4 that node_exporter reads")
    om.add_argument("-o", "--output", metavar="FILE", help="write there, not stdout")
    om.add_argument("--history", metavar="PATH", help=HISTORY_HELP)


def _schedule_parser(sub) -> None:
    sched = sub.add_parser(
        "schedule", help="run a playbook on a systemd timer (or cron)",
        description=_wrap("Write fleet-<name>.service and fleet-<name>.timer running "
        "'fleet run' with absolute paths, recording into the history and "
        "writing node_exporter's textfile; or print a crontab line."),
        epilog=SCHEDULE_EXAMPLES, formatter_class=_RAW)
    sched.add_argument("playbook", nargs="?", help="the playbook to sweep with")
    sched.add_argument("--every", metavar="PERIOD",
                       help="how often: a period dividing an hour or a day (15m, 1h)")
    sched.add_argument("-i", "--inventory",
                       help="Ansible inventory (default localhost)")
    sched.add_argument("-l", "--limit", help="further limit the hosts")
    sched.add_argument("-f", "--forks", type=int, help="hosts set up in parallel")
    sched.add_argument("-d", "--duration", help="override the playbook's window")
    sched.add_argument("--known-hosts", help="known_hosts file for the sweeps")
    sched.add_argument("--runs", default="runs",
                       help="where run folders go (default ./runs, made absolute)")
    sched.add_argument("--history", metavar="PATH", help=HISTORY_HELP)
    sched.add_argument("--textfile-dir", metavar="DIR", default=DEFAULT_TEXTFILE_DIR,
                       help="node_exporter's textfile directory "
                       f"(default {DEFAULT_TEXTFILE_DIR})")
    sched.add_argument("--no-textfile", action="store_true",
                       help="write no textfile")
    sched.add_argument("--nice", type=int, default=DEFAULT_NICE,
                       help=f"Nice= of the sweep (default {DEFAULT_NICE})")
    sched.add_argument("--random-delay", metavar="PERIOD", help="RandomizedDelaySec= "
                       "(default a tenth of --every, at most 5m)")
    sched.add_argument("--user", help="User= the sweep runs as (default root)")
    sched.add_argument("--unit-dir", default=DEFAULT_UNIT_DIR,
                       help=f"where the units go (default {DEFAULT_UNIT_DIR})")
    sched.add_argument("--cron", action="store_true",
                       help="print a crontab line instead of writing units")
    sched.add_argument("--list", action="store_true",
                       help="list the sweeps fleet installed in --unit-dir")
    sched.add_argument("--remove", metavar="NAME",
                       help="remove a sweep's units (NAME from --list)")
