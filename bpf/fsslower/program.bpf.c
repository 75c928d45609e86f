/*
 * fsslower: file reads/writes/syncs slower than a threshold, on one filesystem
 * type. Syscall tracepoints time each call; the fd is resolved to its struct
 * file with member offsets from the host's BTF (FLEET_OFF_*), which also gives
 * the filesystem's magic number and the file's name. Without BTF the job still
 * times calls, but cannot filter by filesystem nor name the file.
 */

#define OP_READ 1
#define OP_WRITE 2
#define OP_PREAD 3
#define OP_PWRITE 4
#define OP_FSYNC 5
#define OP_FDATASYNC 6

struct call {
    u64 ts;
    u64 offset;
    s32 fd;
    u32 op;
};

struct event {
    u64 ts;
    u64 lat_us;
    u64 bytes;
    u64 offset;
    u32 pid;
    char comm[16];
    char op[12];
    char file[64];
};

#include <fleet.h>

BPF_HASH(calls, u64, struct call, 10240);
BPF_PERF_OUTPUT(events);

{% set magics = {"ext4": "0xEF53", "xfs": "0x58465342", "btrfs": "0x9123683E",
                 "tmpfs": "0x01021994", "nfs": "0x6969", "f2fs": "0xF2F52010",
                 "zfs": "0x2FC12FC1"} %}

static __always_inline void *fd_file(s32 fd)
{
#ifdef FLEET_BTF
    return fleet_fd_file(fd);
#else
    return NULL;
#endif
}

/* Is this file on the wanted filesystem type? (Always yes without BTF.) */
static __always_inline int wanted_fs(void *file)
{
{% if fstype != "any" %}
#ifdef FLEET_BTF
    void *inode = NULL, *sb = NULL;
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

static __always_inline void file_name(void *file, char *name, int size)
{
#ifdef FLEET_BTF
    void *dentry = NULL, *text = NULL;
    if (!file)
        return;
    bpf_probe_read_kernel(&dentry, sizeof(dentry), file + FLEET_OFF_file__f_path__dentry);
    if (!dentry)
        return;
    bpf_probe_read_kernel(&text, sizeof(text), dentry + FLEET_OFF_dentry__d_name__name);
    if (text)
        bpf_probe_read_kernel_str(name, size, text);
#endif
}

static __always_inline int enter(s32 fd, u64 offset, u32 op)
{
    u64 id = bpf_get_current_pid_tgid();
{% if pid is not none %}
    if ((id >> 32) != {{ pid }})
        return 0;
{% endif %}
    struct call c = {.ts = bpf_ktime_get_ns(), .offset = offset, .fd = fd, .op = op};
    calls.update(&id, &c);
    return 0;
}

static __always_inline int leave(void *ctx, s64 ret)
{
    u64 id = bpf_get_current_pid_tgid();
    struct call *c = calls.lookup(&id);
    if (!c)
        return 0;
    u64 now = bpf_ktime_get_ns();
    u64 lat_us = (now - c->ts) / 1000;
    s32 fd = c->fd;
    u32 op = c->op;
    u64 offset = c->offset;
    calls.delete(&id);
{% if min_latency_ms %}
    if (lat_us < {{ min_latency_ms * 1000 }}ULL)
        return 0;
{% endif %}
    void *file = fd_file(fd);
    if (!wanted_fs(file))
        return 0;
    struct event ev = {.ts = now, .lat_us = lat_us, .pid = id >> 32, .offset = offset};
    ev.bytes = ret > 0 ? ret : 0;
    bpf_get_current_comm(&ev.comm, sizeof(ev.comm));
    switch (op) {
    case OP_READ: __builtin_memcpy(ev.op, "read", 5); break;
    case OP_WRITE: __builtin_memcpy(ev.op, "write", 6); break;
    case OP_PREAD: __builtin_memcpy(ev.op, "pread", 6); break;
    case OP_PWRITE: __builtin_memcpy(ev.op, "pwrite", 7); break;
    case OP_FSYNC: __builtin_memcpy(ev.op, "fsync", 6); break;
    default: __builtin_memcpy(ev.op, "fdatasync", 10); break;
    }
    file_name(file, ev.file, sizeof(ev.file));
    events.perf_submit(ctx, &ev, sizeof(ev));
    return 0;
}

TRACEPOINT_PROBE(syscalls, sys_enter_read) { return enter(args->fd, 0, OP_READ); }
TRACEPOINT_PROBE(syscalls, sys_exit_read) { return leave(args, args->ret); }
TRACEPOINT_PROBE(syscalls, sys_enter_write) { return enter(args->fd, 0, OP_WRITE); }
TRACEPOINT_PROBE(syscalls, sys_exit_write) { return leave(args, args->ret); }
TRACEPOINT_PROBE(syscalls, sys_enter_pread64) { return enter(args->fd, args->pos, OP_PREAD); }
TRACEPOINT_PROBE(syscalls, sys_exit_pread64) { return leave(args, args->ret); }
TRACEPOINT_PROBE(syscalls, sys_enter_pwrite64) { return enter(args->fd, args->pos, OP_PWRITE); }
TRACEPOINT_PROBE(syscalls, sys_exit_pwrite64) { return leave(args, args->ret); }
TRACEPOINT_PROBE(syscalls, sys_enter_fsync) { return enter(args->fd, 0, OP_FSYNC); }
TRACEPOINT_PROBE(syscalls, sys_exit_fsync) { return leave(args, args->ret); }
TRACEPOINT_PROBE(syscalls, sys_enter_fdatasync) { return enter(args->fd, 0, OP_FDATASYNC); }
TRACEPOINT_PROBE(syscalls, sys_exit_fdatasync) { return leave(args, args->ret); }
