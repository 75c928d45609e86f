/*
 * BCC tutorial, sync_count: count the calls to sync(2) and print the running
 * count with each one.
 *
 * The count lives in a BPF_HASH under key 0, one counter per host (each
 * host's agent loads its own copy of the program). The playbook also reports
 * the map as a table: that makes the agent zero it when the window opens, so
 * the count starts at 1 with the window's first sync, and the final count of
 * every host appears beside the trace lines. The increment is atomic and its
 * result is the number printed, so two syncs on two CPUs never print the same
 * count.
 *
 * Adapted for kernels without kprobes: the tutorial used a kprobe on the sync
 * syscall; this hooks the syscalls:sys_enter_sync tracepoint, with a kprobe on
 * ksys_sync() as the declared fallback (FLEET_USE_kprobe__ksys_sync).
 */

BPF_HASH(syncs, u32, u64);

static inline int on_sync(void)
{
    u32 key = 0;
    u64 zero = 0;
    u64 *count;

    syncs.insert(&key, &zero);          /* no-op when the key exists */
    count = syncs.lookup(&key);
    if (!count)
        return 0;
    u64 now = __sync_fetch_and_add(count, 1) + 1;
    bpf_trace_printk("sync number %llu\n", now);
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
