/*
 * vfsreadlat: time from entering read(), pread64() or readv() to returning,
 * as a log2 histogram in usecs. Filters run when the call enters; the start
 * time is kept per thread. Where syscall tracepoints are missing, the agent
 * falls back to a kprobe/kretprobe pair on vfs_read (needs no struct reads).
 */

BPF_HASH(start, u64, u64, 10240);   /* by pid_tgid */
BPF_HISTOGRAM(dist);

{% if comm %}
static const char wanted_comm[] = {{ comm | c_chars }};
{% endif %}

static __always_inline int on_enter(void)
{
    u64 id = bpf_get_current_pid_tgid();
{% if pid is not none %}
    if ((id >> 32) != {{ pid }})
        return 0;
{% endif %}
{% if comm %}
    char comm[16] = {};
    bpf_get_current_comm(&comm, sizeof(comm));
    #pragma unroll
    for (int i = 0; i < sizeof(wanted_comm); i++) {
        if (comm[i] != wanted_comm[i])
            return 0;
    }
{% endif %}
    u64 ts = bpf_ktime_get_ns();
    start.update(&id, &ts);
    return 0;
}

static __always_inline int on_exit(void)
{
    u64 id = bpf_get_current_pid_tgid();
    u64 *tsp = start.lookup(&id);
    if (!tsp)
        return 0;
    u64 delta_us = (bpf_ktime_get_ns() - *tsp) / 1000;
    start.delete(&id);
    dist.increment(bpf_log2l(delta_us));
    return 0;
}

#ifdef FLEET_USE_tracepoint__syscalls__sys_enter_read
TRACEPOINT_PROBE(syscalls, sys_enter_read) { return on_enter(); }
#endif
#ifdef FLEET_USE_tracepoint__syscalls__sys_exit_read
TRACEPOINT_PROBE(syscalls, sys_exit_read) { return on_exit(); }
#endif
#ifdef FLEET_USE_tracepoint__syscalls__sys_enter_pread64
TRACEPOINT_PROBE(syscalls, sys_enter_pread64) { return on_enter(); }
#endif
#ifdef FLEET_USE_tracepoint__syscalls__sys_exit_pread64
TRACEPOINT_PROBE(syscalls, sys_exit_pread64) { return on_exit(); }
#endif
#ifdef FLEET_USE_tracepoint__syscalls__sys_enter_readv
TRACEPOINT_PROBE(syscalls, sys_enter_readv) { return on_enter(); }
#endif
#ifdef FLEET_USE_tracepoint__syscalls__sys_exit_readv
TRACEPOINT_PROBE(syscalls, sys_exit_readv) { return on_exit(); }
#endif

/* Fallback without syscall tracepoints: the VFS read path (read, pread64). */
#ifdef FLEET_USE_kprobe__vfs_read
int vfs_read_entry(void *ctx) { return on_enter(); }
#endif
#ifdef FLEET_USE_kretprobe__vfs_read
int vfs_read_return(void *ctx) { return on_exit(); }
#endif
