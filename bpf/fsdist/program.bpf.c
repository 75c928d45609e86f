/*
 * fsdist: latency of file reads, writes, opens and syncs as one log2
 * histogram per operation, on one filesystem type. Syscall tracepoints time
 * each call; the fd (for an open, the one it returns) is walked to its
 * filesystem's magic number with offsets from the host's BTF. Without BTF
 * every filesystem is counted. pread/pwrite count as read/write, fdatasync
 * as fsync, like bcc's ext4dist.
 */
#include <fleet.h>

enum op { OP_READ, OP_WRITE, OP_OPEN, OP_FSYNC };

struct call {
    u64 ts;
    s32 fd;
    u32 op;
};

struct op_slot {
    char op[8];
    u64 slot;
};

BPF_HASH(calls, u64, struct call, 10240);
BPF_HISTOGRAM(dist, struct op_slot, 1024);

{% set magics = {"ext4": "0xEF53", "xfs": "0x58465342", "btrfs": "0x9123683E",
                 "tmpfs": "0x01021994", "nfs": "0x6969", "f2fs": "0xF2F52010",
                 "zfs": "0x2FC12FC1"} %}

static __always_inline int wanted_fs(s32 fd)
{
{% if fstype != "any" %}
#ifdef FLEET_BTF
    char *file = fleet_fd_file(fd), *inode = NULL, *sb = NULL;
    unsigned long magic = 0;
    if (!file)
        return 0;
    bpf_probe_read_kernel(&inode, sizeof(inode), file + FLEET_OFF_file__f_inode);
    if (!inode)
        return 0;
    bpf_probe_read_kernel(&sb, sizeof(sb), inode + FLEET_OFF_inode__i_sb);
    if (!sb)
        return 0;
    bpf_probe_read_kernel(&magic, sizeof(magic), sb + FLEET_OFF_super_block__s_magic);
    return magic == {{ magics[fstype] }};
#endif
{% endif %}
    return 1;
}

static __always_inline int enter(s32 fd, u32 op)
{
    u64 id = bpf_get_current_pid_tgid();
{% if pid is not none %}
    if ((id >> 32) != {{ pid }})
        return 0;
{% endif %}
    struct call c = {.ts = bpf_ktime_get_ns(), .fd = fd, .op = op};
    calls.update(&id, &c);
    return 0;
}

static __always_inline int leave(long ret)
{
    u64 id = bpf_get_current_pid_tgid();
    struct call *c = calls.lookup(&id);
    if (!c)
        return 0;
    u64 delta = (bpf_ktime_get_ns() - c->ts) / {{ 1000000 if milliseconds else 1000 }};
    u32 op = c->op;
    s32 fd = op == OP_OPEN ? (s32)ret : c->fd;
    calls.delete(&id);
    if (ret < 0 || !wanted_fs(fd))
        return 0;
    struct op_slot key = {.slot = bpf_log2l(delta)};
    switch (op) {
    case OP_READ: __builtin_memcpy(key.op, "read", 5); break;
    case OP_WRITE: __builtin_memcpy(key.op, "write", 6); break;
    case OP_OPEN: __builtin_memcpy(key.op, "open", 5); break;
    default: __builtin_memcpy(key.op, "fsync", 6); break;
    }
    dist.increment(key);
    return 0;
}

TRACEPOINT_PROBE(syscalls, sys_enter_read) { return enter(args->fd, OP_READ); }
TRACEPOINT_PROBE(syscalls, sys_exit_read) { return leave(args->ret); }
TRACEPOINT_PROBE(syscalls, sys_enter_write) { return enter(args->fd, OP_WRITE); }
TRACEPOINT_PROBE(syscalls, sys_exit_write) { return leave(args->ret); }
TRACEPOINT_PROBE(syscalls, sys_enter_pread64) { return enter(args->fd, OP_READ); }
TRACEPOINT_PROBE(syscalls, sys_exit_pread64) { return leave(args->ret); }
TRACEPOINT_PROBE(syscalls, sys_enter_pwrite64) { return enter(args->fd, OP_WRITE); }
TRACEPOINT_PROBE(syscalls, sys_exit_pwrite64) { return leave(args->ret); }
TRACEPOINT_PROBE(syscalls, sys_enter_openat) { return enter(-1, OP_OPEN); }
TRACEPOINT_PROBE(syscalls, sys_exit_openat) { return leave(args->ret); }
TRACEPOINT_PROBE(syscalls, sys_enter_fsync) { return enter(args->fd, OP_FSYNC); }
TRACEPOINT_PROBE(syscalls, sys_exit_fsync) { return leave(args->ret); }
TRACEPOINT_PROBE(syscalls, sys_enter_fdatasync) { return enter(args->fd, OP_FSYNC); }
TRACEPOINT_PROBE(syscalls, sys_exit_fdatasync) { return leave(args->ret); }
