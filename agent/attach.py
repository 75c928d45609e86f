"""Attach-point choice: the probe points this host can use, and their C flags."""

import os
import pwd
import re

from agent import facts, limits, probes
from agent.decode import disk_dev

# perf_event targets -> (perf type, config): PERF_TYPE_SOFTWARE = 1, HARDWARE = 0
PERF_EVENTS = {
    "software:cpu-clock": (1, 0),
    "software:task-clock": (1, 1),
    "hardware:cpu-cycles": (0, 0),
    "hardware:instructions": (0, 1),
}


class JobError(Exception):
    """A job cannot run on this host; ``outcome`` names the failure kind."""

    def __init__(self, outcome, reason):
        Exception.__init__(self, reason)
        self.outcome = outcome
        self.reason = reason


def use_macro(point):
    """C macro defined when an attach point is the one chosen for its probe."""
    target = re.sub(r"\W", "_", point["target"].replace(":", "__"))
    return "FLEET_USE_%s__%s" % (point["kind"], target)


def point_label(point):
    """Human label of an attach point, e.g. ``tracepoint:block:block_rq_issue``."""
    return "%s:%s" % (point["kind"], point["target"])


def point_unavailable(point):
    """Return why an attach point cannot be used on this host, or None."""
    kind, target = point["kind"], point["target"]
    base = facts.tracefs_dir()
    if kind in ("tracepoint", "raw_tracepoint"):
        if base is None:
            return limits.no_tracefs()
        event = target.replace(":", "/") if ":" in target else target
        if kind == "raw_tracepoint" and ":" not in target:
            return None if _raw_tp_exists(base, target) else "no such raw tracepoint"
        if not os.path.isdir(os.path.join(base, "events", event)):
            return "no tracepoint %s on this kernel" % target
        return None
    if kind in ("kprobe", "kretprobe"):
        if not facts.kprobes_available():
            return "kprobes are not available on this kernel (no kprobe_events)"
        if point.get("pattern"):
            if not _kernel_symbol_matches(probes.glob_regex(target)):
                return "no kernel function matches %s" % target
            return None
        if not _kernel_symbol_exists(target):
            return "no kernel function %s" % target
        return None
    if kind == "perf_event":
        return None if target in PERF_EVENTS else "unknown perf event %s" % target
    if kind in ("uprobe", "uretprobe"):
        library = point.get("library") or target.split(":", 1)[0]
        try:
            found = probes.library_path(library)
        except Exception:
            found = None
        return (
            None
            if found and os.path.exists(found)
            else "library %s not found" % library
        )
    if kind == "usdt" and not point.get("pid"):
        binary = point.get("binary") or target.split(":", 1)[0]
        return None if os.path.exists(binary) else "binary %s not found" % binary
    return None


def _raw_tp_exists(base, name):
    """True when some tracefs event category has an event of this name."""
    events = os.path.join(base, "events")
    try:
        return any(
            os.path.isdir(os.path.join(events, c, name)) for c in os.listdir(events)
        )
    except OSError:
        return False


def _kernel_symbol_exists(name):
    """True when /proc/kallsyms lists a function of this name."""
    try:
        with open("/proc/kallsyms") as f:
            return any(line.split()[2] == name for line in f if name in line)
    except (OSError, IndexError):
        return False


def _kernel_symbol_matches(regex):
    """True when some function in /proc/kallsyms matches the regex."""
    match = re.compile(regex).match
    try:
        with open("/proc/kallsyms") as f:
            for line in f:
                fields = line.split()
                if len(fields) >= 3 and fields[1] in "tTwW" and match(fields[2]):
                    return True
    except OSError:
        pass
    return False


def choose_points(attach):
    """Pick the first usable point per probe slot.

    Returns (chosen, report): chosen is a list of (slot, point); report is the
    per-slot record sent to the controller. Raises JobError(attach-error) when a
    required slot has no usable point.
    """
    chosen, report = [], []
    for slot in attach:
        skipped, used = [], None
        for point in slot["points"]:
            why = point_unavailable(point)
            if why is None:
                used = point
                break
            skipped.append({"point": point_label(point), "reason": why})
        report.append(
            {
                "probe": slot["probe"],
                "used": point_label(used) if used else None,
                "skipped": skipped,
            }
        )
        if used is not None:
            chosen.append((slot, used))
        elif not slot.get("optional"):
            reasons = "; ".join("%s: %s" % (s["point"], s["reason"]) for s in skipped)
            raise JobError(
                "attach-error",
                "probe '%s' cannot attach (%s)" % (slot["probe"], reasons),
            )
    return chosen, report


def resolve_cflags(resolve):
    """Turn host-resolved params (disk names, user names) into -D flags for the C."""
    flags = []
    for param, spec in sorted((resolve or {}).items()):
        if spec.get("type") == "user":
            # A user this host lacks matches nothing: the job runs, traces nothing.
            try:
                uid = pwd.getpwnam(spec["value"]).pw_uid
            except KeyError:
                uid = 0xFFFFFFFF
            flags.append("-DFLEET_UID_%s=%dU" % (param.upper(), uid))
        if spec.get("type") == "disk":
            dev = disk_dev(spec["value"])
            # A disk this host lacks matches nothing: the job runs, traces nothing.
            flags.append(
                "-DFLEET_DEV_%s=%dU"
                % (param.upper(), dev if dev is not None else 0xFFFFFFFF)
            )
    return flags
