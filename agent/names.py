"""Names for numbers jobs report: kernel and user symbols, syscalls, signals,
capabilities, softirqs. The agent's field decoders (``decode:`` in job.yaml)."""

import os
import re
import signal

from agent import facts

# include/uapi/linux/capability.h, CAP_* by number (stable ABI).
CAPABILITIES = (
    "CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL",
    "SETGID", "SETUID", "SETPCAP", "LINUX_IMMUTABLE", "NET_BIND_SERVICE",
    "NET_BROADCAST", "NET_ADMIN", "NET_RAW", "IPC_LOCK", "IPC_OWNER", "SYS_MODULE",
    "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT", "SYS_ADMIN", "SYS_BOOT",
    "SYS_NICE", "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD", "LEASE",
    "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP", "MAC_OVERRIDE", "MAC_ADMIN",
    "SYSLOG", "WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF",
    "CHECKPOINT_RESTORE",
)
# include/linux/interrupt.h, the softirq vectors in order (as /proc/softirqs).
SOFTIRQS = ("hi", "timer", "net_tx", "net_rx", "block", "irq_poll", "tasklet",
            "sched", "hrtimer", "rcu")


def as_str(value):
    """BCC hands out names and paths as bytes or str, depending on its version."""
    return value.decode() if isinstance(value, bytes) else value


def ksym(addr):
    """A kernel address -> its function name (BCC's /proc/kallsyms cache)."""
    from bcc import BPF

    return as_str(BPF.ksym(addr))


def usym(addr, pid):
    """A user address in process pid -> its symbol name, "[unknown]" if gone."""
    from bcc import BPF

    try:
        return as_str(BPF.sym(addr, pid))
    except Exception:  # the process exited and its maps were never read
        return "[unknown]"


def syscall(nr):
    """A syscall number -> its name on this architecture (BCC's table)."""
    try:
        from bcc.syscall import syscall_name

        return as_str(syscall_name(nr))
    except Exception:  # an old BCC without the table, or an unknown number
        return "syscall_%d" % nr


def signal_name(number):
    """A signal number -> SIGKILL, SIGTERM, ...; 0 (no signal) -> ""."""
    if number == 0:
        return ""
    try:
        return signal.Signals(number).name
    except ValueError:
        return "SIG%d" % number


def capability(number):
    """A capability number -> CAP_SYS_ADMIN, ..."""
    if 0 <= number < len(CAPABILITIES):
        return "CAP_" + CAPABILITIES[number]
    return "CAP_%d" % number


def softirq(vec):
    """A softirq vector -> net_rx, timer, ..."""
    return SOFTIRQS[vec] if 0 <= vec < len(SOFTIRQS) else "vec%d" % vec


TCP_FLAGS = ("FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR")


def tcp_flags(bits):
    """A TCP header's flag byte -> SYN|ACK."""
    return "|".join(name for i, name in enumerate(TCP_FLAGS) if bits & (1 << i))


_DROP_REASONS = {}


def drop_reason(number):
    """A packet drop reason -> NO_SOCKET, TCP_CSUM, ... as this kernel names them.

    The names come from the host's own skb:kfree_skb format (its
    __print_symbolic table), since the enum differs between kernels.
    """
    if not _DROP_REASONS:
        _DROP_REASONS.update(_reasons_of(facts.tracefs_dir()))
    return _DROP_REASONS.get(number, str(number) if number else "")


def _reasons_of(tracefs):
    path = os.path.join(tracefs or "", "events", "skb", "kfree_skb", "format")
    try:
        with open(path) as f:
            text = f.read()
    except OSError:
        return {0: ""}
    table = text.split("__print_symbolic(REC->reason", 1)[-1]
    pairs = re.findall(r'\{\s*(\d+),\s*"(\w+)"\s*\}', table)
    found = {int(n): name for n, name in pairs}
    return found or {0: ""}


# open(2) flag bits by name, from this host's own os module (x86-64 values
# differ from arm64's for a few, e.g. O_DIRECTORY).
_OPEN_BITS = ("O_SYNC", "O_TMPFILE", "O_CREAT", "O_EXCL", "O_NOCTTY", "O_TRUNC",
              "O_APPEND", "O_NONBLOCK", "O_DSYNC", "O_DIRECT", "O_LARGEFILE",
              "O_DIRECTORY", "O_NOFOLLOW", "O_NOATIME", "O_CLOEXEC", "O_PATH")


def open_flags(flags):
    """open(2) flags -> O_WRONLY|O_CREAT|O_TRUNC (unknown bits as hex)."""
    access = {0: "O_RDONLY", 1: "O_WRONLY", 2: "O_RDWR"}.get(flags & 3, "O_ACCMODE")
    names, rest = [access], flags & ~3
    for name in _OPEN_BITS:
        bit = getattr(os, name, 0)
        # O_SYNC and O_TMPFILE include another flag's bit: matched first, whole.
        if bit and rest & bit == bit:
            names.append(name)
            rest &= ~bit
    if rest:
        names.append("0x%x" % rest)
    return "|".join(names)
