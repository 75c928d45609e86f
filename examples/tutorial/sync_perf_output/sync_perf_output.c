/*
 * BCC tutorial lesson "sync_perf_output": the sync_timing lesson redone with
 * perf output. At each sync() the program looks up when the previous sync()
 * happened, and when the two are less than {{ max_gap_ms }} ms apart it sends
 * a record with the gap to user space through a perf buffer (instead of a
 * bpf_trace_printk line). The time of this sync() is then kept for the next.
 *
 * How it was adapted for fleet:
 *  - The original put a kprobe on the sync syscall's kernel function. This
 *    kernel has no kprobes, so the preferred point is the syscall tracepoint
 *    syscalls:sys_enter_sync; the kprobe on __x64_sys_sync stays as the
 *    declared fallback (compiled only when the agent chose it).
 *  - The original kept one "last sync" time for the whole machine. With
 *    per_process (the default) the time is kept per process (tgid) and each
 *    record names the process, so the syncs of one program are timed against
 *    each other and a sync elsewhere on the host cannot split a gap in two.
 *    per_process=false gives the original's single, host-wide clock.
 *  - The gap is in microseconds; the maximum is the param max_gap_ms.
 */

struct sync_gap {
    u64 ts;         /* this sync, bpf_ktime_get_ns() */
    u64 gap_us;     /* since the previous sync */
    u32 pid;
    char comm[16];
};

BPF_HASH(last_sync, u32, u64, 10240);
BPF_PERF_OUTPUT(events);

static __always_inline int on_sync(void *ctx)
{
    u32 pid = bpf_get_current_pid_tgid() >> 32;
{% if per_process %}
    u32 key = pid;
{% else %}
    u32 key = 0;
{% endif %}
    u64 now = bpf_ktime_get_ns();
    u64 *prev = last_sync.lookup(&key);
    if (prev != 0 && now - *prev < {{ max_gap_ms * 1000000 }}ULL) {
        struct sync_gap ev = {.ts = now, .gap_us = (now - *prev) / 1000, .pid = pid};
        bpf_get_current_comm(&ev.comm, sizeof(ev.comm));
        events.perf_submit(ctx, &ev, sizeof(ev));
    }
    last_sync.update(&key, &now);
    return 0;
}

#ifdef FLEET_USE_tracepoint__syscalls__sys_enter_sync
TRACEPOINT_PROBE(syscalls, sys_enter_sync)
{
    return on_sync(args);
}
#endif

#ifdef FLEET_USE_kprobe____x64_sys_sync
/* Fallback: the syscall's entry function; sync() has no arguments. */
int on_sync_kprobe(void *ctx)
{
    return on_sync(ctx);
}
#endif
