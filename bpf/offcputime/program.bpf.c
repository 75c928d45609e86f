/*
 * offcputime: time threads spend off the CPU, by the stacks they blocked in.
 * sched:sched_switch runs in prev as it leaves the CPU: its stacks and the
 * time are kept per thread; when the thread is switched back in (as next),
 * the time off the CPU is added to those stacks. Idle is left out.
 */
struct sample_key {
    u32 pid;
    s32 user_stack_id;
    s32 kernel_stack_id;
    char comm[16];
};

struct away {
    u64 ts;
    struct sample_key key;
};

BPF_HASH(counts, struct sample_key, u64, 40960);
BPF_HASH(leaving, u32, struct away, 10240);       /* by thread id */
BPF_STACK_TRACE(stack_traces, {{ stack_storage_size }});

TRACEPOINT_PROBE(sched, sched_switch)
{
    u32 prev = args->prev_pid, next = args->next_pid;
    u64 now = bpf_ktime_get_ns();
    u32 tgid = bpf_get_current_pid_tgid() >> 32;
{% if pid is not none %}
    if (prev && tgid == {{ pid }}) {
{% else %}
    if (prev) {
{% endif %}
        struct away a = {.ts = now};
        a.key.pid = tgid;
        bpf_get_current_comm(&a.key.comm, sizeof(a.key.comm));
{% if kernel_only %}
        a.key.user_stack_id = -1;
{% else %}
        a.key.user_stack_id = stack_traces.get_stackid(args, BPF_F_USER_STACK);
{% endif %}
{% if user_only %}
        a.key.kernel_stack_id = -1;
{% else %}
        a.key.kernel_stack_id = stack_traces.get_stackid(args, 0);
{% endif %}
        leaving.update(&prev, &a);
    }
    if (!next)
        return 0;
    struct away *a = leaving.lookup(&next);
    if (!a)
        return 0;
    u64 us = (now - a->ts) / 1000;
    struct sample_key key = a->key;
    leaving.delete(&next);
    if (us < {{ min_block_us }})
        return 0;
{% if max_block_us is not none %}
    if (us > {{ max_block_us }})
        return 0;
{% endif %}
    counts.increment(key, us);
    return 0;
}
