"""Host facts for the hello message, and making tracefs reachable for BCC."""

import os
import platform
import subprocess

TRACEFS_DIRS = ("/sys/kernel/tracing", "/sys/kernel/debug/tracing")


def tracefs_dir():
    """Return the first tracefs mount that has events/, or None."""
    for path in TRACEFS_DIRS:
        if os.path.isdir(os.path.join(path, "events")):
            return path
    return None


def ensure_tracefs():
    """Mount debugfs/tracefs when missing (BCC 0.26 reads formats under debugfs).

    Returns a short note of what was done, or None when nothing was needed.
    """
    if os.path.isdir("/sys/kernel/debug/tracing/events"):
        return None
    notes = []
    if not os.path.ismount("/sys/kernel/debug"):
        if _mount("debugfs", "/sys/kernel/debug"):
            notes.append("mounted debugfs")
    if not os.path.isdir("/sys/kernel/tracing/events"):
        if _mount("tracefs", "/sys/kernel/tracing"):
            notes.append("mounted tracefs")
    if not os.path.isdir("/sys/kernel/debug/tracing/events"):
        notes.append("tracefs not reachable under /sys/kernel/debug")
    return ", ".join(notes) or None


def _mount(fstype, target):
    """Mount a pseudo filesystem; True on success."""
    try:
        done = subprocess.run(
            ["mount", "-t", fstype, "none", target],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0


def kprobes_available():
    """True when the kernel can create kprobes (kprobe_events exists in tracefs)."""
    base = tracefs_dir()
    return bool(base) and os.path.exists(os.path.join(base, "kprobe_events"))


def lockdown_mode():
    """Return the active kernel lockdown mode ("none", "integrity", ...) or None."""
    try:
        with open("/sys/kernel/security/lockdown") as f:
            text = f.read()
    except OSError:
        return None
    for word in text.split():
        if word.startswith("["):
            return word.strip("[]")
    return None


OS_RELEASE_FILES = ("/etc/os-release", "/usr/lib/os-release")
OS_RELEASE_KEYS = ("ID", "ID_LIKE", "VERSION_ID", "PRETTY_NAME")


def os_release():
    """ID, ID_LIKE, VERSION_ID and PRETTY_NAME from os-release (lower-case keys)."""
    for path in OS_RELEASE_FILES:
        try:
            with open(path) as f:
                lines = f.read().splitlines()
        except OSError:
            continue
        found = {}
        for line in lines:
            key, sep, value = line.partition("=")
            if sep and key.strip() in OS_RELEASE_KEYS:
                found[key.strip().lower()] = value.strip().strip("\"'")
        return found
    return {}


def gather(bcc_version, headers, tracefs_note):
    """Return the facts dict sent in hello."""
    return {
        "hostname": platform.node(),
        "kernel": platform.release(),
        "arch": platform.machine(),
        "python": platform.python_version(),
        "python_path": os.path.realpath(os.sys.executable),
        "euid": os.geteuid(),
        "btf": os.path.exists("/sys/kernel/btf/vmlinux"),
        "bcc": bcc_version,
        "headers": headers,
        "kprobes": kprobes_available(),
        "tracefs": tracefs_dir(),
        "tracefs_note": tracefs_note,
        "lockdown": lockdown_mode(),
        "ncpu": os.cpu_count(),
        "os": os_release(),
    }
