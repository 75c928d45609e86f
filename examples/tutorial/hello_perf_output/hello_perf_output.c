/*
 * BCC tutorial lesson "hello_perf_output": the hello-world of perf output.
 * Each time a process calls clone(), the program fills a small struct
 * (process id, time, command name) and pushes it to user space through a
 * perf ring buffer, instead of printing a line into the kernel's one shared
 * trace buffer with bpf_trace_printk.
 *
 * What this buys: typed fields that user space decodes by itself, one buffer
 * per CPU that belongs to this program alone, and a count of any records the
 * kernel had to drop. Fleet's agent reads the buffer on every host, turns
 * `ts` (bpf_ktime_get_ns()) into wall-clock time and merges all hosts into
 * one timeline.
 *
 * How it was adapted for fleet:
 *  - The original put a kprobe on the clone syscall's kernel function. This
 *    kernel has no kprobes, so the preferred point is the syscall tracepoint
 *    syscalls:sys_enter_clone. The kprobe on __x64_sys_clone is kept as the
 *    declared fallback (compiled only when the agent chose it). Both see the
 *    same calls: clone() itself, which glibc's fork() uses. clone3, vfork
 *    and fork syscalls are not counted here (the hello_world lesson covers
 *    them).
 *  - `pid` is the process id (the tgid, the upper half of
 *    bpf_get_current_pid_tgid()), the number `ps` shows, rather than the
 *    thread id.
 */

struct clone_event {
    u32 pid;
    u64 ts;
    char comm[16];
};

BPF_PERF_OUTPUT(events);

static __always_inline int send_clone_event(void *ctx)
{
    struct clone_event ev = {};
    ev.pid = bpf_get_current_pid_tgid() >> 32;
    ev.ts = bpf_ktime_get_ns();
    bpf_get_current_comm(&ev.comm, sizeof(ev.comm));
    events.perf_submit(ctx, &ev, sizeof(ev));
    return 0;
}

#ifdef FLEET_USE_tracepoint__syscalls__sys_enter_clone
TRACEPOINT_PROBE(syscalls, sys_enter_clone)
{
    return send_clone_event(args);
}
#endif

#ifdef FLEET_USE_kprobe____x64_sys_clone
/* Fallback: the syscall's entry function. No argument is needed. */
int on_clone_kprobe(void *ctx)
{
    return send_clone_event(ctx);
}
#endif
