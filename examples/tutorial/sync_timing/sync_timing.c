/*
 * BCC tutorial, sync_timing: when sync(2) is called twice within a second,
 * print how long ago the previous call was, in milliseconds.
 *
 * The time of the last sync() lives in a BPF_HASH under key 0. Every host's
 * agent loads its own copy of the program, so each host keeps its own "last
 * sync" even when hosts share one kernel. The first call after a quiet second
 * prints nothing; it only starts the clock.
 *
 * Adapted for kernels without kprobes: the tutorial used a kprobe on the sync
 * syscall; this hooks the syscalls:sys_enter_sync tracepoint, with a kprobe on
 * ksys_sync() as the declared fallback (FLEET_USE_kprobe__ksys_sync).
 */

#define ONE_SECOND_NS 1000000000ULL

BPF_HASH(last, u32, u64);

static inline int on_sync(void)
{
    u32 key = 0;
    u64 now = bpf_ktime_get_ns();
    u64 *then = last.lookup(&key);

    if (then) {
        u64 delta = now - *then;
        if (delta < ONE_SECOND_NS)
            bpf_trace_printk("sync %llu ms after the previous one\n", delta / 1000000);
        last.delete(&key);
    }
    last.update(&key, &now);
    return 0;
}

#ifdef FLEET_USE_kprobe__ksys_sync
int sync_kprobe(void *ctx)
{
    return on_sync();
}
#else
TRACEPOINT_PROBE(syscalls, sys_enter_sync)
{
    return on_sync();
}
#endif
