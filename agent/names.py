"""Names for numbers jobs report: kernel and user symbols, syscalls, signals,
capabilities, softirqs. The agent's field decoders (``decode:`` in job.yaml)."""

import signal

from agent.decode import as_str

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
