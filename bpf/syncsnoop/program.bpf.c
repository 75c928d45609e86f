/*
 * syncsnoop: one event per sync(2), with the time since the previous sync()
 * this program saw on the host (0 for the first one since it attached).
 * The previous call's time lives in a one-slot array shared by all CPUs;
 * two syncs racing on two CPUs may both measure from the same earlier call.
 */

struct event {
    u64 ts;
    u64 since_last_ms;
    u32 pid;
    char comm[16];
};

BPF_ARRAY(last, u64, 1);
BPF_PERF_OUTPUT(events);

TRACEPOINT_PROBE(syscalls, sys_enter_sync)
{
    int zero = 0;
    u64 *prev = last.lookup(&zero);
    if (!prev)
        return 0;
    struct event ev = {.ts = bpf_ktime_get_ns()};
    u64 before = *prev;
    *prev = ev.ts;
    if (before)
        ev.since_last_ms = (ev.ts - before) / 1000000;
    ev.pid = bpf_get_current_pid_tgid() >> 32;
    bpf_get_current_comm(&ev.comm, sizeof(ev.comm));
    events.perf_submit(args, &ev, sizeof(ev));
    return 0;
}
