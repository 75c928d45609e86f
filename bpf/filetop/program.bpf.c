/*
 * filetop: reads and writes summed per (process, file) and read and cleared
 * by the agent every interval. Syscall tracepoints give the fd and the bytes
 * moved; the fd is walked to its file's name and type with offsets from the
 * host's BTF. Without BTF nothing is counted (no file to name). Names are
 * the last path component, as bcc's filetop shows them.
 */
#include <fleet.h>

#define S_IFMT_BITS 0170000
#define S_IFREG_BITS 0100000
#define S_IFSOCK_BITS 0140000

struct call {
    s32 fd;
    u32 write;
};

struct key {
    u32 pid;
    char type[2];      /* R regular, S socket, O other */
    char comm[16];
    char file[32];
};

struct totals_value {
    u64 bytes;         /* first: the rows are ordered by it */
    u64 reads;
    u64 writes;
    u64 rbytes;
    u64 wbytes;
};

BPF_HASH(calls, u64, struct call, 10240);
BPF_HASH(totals, struct key, struct totals_value, 10240);

static __always_inline int enter(s32 fd, u32 write)
{
    u64 id = bpf_get_current_pid_tgid();
{% if pid is not none %}
    if ((id >> 32) != {{ pid }})
        return 0;
{% endif %}
    struct call c = {.fd = fd, .write = write};
    calls.update(&id, &c);
    return 0;
}

static __always_inline int leave(long ret)
{
    u64 id = bpf_get_current_pid_tgid();
    struct call *c = calls.lookup(&id);
    if (!c)
        return 0;
    struct call call = *c;
    calls.delete(&id);
    if (ret < 0)
        return 0;
#ifdef FLEET_BTF
    char *file = fleet_fd_file(call.fd), *inode = NULL, *dentry = NULL, *name = NULL;
    u16 mode = 0;
    if (!file)
        return 0;
    bpf_probe_read_kernel(&inode, sizeof(inode), file + FLEET_OFF_file__f_inode);
    if (inode)
        bpf_probe_read_kernel(&mode, sizeof(mode), inode + FLEET_OFF_inode__i_mode);
    struct key key = {.pid = id >> 32};
    u32 fmt = mode & S_IFMT_BITS;
    key.type[0] = fmt == S_IFREG_BITS ? 'R' : fmt == S_IFSOCK_BITS ? 'S' : 'O';
{% if not all_files %}
    if (key.type[0] != 'R')
        return 0;
{% endif %}
    bpf_probe_read_kernel(&dentry, sizeof(dentry), file + FLEET_OFF_file__f_path__dentry);
    if (dentry)
        bpf_probe_read_kernel(&name, sizeof(name), dentry + FLEET_OFF_dentry__d_name__name);
    if (name)
        bpf_probe_read_kernel_str(&key.file, sizeof(key.file), name);
    bpf_get_current_comm(&key.comm, sizeof(key.comm));
    struct totals_value zero = {};
    struct totals_value *v = totals.lookup_or_try_init(&key, &zero);
    if (!v)
        return 0;
    __sync_fetch_and_add(&v->bytes, ret);
    if (call.write) {
        __sync_fetch_and_add(&v->writes, 1);
        __sync_fetch_and_add(&v->wbytes, ret);
    } else {
        __sync_fetch_and_add(&v->reads, 1);
        __sync_fetch_and_add(&v->rbytes, ret);
    }
#endif
    return 0;
}

TRACEPOINT_PROBE(syscalls, sys_enter_read) { return enter(args->fd, 0); }
TRACEPOINT_PROBE(syscalls, sys_exit_read) { return leave(args->ret); }
TRACEPOINT_PROBE(syscalls, sys_enter_write) { return enter(args->fd, 1); }
TRACEPOINT_PROBE(syscalls, sys_exit_write) { return leave(args->ret); }
TRACEPOINT_PROBE(syscalls, sys_enter_pread64) { return enter(args->fd, 0); }
TRACEPOINT_PROBE(syscalls, sys_exit_pread64) { return leave(args->ret); }
TRACEPOINT_PROBE(syscalls, sys_enter_pwrite64) { return enter(args->fd, 1); }
TRACEPOINT_PROBE(syscalls, sys_exit_pwrite64) { return leave(args->ret); }
