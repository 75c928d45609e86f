/*
 * fleet.h: C shared by fleet's jobs. A job writes `#include <fleet.h>`; the
 * agent ships this file in its bundle and puts it on the include path of every
 * BCC compile on the host (agent/include.py).
 *
 * Rules as for any job: no kernel headers, no struct reads through headers.
 * Struct walks use the FLEET_OFF_* offsets the agent reads from the host's BTF
 * (a job lists the member paths under `btf:` in its job.yaml). The walks are
 * macros, so that the offsets are those of the job that uses them, also when
 * several jobs share one compiled module (agent/onepass.py).
 */
#ifndef FLEET_H
#define FLEET_H

/* Address families and protocols (include/linux/socket.h, uapi/linux/in.h). */
#define FLEET_AF_INET 2
#define FLEET_AF_INET6 10
#define FLEET_IPPROTO_TCP 6
#define FLEET_ETH_P_IP 0x0800
#define FLEET_ETH_P_IPV6 0x86DD

/* TCP states (include/net/tcp_states.h), as sock:inet_sock_set_state has them. */
#define FLEET_TCP_ESTABLISHED 1
#define FLEET_TCP_SYN_SENT 2
#define FLEET_TCP_SYN_RECV 3
#define FLEET_TCP_FIN_WAIT1 4
#define FLEET_TCP_FIN_WAIT2 5
#define FLEET_TCP_TIME_WAIT 6
#define FLEET_TCP_CLOSE 7
#define FLEET_TCP_CLOSE_WAIT 8
#define FLEET_TCP_LAST_ACK 9
#define FLEET_TCP_LISTEN 10
#define FLEET_TCP_CLOSING 11
#define FLEET_TCP_NEW_SYN_RECV 12

/*
 * Copy a tracepoint's source and destination addresses, of either family, into
 * 16-byte fields: IPv4 as IPv4-mapped IPv6 (::ffff:a.b.c.d), which the agent's
 * `ip` decoder prints as plain IPv4. Returns the IP version, 0 for another
 * family (nothing copied).
 */
static __always_inline int fleet_copy_addrs(u8 *saddr, u8 *daddr, u16 family,
                                            const void *s4, const void *d4,
                                            const void *s6, const void *d6)
{
    if (family == FLEET_AF_INET) {
        saddr[10] = saddr[11] = 0xff;
        daddr[10] = daddr[11] = 0xff;
        bpf_probe_read_kernel(&saddr[12], 4, s4);
        bpf_probe_read_kernel(&daddr[12], 4, d4);
        return 4;
    }
    if (family == FLEET_AF_INET6) {
        bpf_probe_read_kernel(saddr, 16, s6);
        bpf_probe_read_kernel(daddr, 16, d6);
        return 6;
    }
    return 0;
}

/* A TCP state's name into out (16 bytes), as bcc's tools print them. */
static __always_inline void fleet_tcp_state_name(int state, char *out)
{
    switch (state) {
    case 1:  __builtin_memcpy(out, "ESTABLISHED", 12); break;
    case 2:  __builtin_memcpy(out, "SYN_SENT", 9); break;
    case 3:  __builtin_memcpy(out, "SYN_RECV", 9); break;
    case 4:  __builtin_memcpy(out, "FIN_WAIT1", 10); break;
    case 5:  __builtin_memcpy(out, "FIN_WAIT2", 10); break;
    case 6:  __builtin_memcpy(out, "TIME_WAIT", 10); break;
    case 7:  __builtin_memcpy(out, "CLOSE", 6); break;
    case 8:  __builtin_memcpy(out, "CLOSE_WAIT", 11); break;
    case 9:  __builtin_memcpy(out, "LAST_ACK", 9); break;
    case 10: __builtin_memcpy(out, "LISTEN", 7); break;
    case 11: __builtin_memcpy(out, "CLOSING", 8); break;
    case 12: __builtin_memcpy(out, "NEW_SYN_RECV", 13); break;
    default: __builtin_memcpy(out, "UNKNOWN", 8); break;
    }
}

/*
 * The comm filter: is a 16-byte comm equal to `want`, a job's
 * `static const char want[] = {{ comm | c_chars }};` (NUL included)?
 * Unrolled over the constant size, so the bytes compare as immediates.
 */
#define fleet_comm_is(comm, want) fleet_bytes_equal((comm), (want), sizeof(want))
#define fleet_current_comm_is(want) ({                          \
        char fleet_comm_[16] = {};                              \
        bpf_get_current_comm(&fleet_comm_, sizeof(fleet_comm_)); \
        fleet_comm_is(fleet_comm_, want); })

static __always_inline int fleet_bytes_equal(const char *a, const char *b, u32 n)
{
#pragma unroll
    for (u32 i = 0; i < 16; i++) {
        if (i >= n)
            break;
        if (a[i] != b[i])
            return 0;
    }
    return 1;
}

/* Does the 16-byte comm contain `want` (NUL included, as above)? bcc's -n. */
#define fleet_comm_has(comm, want) fleet_bytes_within((comm), (want), sizeof(want) - 1)

static __always_inline int fleet_bytes_within(const char *hay, const char *needle,
                                              u32 n)
{
#pragma unroll
    for (u32 start = 0; start < 16; start++) {
        if (start + n > 15)
            break;
        int hit = 1;
#pragma unroll
        for (u32 j = 0; j < 15; j++) {
            if (j >= n)
                break;
            if (hay[start + j] != needle[j]) {
                hit = 0;
                break;
            }
        }
        if (hit)
            return 1;
    }
    return 0;
}

/*
 * The struct file * behind descriptor fd of the current task, or NULL:
 * task->files->fdt->fd[fd]. Needs, under `btf:`, task_struct.files,
 * files_struct.fdt, fdtable.max_fds and fdtable.fd; guard uses with
 * `#ifdef FLEET_BTF` (a host without BTF compiles the job without them).
 */
#define fleet_fd_file(fd) fleet_fd_file_at((fd), FLEET_OFF_task_struct__files,    \
                                           FLEET_OFF_files_struct__fdt,          \
                                           FLEET_OFF_fdtable__max_fds,           \
                                           FLEET_OFF_fdtable__fd)

static __always_inline void *fleet_fd_file_at(long fd, u32 off_files, u32 off_fdt,
                                              u32 off_max_fds, u32 off_fd)
{
    char *task = (char *)bpf_get_current_task();
    char *files = NULL, *fdt = NULL, *fds = NULL;
    void *file = NULL;
    u32 max_fds = 0;

    if (fd < 0)
        return NULL;
    bpf_probe_read_kernel(&files, sizeof(files), task + off_files);
    if (!files)
        return NULL;
    bpf_probe_read_kernel(&fdt, sizeof(fdt), files + off_fdt);
    if (!fdt)
        return NULL;
    bpf_probe_read_kernel(&max_fds, sizeof(max_fds), fdt + off_max_fds);
    if ((u64)fd >= max_fds)
        return NULL;
    bpf_probe_read_kernel(&fds, sizeof(fds), fdt + off_fd);
    if (!fds)
        return NULL;
    bpf_probe_read_kernel(&file, sizeof(file), fds + (u64)fd * sizeof(void *));
    return file;
}

/*
 * The tgid of the current task's parent (real_parent), 0 if unknown. Needs
 * task_struct.real_parent and task_struct.tgid under `btf:`.
 */
#define fleet_parent_tgid() fleet_parent_tgid_at(FLEET_OFF_task_struct__real_parent, \
                                                 FLEET_OFF_task_struct__tgid)

static __always_inline u32 fleet_parent_tgid_at(u32 off_parent, u32 off_tgid)
{
    char *task = (char *)bpf_get_current_task();
    char *parent = NULL;
    u32 ppid = 0;

    bpf_probe_read_kernel(&parent, sizeof(parent), task + off_parent);
    if (parent)
        bpf_probe_read_kernel(&ppid, sizeof(ppid), parent + off_tgid);
    return ppid;
}

#endif /* FLEET_H */
