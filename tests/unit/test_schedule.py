"""Unit tests for fleet.schedule: periods, ExecStart quoting, units that the real
systemd-analyze verifies, the crontab line, install/list/remove."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from fleet.errors import InputError
from fleet.schedule import (
    MARKER,
    Schedule,
    calendar,
    cron_line,
    install_units,
    installed_units,
    remove_units,
    service_text,
    systemd_quote,
    timer_text,
    unit_name,
)


def _skip_or_fail(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"prerequisite missing in CI: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.mark.parametrize("every_s, on_calendar, cron", [
    (60, "*-*-* *:00/1:00", "* * * * *"),
    (15 * 60, "*-*-* *:00/15:00", "*/15 * * * *"),
    (30 * 60, "*-*-* *:00/30:00", "*/30 * * * *"),
    (3600, "*-*-* 00/1:00:00", "0 * * * *"),
    (6 * 3600, "*-*-* 00/6:00:00", "0 */6 * * *"),
    (24 * 3600, "*-*-* 00:00:00", "0 0 * * *"),
])
def test_calendar_of_even_periods(every_s, on_calendar, cron):
    assert calendar(every_s) == (on_calendar, cron)


@pytest.mark.parametrize("every", ["7m", "90s", "5h", "30s", "48h"])
def test_uneven_periods_are_refused_with_the_even_ones_listed(every):
    with pytest.raises(InputError, match=r"--every must divide an hour.*15m"):
        Schedule("fleet-x", every, ["/bin/true"], "x")


@pytest.mark.parametrize("arg, quoted", [
    ("/srv/pb.yaml", "/srv/pb.yaml"),
    ("/srv/my sweeps/pb.yaml", '"/srv/my sweeps/pb.yaml"'),
    ("100%", "100%%"),
    ("$HOME", "$$HOME"),
    ('say "hi"', '"say \\"hi\\""'),
    ("a\\b", '"a\\\\b"'),
    (";", '";"'),
])
def test_systemd_quote(arg, quoted):
    assert systemd_quote(arg) == quoted


def _verify(tmp_path: Path, schedule: Schedule) -> subprocess.CompletedProcess:
    """The real systemd-analyze verify on the two generated units."""
    if shutil.which("systemd-analyze") is None:
        _skip_or_fail("systemd-analyze not installed")
    paths = install_units(schedule, tmp_path)
    return subprocess.run(["systemd-analyze", "verify", *map(str, paths)],
                          capture_output=True, text=True, timeout=60)


def test_units_pass_systemd_analyze_verify(tmp_path):
    command = ["/usr/bin/env", "fleet", "run", "/srv/my sweeps/100% pb.yaml",
               "--history", "/var/lib/fleet/$HOME.sqlite"]
    done = _verify(tmp_path, Schedule("fleet-health-sweep", "15m", command,
                                      "health sweep", user="root"))
    assert done.returncode == 0 and done.stderr == "", done.stderr


def test_systemd_analyze_catches_a_missing_executable(tmp_path):
    done = _verify(tmp_path, Schedule("fleet-x", "1h", ["/nonexistent/fleet"], "x"))
    assert done.returncode != 0 and "/nonexistent/fleet" in done.stderr


def test_service_and_timer_contents():
    schedule = Schedule("fleet-sweep", "15m", ["/opt/fleet", "run", "/pb.yaml"],
                        "sweep")
    service, timer = service_text(schedule), timer_text(schedule)
    assert service.startswith(MARKER) and timer.startswith(MARKER)
    assert "ExecStart=/opt/fleet run /pb.yaml\n" in service
    assert "Type=oneshot" in service and "Nice=10" in service
    assert "SuccessExitStatus=2 4" in service and "TimeoutStartSec=900" in service
    for line in ("OnCalendar=*-*-* *:00/15:00", "Persistent=true",
                 "RandomizedDelaySec=90", "Unit=fleet-sweep.service",
                 "WantedBy=timers.target"):
        assert line + "\n" in timer
    slow = Schedule("fleet-sweep", "24h", ["/opt/fleet"], "sweep", nice=5)
    assert "RandomizedDelaySec=300" in timer_text(slow)
    assert "Nice=5" in service_text(slow)


def test_cron_line_quotes_for_the_shell_and_escapes_percent():
    schedule = Schedule("fleet-sweep", "30m", ["/opt/fleet", "run", "/a b/100%.yaml"],
                        "sweep")
    line = cron_line(schedule, "/var/log/fleet sweep.log")
    fields, command = line[:12], line[13:]
    assert fields == "*/30 * * * *"
    assert command.startswith("nice -n 10 /opt/fleet run '/a b/100\\%.yaml'")
    assert command.endswith(">>'/var/log/fleet sweep.log' 2>&1")
    # what cron hands to sh, once it turned \% back into %
    assert shlex.split(command.replace("\\%", "%"))[3:6] == [
        "/opt/fleet", "run", "/a b/100%.yaml"]


def test_unit_name_is_a_slug():
    assert unit_name("Health Sweep #2") == "fleet-health-sweep-2"


def test_install_list_and_remove(tmp_path):
    schedule = Schedule("fleet-sweep", "15m", ["/opt/fleet"], "my % sweep")
    install_units(schedule, tmp_path)
    wants = tmp_path / "timers.target.wants"
    wants.mkdir()
    (wants / "fleet-sweep.timer").symlink_to(tmp_path / "fleet-sweep.timer")
    assert installed_units(tmp_path) == [{
        "name": "fleet-sweep", "every": "15m", "playbook": "my % sweep",
        "files": [str(tmp_path / "fleet-sweep.timer"),
                  str(tmp_path / "fleet-sweep.service")]}]
    removed = remove_units("sweep", tmp_path)
    assert sorted(p.name for p in removed) == ["fleet-sweep.service",
                                               "fleet-sweep.timer"]
    assert list(tmp_path.rglob("fleet-*")) == []
    with pytest.raises(InputError, match="no sweep 'fleet-sweep'"):
        remove_units("fleet-sweep.timer", tmp_path)


def test_foreign_units_are_never_overwritten_or_removed(tmp_path):
    foreign = tmp_path / "fleet-sweep.service"
    foreign.write_text("[Service]\nExecStart=/bin/true\n")
    schedule = Schedule("fleet-sweep", "15m", ["/opt/fleet"], "sweep")
    with pytest.raises(InputError, match="not written by fleet schedule"):
        install_units(schedule, tmp_path)
    with pytest.raises(InputError, match="not written by fleet schedule"):
        remove_units("sweep", tmp_path)
    assert foreign.read_text() == "[Service]\nExecStart=/bin/true\n"
    assert installed_units(tmp_path) == []
