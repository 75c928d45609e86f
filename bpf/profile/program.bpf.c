/*
 * profile: sample the running task's stacks on a CPU clock. Keys are
 * (pid, user stack id, kernel stack id, comm); the agent folds them into
 * "comm;outer;...;inner" lines and sums equal stacks.
 */

struct sample_key {
    u32 pid;
    s32 user_stack_id;
    s32 kernel_stack_id;
    char comm[16];
};

BPF_HASH(counts, struct sample_key, u64, 40960);
BPF_STACK_TRACE(stack_traces, {{ stack_storage_size }});

int on_sample(void *ctx)
{
    u64 id = bpf_get_current_pid_tgid();
    u32 pid = id >> 32;
{% if not include_idle %}
    if (pid == 0)
        return 0;
{% endif %}
{% if pid is not none %}
    if (pid != {{ pid }})
        return 0;
{% endif %}
{% if tid is not none %}
    if ((u32)id != {{ tid }})
        return 0;
{% endif %}
{% if cpu is not none %}
    if (bpf_get_smp_processor_id() != {{ cpu }})
        return 0;
{% endif %}
    struct sample_key key = {.pid = pid};
    bpf_get_current_comm(&key.comm, sizeof(key.comm));
{% if kernel_only %}
    key.user_stack_id = -1;
{% else %}
    key.user_stack_id = stack_traces.get_stackid(ctx, BPF_F_USER_STACK);
{% endif %}
{% if user_only %}
    key.kernel_stack_id = -1;
{% else %}
    key.kernel_stack_id = stack_traces.get_stackid(ctx, 0);
{% endif %}
    counts.increment(key);
    return 0;
}
