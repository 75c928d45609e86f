"""Shared pytest fixtures and skips for the fleet test suite.

- ``scripts/`` is put on sys.path, so tests can ``import sshfleet``.
- Tests marked ``kernel`` are skipped (with the reason) unless we are root and the
  system Python can ``import bcc``.
- Tests marked ``ssh`` are skipped unless a real sshd fleet can run here.
- A session that collects any ``kernel`` or ``ssh`` test first takes an exclusive
  lock (``FLEET_E2E_LOCK``, default /tmp/fleet-e2e.lock): two such sessions on
  one machine would see each other's agents and BPF programs, share the
  kernel's 64 programs per tracepoint and race for loopback ranges.
- ``FLEET_HISTORY`` points at a session-private history file (see below).
- ``ssh_fleet``: a session-wide fleet of 3 real sshd hosts on loopback (see
  scripts/sshfleet.py), plus one host ``badhost`` whose known_hosts key is wrong.
- Tests marked ``vm`` are skipped unless the qemu guest can run (and its image
  is cached or can be built); they take the end-to-end lock too.
- ``vm_fleet``: a session-wide Debian 12 (kernel 6.1, kprobes) qemu guest, host
  ``vm1`` (see scripts/vmfleet.py), booted on first use.
"""

from __future__ import annotations

import fcntl
import functools
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
SCRIPTS_DIR = REPO_ROOT / "scripts"
if str(SCRIPTS_DIR) not in sys.path:
    sys.path.insert(0, str(SCRIPTS_DIR))

import sshfleet  # noqa: E402
import vmfleet  # noqa: E402

SYSTEM_PYTHON = "/usr/bin/python3"
FLEET_SIZE = 3
BAD_KEY_HOST = "badhost"


# ---------------------------------------------------------------------------
# environment checks (cached: each runs at most once per session)


@functools.cache
def kernel_skip_reason() -> str | None:
    """Why kernel (real BCC) tests cannot run here, or None if they can."""
    if os.geteuid() != 0:
        return "kernel tests need root"
    try:
        proc = subprocess.run(
            [SYSTEM_PYTHON, "-c", "import bcc"],
            capture_output=True,
            text=True,
            timeout=60,
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"kernel tests need BCC: {SYSTEM_PYTHON} -c 'import bcc': {e}"
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["failed"])[-1]
        return f"kernel tests need BCC: {SYSTEM_PYTHON} -c 'import bcc': {last}"
    return None


@functools.cache
def ssh_skip_reason() -> str | None:
    """Why a real sshd fleet cannot run here, or None if it can."""
    why = sshfleet.check_prerequisites()
    return f"sshd fleet unavailable: {why}" if why else None


def vm_image_cache() -> Path:
    """Where the guest image is cached: FLEET_VM_CACHE, else vmimage's default."""
    default = vmfleet.vmimage.DEFAULT_CACHE
    return Path(os.environ.get("FLEET_VM_CACHE", default))


@functools.cache
def vm_skip_reason() -> str | None:
    """Why the qemu guest cannot run here, or None if it can."""
    why = vmfleet.check_prerequisites(vm_image_cache())
    return f"qemu guest unavailable: {why}" if why else None


def _skip_or_fail(reason: str) -> None:
    """Skip on a developer machine; in CI a missing prerequisite is a failure.

    CI installs everything (make install), so a skip there would hide a broken
    install step behind a green run.
    """
    if os.environ.get("CI"):
        pytest.fail(f"prerequisite missing in CI: {reason}", pytrace=False)
    pytest.skip(reason)


_E2E_LOCK: list = []  # the open lock file, held until the session's process exits


def _needs_machine(item: pytest.Item) -> bool:
    markers = ("kernel", "ssh", "vm")
    return any(item.get_closest_marker(m) is not None for m in markers)


def pytest_collection_modifyitems(config, items) -> None:
    """Hold the machine-wide end-to-end lock for the whole session if needed."""
    if _E2E_LOCK or not any(_needs_machine(item) for item in items):
        return
    path = os.environ.get("FLEET_E2E_LOCK", "/tmp/fleet-e2e.lock")
    lock = open(path, "a")  # noqa: SIM115 - held for the session
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        sys.stderr.write(f"\nwaiting for {path}: another kernel/ssh test session\n")
        fcntl.flock(lock, fcntl.LOCK_EX)
    _E2E_LOCK.append(lock)


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("kernel") is not None:
        reason = kernel_skip_reason()
        if reason:
            _skip_or_fail(reason)
    if item.get_closest_marker("ssh") is not None:
        reason = ssh_skip_reason()
        if reason:
            _skip_or_fail(reason)
    if item.get_closest_marker("vm") is not None:
        reason = vm_skip_reason()
        if reason:
            _skip_or_fail(reason)


# ---------------------------------------------------------------------------
# the sshd fleet


def require_sshd() -> None:
    """Skip the calling test/fixture if no real sshd fleet can run here."""
    reason = ssh_skip_reason()
    if reason:
        _skip_or_fail(reason)


def start_fleet(
    directory: Path,
    n: int,
    candidates: list[str] | None = None,
    port: int = sshfleet.DEFAULT_PORT,
    bad_key_host: str | None = None,
    tries: int = 3,
    **fleet_args,
) -> sshfleet.SSHFleet:
    """Start a fleet on the first free loopback range among candidates.

    Retried a few times: another test session on this machine may take the same
    range between the check and sshd's bind. fleet_args go to SSHFleet (ports,
    one_address, tcp_forwarding, session_env).
    """
    for attempt in range(tries):
        base = sshfleet.pick_base_address(n + 1, port, candidates)
        fleet = sshfleet.SSHFleet(directory / f"try{attempt}", base, port,
                                  **fleet_args)
        try:
            fleet.start(n)
            if bad_key_host:
                fleet.add_bad_key_host(bad_key_host)
            return fleet
        except sshfleet.FleetError:
            fleet.stop()
            if attempt == tries - 1:
                raise
    raise AssertionError("unreachable")


@pytest.fixture(scope="session")
def ssh_fleet(tmp_path_factory: pytest.TempPathFactory):
    """A running SSHFleet: host1..host3 (group `fleet`) and `badhost` (`badkey`).

    Attributes used most: ``inventory_path``, ``known_hosts_path``,
    ``client_key_path``, ``hosts`` (list of {name, address, port}),
    ``bad_key_hosts``, ``ssh_argv(host, *cmd)``, ``ssh(host, *cmd)``.
    Addresses are 127.0.1.1.. on port 22 unless that range is busy (then the
    next free 127.0.K.0 range); SSHFLEET_BASE_ADDRESS / SSHFLEET_PORT in the
    environment override both.
    Do not stop it: it is shared by the whole session.
    """
    require_sshd()
    port = int(os.environ.get("SSHFLEET_PORT", sshfleet.DEFAULT_PORT))
    base = os.environ.get("SSHFLEET_BASE_ADDRESS")
    fleet = start_fleet(
        tmp_path_factory.mktemp("sshfleet"),
        FLEET_SIZE,
        candidates=[base] if base else None,
        port=port,
        bad_key_host=BAD_KEY_HOST,
    )
    try:
        yield fleet
    finally:
        fleet.stop()


@pytest.fixture(scope="session")
def fleet_inventory(ssh_fleet) -> Path:
    """Path to the session fleet's Ansible YAML inventory."""
    return ssh_fleet.inventory_path


@pytest.fixture(scope="session")
def bad_key_host(ssh_fleet) -> dict:
    """{name, address, port} of the session fleet's wrong-known_hosts host."""
    return ssh_fleet.host(BAD_KEY_HOST)


@pytest.fixture
def fresh_ssh_fleet(tmp_path: Path):
    """Factory for a private fleet, stopped after the test: ``make(n=2)``.

    For tests that stop or break hosts; it takes a loopback range the session
    fleet does not use. Keyword arguments go to SSHFleet (ports, one_address,
    tcp_forwarding, session_env).
    """
    require_sshd()
    made: list[sshfleet.SSHFleet] = []

    def make(
        n: int = 2, port: int = sshfleet.DEFAULT_PORT, **fleet_args
    ) -> sshfleet.SSHFleet:
        fleet = start_fleet(
            tmp_path / f"fleet{len(made)}",
            n,
            candidates=[f"127.0.{i}.0" for i in range(20, 40)],
            port=port,
            **fleet_args,
        )
        made.append(fleet)
        return fleet

    yield make
    for fleet in made:
        fleet.stop()


@pytest.fixture(scope="session", autouse=True)
def _private_history(tmp_path_factory: pytest.TempPathFactory):
    """Runs in tests record into a session history, never the user's own.

    Every `fleet run` records into a history (FLEET_HISTORY, else
    ~/.local/share/fleet); the CLI processes tests start inherit this variable.
    """
    old = os.environ.get("FLEET_HISTORY")
    os.environ["FLEET_HISTORY"] = str(tmp_path_factory.mktemp("history") / "h.sqlite")
    yield
    if old is None:
        os.environ.pop("FLEET_HISTORY", None)
    else:
        os.environ["FLEET_HISTORY"] = old


# ---------------------------------------------------------------------------
# the qemu guest

_VM_TIMINGS: list[dict] = []  # for the terminal summary


@pytest.fixture(scope="session")
def vm_fleet(tmp_path_factory: pytest.TempPathFactory):
    """A running VMFleet: host ``vm1`` (group ``vm``), Debian 12 on kernel 6.1.

    Same shape as ssh_fleet: ``inventory_path``, ``known_hosts_path``,
    ``client_key_path``, ``hosts``, ``ssh(host, *cmd, timeout=60)``,
    ``ssh_argv(host, *cmd)``, plus ``kernel`` (the guest's uname -r) and
    ``timings``. ssh is forwarded to 127.0.9.1:2222 unless VMFLEET_ADDRESS /
    VMFLEET_PORT say otherwise; the image is built on first use (about a
    minute) and cached (FLEET_VM_CACHE). Do not stop it: the session shares it.
    """
    reason = vm_skip_reason()
    if reason:
        _skip_or_fail(reason)
    fleet = vmfleet.VMFleet(
        tmp_path_factory.mktemp("vmfleet"),
        address=os.environ.get("VMFLEET_ADDRESS", vmfleet.DEFAULT_ADDRESS),
        port=int(os.environ.get("VMFLEET_PORT", vmfleet.DEFAULT_PORT)),
        image_cache=vm_image_cache(),
    )
    fleet.start()
    _VM_TIMINGS.append(fleet.timings)
    try:
        yield fleet
    finally:
        fleet.stop()


def pytest_terminal_summary(terminalreporter) -> None:
    """Say what the guest cost this session: image build and boot to sshd."""
    for timings in _VM_TIMINGS:
        parts = ", ".join(f"{k} {v:g}" for k, v in timings.items())
        terminalreporter.write_line(f"vm_fleet: {parts}")
