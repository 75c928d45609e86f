"""How often the kernel skipped a loaded BPF program: ``recursion_misses``.

A kprobe, tracepoint or perf-event program does not run when it fires while
another such program is already running on the same CPU (an interrupt during
a probe, or a probe inside a BPF helper). The kernel counts each skip in the
program's ``bpf_prog_info.recursion_misses`` (Linux 5.12+), whatever
``kernel.bpf_stats_enabled`` says. Every skipped run is an event or a count
the job never saw, so the agent reports them. Stdlib only (ctypes).
"""

import ctypes
import platform
import struct

# bpf(2) command and the offsets of struct bpf_prog_info (UAPI, stable).
BPF_OBJ_GET_INFO_BY_FD = 15
INFO_SIZE = 256
RECURSION_MISSES_OFFSET = 208
_SYS_BPF = {"x86_64": 321, "aarch64": 280, "ppc64le": 361, "s390x": 351}

_libc = None


def _syscall():
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
    return _libc.syscall


def recursion_misses(fd):
    """The program's skipped-run count, or None where the kernel cannot say."""
    number = _SYS_BPF.get(platform.machine())
    if number is None:
        return None
    info = ctypes.create_string_buffer(INFO_SIZE)
    # union bpf_attr.info: u32 bpf_fd, u32 info_len, u64 info (the rest zero)
    attr = ctypes.create_string_buffer(
        struct.pack("=IIQ", fd, INFO_SIZE, ctypes.addressof(info)), 128
    )
    if _syscall()(number, BPF_OBJ_GET_INFO_BY_FD, attr, 128) != 0:
        return None
    info_len = struct.unpack_from("=I", attr.raw, 4)[0]
    if info_len < RECURSION_MISSES_OFFSET + 8:
        return None  # a kernel before 5.12 does not count them
    return struct.unpack_from("=Q", info.raw, RECURSION_MISSES_OFFSET)[0]


def total_misses(fds):
    """Sum of recursion_misses over program fds (those the kernel reports)."""
    counts = [recursion_misses(fd) for fd in fds]
    return sum(c for c in counts if c is not None)
