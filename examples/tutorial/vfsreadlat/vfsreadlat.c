/*
 * Lesson: vfsreadlat -- how long read() takes, as a log2 histogram in usecs.
 *
 * What it shows: timing a call by pairing its entry with its return. The
 * entry stamps bpf_ktime_get_ns() into a hash keyed by the thread
 * (pid_tgid); the return looks the stamp up, deletes it and adds the
 * elapsed microseconds to a BPF_HISTOGRAM with bpf_log2l(). The fleet merges
 * the hosts' histograms slot by slot.
 *
 * Adapted for a kernel without kprobes: the tutorial times the kernel
 * function vfs_read() with a kprobe/kretprobe pair. Here the preferred
 * points are the read(2) syscall tracepoints (syscalls:sys_enter_read /
 * sys_exit_read); the vfs_read kprobe/kretprobe pair is kept as a declared
 * fallback (first_of in the playbook) and compiled only when the agent picks
 * it. The syscall version also counts time spent before and after the VFS
 * layer (fd lookup, copying the result), and sees read(2) only, not pread64
 * or readv; the kprobe version sees every vfs_read() caller.
 *
 * Added: a typed `comm` param. The playbook's default limits the lesson to
 * one command name, so the histogram of a known workload can be checked;
 * set it to null to time every process's reads.
 */

BPF_HASH(started, u64, u64, 10240);   /* pid_tgid -> entry time, ns */
BPF_HISTOGRAM(dist);                  /* log2 slot -> number of reads */

{% if comm %}
/* the command name to keep, NUL included ({{ comm | c_len }} bytes + 1) */
static const char only_comm[] = {{ comm | c_chars }};
{% endif %}

static __always_inline int read_begins(void)
{
{% if comm %}
    char now[16] = {};
    bpf_get_current_comm(&now, sizeof(now));
    #pragma unroll
    for (int i = 0; i < sizeof(only_comm); i++) {
        if (now[i] != only_comm[i])
            return 0;
    }
{% endif %}
    u64 tid = bpf_get_current_pid_tgid();
    u64 when = bpf_ktime_get_ns();
    started.update(&tid, &when);
    return 0;
}

static __always_inline int read_ends(void)
{
    u64 tid = bpf_get_current_pid_tgid();
    u64 *when = started.lookup(&tid);
    if (when == 0)
        return 0;               /* entered before we attached, or filtered out */
    u64 usecs = (bpf_ktime_get_ns() - *when) / 1000;
    started.delete(&tid);
    dist.increment(bpf_log2l(usecs));
    return 0;
}

#ifdef FLEET_USE_tracepoint__syscalls__sys_enter_read
TRACEPOINT_PROBE(syscalls, sys_enter_read) { return read_begins(); }
#endif
#ifdef FLEET_USE_tracepoint__syscalls__sys_exit_read
TRACEPOINT_PROBE(syscalls, sys_exit_read) { return read_ends(); }
#endif

/* Fallback for kernels without syscall tracepoints (and with kprobes). */
#ifdef FLEET_USE_kprobe__vfs_read
int on_vfs_read(void *ctx) { return read_begins(); }
#endif
#ifdef FLEET_USE_kretprobe__vfs_read
int on_vfs_read_return(void *ctx) { return read_ends(); }
#endif
