/*
 * stackcount: count the stacks that lead to an event: a tracepoint, kernel
 * functions (kprobes on every function a glob matches) or a user function
 * (a uprobe). One function serves each kind; BCC hands it the tracepoint's
 * or the probe's context, from which the stacks are taken.
 */
struct sample_key {
    u32 pid;
    s32 user_stack_id;
    s32 kernel_stack_id;
    char comm[16];
};

BPF_HASH(counts, struct sample_key, u64, 40960);
BPF_STACK_TRACE(stack_traces, 16384);

int on_event(void *ctx)
{
    u32 pid = bpf_get_current_pid_tgid() >> 32;
{% if pid is not none %}
    if (pid != {{ pid }})
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
