"""Kernel limits explained: turn an errno from loading or attaching into one line.

BCC's own messages name a program (``b'tracepoint__block__...'``) and, at best,
strerror; a user needs to know which limit was hit and what to do about it.
"""

import ctypes
import errno
import re

from agent import facts

_TRACEPOINT = re.compile(r"tracepoint (?:b')?([\w]+:[\w]+)")
_ERRNO_TEXT = {
    errno.E2BIG: "Argument list too long",
    errno.EPERM: "Operation not permitted",
    errno.ENOSPC: "No space left on device",
    errno.ENOMEM: "Cannot allocate memory",
}


def clear_errno():
    """Forget the errno of earlier libbcc calls (call before one that may fail)."""
    ctypes.set_errno(0)


def last_errno(message=""):
    """The errno behind a failed libbcc call: the message's, else ctypes' copy."""
    for code, text in _ERRNO_TEXT.items():
        if text in message:
            return code
    return ctypes.get_errno() or None


def explain(code, message, target=None):
    """One clear line for a kernel refusal, or None when code is no known limit."""
    if target is None:
        found = _TRACEPOINT.search(message)
        target = found.group(1) if found else None
    if code == errno.E2BIG and target:
        return (
            "tracepoint %s already has the kernel's maximum of BPF programs "
            "attached (E2BIG); other tracing tools hold them: stop some and "
            "run again" % target
        )
    if code == errno.EPERM:  # (EACCES is the verifier's: its log says more)
        mode = facts.lockdown_mode()
        if mode not in (None, "none"):
            return (
                "the kernel refused BPF (EPERM): lockdown is '%s', which "
                "forbids it; boot with lockdown=none to trace" % mode
            )
        return (
            "the kernel refused BPF (EPERM): the agent needs root or "
            "CAP_BPF+CAP_PERFMON (set ansible_become, or check sysctl "
            "kernel.unprivileged_bpf_disabled)"
        )
    if code in (errno.ENOSPC, errno.ENOMEM):
        return (
            "not enough locked memory for BPF maps (%s): raise the agent's "
            "RLIMIT_MEMLOCK (ulimit -l) or lower the job's map sizes"
            % errno.errorcode[code]
        )
    return None


def no_tracefs():
    """The line for a host where tracefs cannot be found or mounted."""
    return (
        "tracefs is not mounted and could not be mounted "
        "(mount -t tracefs none /sys/kernel/tracing as root)"
    )
