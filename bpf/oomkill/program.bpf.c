/*
 * oomkill: one event per OOM kill, from oom:mark_victim, which runs in the
 * task that ran out of memory (the trigger) when the victim is chosen. Only
 * the victim's pid is read: the tracepoint's other fields (comm, rss) exist
 * from Linux 6.8 only.
 */
struct event {
    u64 ts;
    u32 victim_pid;
    u32 trigger_pid;
    char trigger_comm[16];
};

BPF_PERF_OUTPUT(events);

TRACEPOINT_PROBE(oom, mark_victim)
{
    struct event ev = {.victim_pid = args->pid};
    ev.ts = bpf_ktime_get_ns();
    ev.trigger_pid = bpf_get_current_pid_tgid() >> 32;
    bpf_get_current_comm(&ev.trigger_comm, sizeof(ev.trigger_comm));
    events.perf_submit(args, &ev, sizeof(ev));
    return 0;
}
