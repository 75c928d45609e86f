/*
 * urandomread: bytes returned to each process by read() on /dev/urandom and
 * by getrandom(). Whether a read's fd is /dev/urandom is decided in the
 * kernel by walking current->files->fdt->fd[fd]->f_inode with member offsets
 * from the host's BTF (no kernel headers): a character device 1:9. Without
 * BTF only getrandom() is counted.
 */

#define URANDOM_RDEV ((1 << 20) | 9)    /* i_rdev encoding: major << 20 | minor */
#define S_IFMT_BITS 0170000
#define S_IFCHR_BITS 0020000

#include <fleet.h>

struct key {
    char comm[16];
    u32 pid;
};

BPF_HASH(bytes, struct key, u64, 10240);
BPF_HASH(inflight, u64, u8, 10240);     /* by pid_tgid: a call we count */

static __always_inline int is_urandom(u32 fd)
{
#ifdef FLEET_BTF
    char *file = fleet_fd_file(fd), *inode = NULL;
    u32 rdev = 0;
    u16 mode = 0;
    if (!file)
        return 0;
    bpf_probe_read_kernel(&inode, sizeof(inode), file + FLEET_OFF_file__f_inode);
    if (!inode)
        return 0;
    bpf_probe_read_kernel(&mode, sizeof(mode), inode + FLEET_OFF_inode__i_mode);
    bpf_probe_read_kernel(&rdev, sizeof(rdev), inode + FLEET_OFF_inode__i_rdev);
    return (mode & S_IFMT_BITS) == S_IFCHR_BITS && rdev == URANDOM_RDEV;
#else
    return 0;
#endif
}

static __always_inline void mark(void)
{
    u64 id = bpf_get_current_pid_tgid();
    u8 one = 1;
    inflight.update(&id, &one);
}

static __always_inline void count(long ret)
{
    u64 id = bpf_get_current_pid_tgid();
    if (!inflight.lookup(&id))
        return;
    inflight.delete(&id);
    if (ret <= 0)
        return;
    struct key k = {.pid = id >> 32};
    bpf_get_current_comm(&k.comm, sizeof(k.comm));
    u64 zero = 0;
    u64 *total = bytes.lookup_or_try_init(&k, &zero);
    if (total)
        __sync_fetch_and_add(total, ret);
}

TRACEPOINT_PROBE(syscalls, sys_enter_read)
{
    if (is_urandom(args->fd))
        mark();
    return 0;
}

TRACEPOINT_PROBE(syscalls, sys_exit_read)
{
    count(args->ret);
    return 0;
}

#ifdef FLEET_USE_tracepoint__syscalls__sys_enter_getrandom
TRACEPOINT_PROBE(syscalls, sys_enter_getrandom)
{
    mark();
    return 0;
}
#endif

#ifdef FLEET_USE_tracepoint__syscalls__sys_exit_getrandom
TRACEPOINT_PROBE(syscalls, sys_exit_getrandom)
{
    count(args->ret);
    return 0;
}
#endif
