"""Scheduled sweeps with the schedulers people have: systemd timers or a cron line.

``fleet schedule`` writes a service + timer pair (or prints a crontab line)
whose command is an ordinary ``fleet run`` with absolute paths, recording into
the history and writing node_exporter's textfile. There is no daemon of
fleet's own: systemd (or cron) starts the sweep, fleet runs it and exits.
"""

from __future__ import annotations

import os
import re
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path

from fleet.atomicfile import atomic_write
from fleet.errors import InputError

__all__ = [
    "DEFAULT_TEXTFILE_DIR",
    "DEFAULT_UNIT_DIR",
    "MARKER",
    "Schedule",
    "calendar",
    "cron_line",
    "fleet_command",
    "install_units",
    "installed_units",
    "remove_units",
    "service_text",
    "systemd_quote",
    "timer_text",
    "unit_name",
]

DEFAULT_UNIT_DIR = "/etc/systemd/system"
# Debian's prometheus-node-exporter reads textfiles from here by default.
DEFAULT_TEXTFILE_DIR = "/var/lib/prometheus/node-exporter"
MARKER = "# Written by fleet schedule"
# Sweeps yield the CPU to the services they watch.
DEFAULT_NICE = 10
# Spread the sweeps of many controllers a little, never by more than 5 minutes.
MAX_RANDOM_DELAY_S = 300

# 2: some host failed, 4: some host unreachable. The sweep still ran, was
# recorded and exported; the failing hosts show in fleet_host_up, not as a
# failed unit.
SUCCESS_EXIT = "2 4"

_EVENLY = ("--every must divide an hour (1m, 2m, 3m, 4m, 5m, 6m, 10m, 12m, 15m, "
           "20m, 30m) or a day (1h, 2h, 3h, 4h, 6h, 8h, 12h, 24h), so that the "
           "sweeps stay evenly spaced; got {!r}")


@dataclass
class Schedule:
    """One scheduled sweep: what runs, how often, how nicely."""

    name: str
    every: str
    command: list[str]
    playbook: str
    nice: int = DEFAULT_NICE
    random_delay_s: int | None = None
    user: str | None = None
    every_s: float = field(init=False)

    def __post_init__(self) -> None:
        from fleet.playbook import parse_duration  # the CLI parser imports us

        self.every_s = parse_duration(self.every, what="--every")
        calendar(self.every_s, self.every)  # refuse uneven periods early
        if self.random_delay_s is None:
            self.random_delay_s = int(min(self.every_s / 10, MAX_RANDOM_DELAY_S))


def calendar(every_s: float, text: str = "") -> tuple[str, str]:
    """The systemd OnCalendar expression and the cron time fields for a period."""
    minutes = every_s / 60
    if every_s % 60 or minutes < 1:
        raise InputError(_EVENLY.format(text or f"{every_s:g}s"))
    minutes = int(minutes)
    if minutes < 60 and 60 % minutes == 0:
        cron = "* * * * *" if minutes == 1 else f"*/{minutes} * * * *"
        return f"*-*-* *:00/{minutes}:00", cron
    hours = minutes // 60
    if minutes % 60 == 0 and hours < 24 and 24 % hours == 0:
        cron = "0 * * * *" if hours == 1 else f"0 */{hours} * * *"
        return f"*-*-* 00/{hours}:00:00", cron
    if minutes == 24 * 60:
        return "*-*-* 00:00:00", "0 0 * * *"
    raise InputError(_EVENLY.format(text or f"{every_s:g}s"))


def unit_name(playbook_name: str) -> str:
    """``fleet-<slug>``: the units' base name for a playbook."""
    slug = re.sub(r"[^a-z0-9]+", "-", playbook_name.lower()).strip("-") or "sweep"
    return f"fleet-{slug}"


def fleet_command() -> list[str]:
    """How to start this very fleet from a unit: its console script, or -m fleet."""
    script = Path(os.path.abspath(sys.executable)).parent / "fleet"
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    return [os.path.abspath(sys.executable), "-m", "fleet"]


def systemd_quote(arg: str) -> str:
    """One argument for an ExecStart= line (systemd.service "Command lines").

    ``%`` (specifiers) and ``$`` (variables) are doubled everywhere; an
    argument with spaces, quotes, backslashes or a lone ``;`` is double-quoted
    with C escapes.
    """
    text = arg.replace("%", "%%").replace("$", "$$")
    if text and not re.search(r"[\s\"'\\;]", text):
        return text
    escaped = (text.replace("\\", "\\\\").replace('"', '\\"')
               .replace("\n", "\\n").replace("\t", "\\t"))
    return f'"{escaped}"'


def _specifiers(text: str) -> str:
    """A free-text value (Description=) with systemd's specifiers escaped."""
    return text.replace("%", "%%").replace("\n", " ")


def _header(schedule: Schedule) -> list[str]:
    return [
        f"{MARKER} (every {schedule.every}): {schedule.playbook}",
        f"# Remove with: fleet schedule --remove {schedule.name}",
    ]


def service_text(schedule: Schedule) -> str:
    """The ``fleet-<name>.service`` unit: one sweep, then exit."""
    lines = [
        *_header(schedule),
        "[Unit]",
        f"Description=fleet sweep {_specifiers(schedule.name)}"
        f" ({_specifiers(schedule.playbook)})",
        "After=network-online.target",
        "Wants=network-online.target",
        f"X-Fleet-Playbook={_specifiers(schedule.playbook)}",
        f"X-Fleet-Every={schedule.every}",
        "",
        "[Service]",
        "Type=oneshot",
        "ExecStart=" + " ".join(systemd_quote(arg) for arg in schedule.command),
        f"Nice={schedule.nice}",
        f"SuccessExitStatus={SUCCESS_EXIT}",
        # A sweep still running when the next is due is stuck: stop it.
        f"TimeoutStartSec={int(schedule.every_s)}",
    ]
    if schedule.user:
        lines.append(f"User={schedule.user}")
    return "\n".join(lines) + "\n"


def timer_text(schedule: Schedule) -> str:
    """The ``fleet-<name>.timer`` unit: when the service runs."""
    on_calendar, _ = calendar(schedule.every_s, schedule.every)
    return "\n".join([
        *_header(schedule),
        "[Unit]",
        f"Description=fleet sweep {_specifiers(schedule.name)} every {schedule.every}",
        f"X-Fleet-Every={schedule.every}",
        "",
        "[Timer]",
        f"OnCalendar={on_calendar}",
        # A sweep missed while the machine was off runs once when it is back.
        "Persistent=true",
        f"RandomizedDelaySec={schedule.random_delay_s}",
        "AccuracySec=1s",
        f"Unit={schedule.name}.service",
        "",
        "[Install]",
        "WantedBy=timers.target",
    ]) + "\n"


def cron_line(schedule: Schedule, log: str) -> str:
    """A crontab line for the same sweep, its output appended to ``log``."""
    _, fields = calendar(schedule.every_s, schedule.every)
    command = " ".join(shlex.quote(arg) for arg in schedule.command)
    nice = f"nice -n {schedule.nice} " if schedule.nice else ""
    # cron turns an unescaped % into a newline.
    line = f"{fields} {nice}{command} >>{shlex.quote(log)} 2>&1"
    return line.replace("%", "\\%")


def _units(unit_dir: Path, name: str) -> list[Path]:
    return [unit_dir / f"{name}.service", unit_dir / f"{name}.timer"]


def _ours(path: Path) -> bool:
    """Whether a unit file was written by fleet schedule."""
    try:
        return path.read_text(errors="replace").startswith(MARKER)
    except OSError:
        return False


def install_units(schedule: Schedule, unit_dir: str | os.PathLike) -> list[Path]:
    """Write the service and timer into ``unit_dir``; never over a foreign unit."""
    unit_dir = Path(unit_dir)
    paths = _units(unit_dir, schedule.name)
    for path in paths:
        if path.exists() and not _ours(path):
            raise InputError(f"{path} exists and was not written by fleet schedule; "
                             "remove it or pick another playbook name")
    unit_dir.mkdir(parents=True, exist_ok=True)
    for path, text in zip(paths, (service_text(schedule), timer_text(schedule))):
        atomic_write(path, lambda out, text=text: out.write(text), mode=0o644)
    return paths


def installed_units(unit_dir: str | os.PathLike) -> list[dict]:
    """The sweeps fleet installed in ``unit_dir``: name, every, playbook, files."""
    found = []
    for timer in sorted(Path(unit_dir).glob("fleet-*.timer")):
        if not _ours(timer):
            continue
        name = timer.name[: -len(".timer")]
        service = timer.with_name(f"{name}.service")
        keys = _x_keys(service if service.exists() else timer)
        found.append({"name": name, "every": keys.get("X-Fleet-Every"),
                      "playbook": keys.get("X-Fleet-Playbook"),
                      "files": [str(timer)] + ([str(service)] if service.exists()
                                               else [])})
    return found


def _x_keys(path: Path) -> dict[str, str]:
    """fleet's own X-Fleet-* keys of a unit file."""
    keys = {}
    for line in path.read_text(errors="replace").splitlines():
        key, sep, value = line.partition("=")
        if sep and key.startswith("X-Fleet-"):
            keys[key] = value.replace("%%", "%")
    return keys


def remove_units(name: str, unit_dir: str | os.PathLike) -> list[Path]:
    """Remove a sweep's units (and its timers.target.wants link); return them."""
    unit_dir = Path(unit_dir)
    base = re.sub(r"\.(service|timer)$", "", name)
    base = base if base.startswith("fleet-") else f"fleet-{base}"
    paths = [p for p in _units(unit_dir, base) if p.exists()]
    if not paths:
        raise InputError(f"no sweep {base!r} in {unit_dir}; see "
                         "'fleet schedule --list'")
    foreign = [str(p) for p in paths if not _ours(p)]
    if foreign:
        raise InputError(f"{', '.join(foreign)} not written by fleet schedule; "
                         "left alone")
    wants = unit_dir / "timers.target.wants" / f"{base}.timer"
    if wants.is_symlink():
        wants.unlink()
    for path in paths:
        path.unlink()
    return paths
