/*
 * funclatency: time from a function's entry to its return, per thread, as a
 * log2 histogram (per function with per_function). Kernel functions use a
 * kprobe and a kretprobe on each match of the glob, user functions a uprobe
 * and a uretprobe. Recursive calls of one function on one thread are timed
 * from the innermost entry, as in bcc's funclatency.
 */
#include <uapi/linux/ptrace.h>
#include <fleet.h>

struct entry {
    u64 ts;
    u64 ip;
};

BPF_HASH(entered, u64, struct entry, 10240);   /* by thread */
{% if per_function %}
struct fn_slot {
    u64 ip;
{% if library %}
    u32 pid;
{% endif %}
    u64 slot;
};
BPF_HISTOGRAM(dist, struct fn_slot, 10240);
{% else %}
BPF_HISTOGRAM(dist);
{% endif %}

{% if comm %}
static const char wanted_comm[] = {{ comm | c_chars }};
{% endif %}

int on_entry(struct pt_regs *ctx)
{
    u64 id = bpf_get_current_pid_tgid();
{% if pid is not none %}
    if ((id >> 32) != {{ pid }})
        return 0;
{% endif %}
{% if comm %}
    if (!fleet_current_comm_is(wanted_comm))
        return 0;
{% endif %}
    struct entry e = {.ts = bpf_ktime_get_ns()};
{% if per_function %}
{% if library %}
    e.ip = PT_REGS_IP(ctx);
{% else %}
    e.ip = bpf_get_func_ip(ctx);
{% endif %}
{% endif %}
    entered.update(&id, &e);
    return 0;
}

int on_return(struct pt_regs *ctx)
{
    u64 id = bpf_get_current_pid_tgid();
    struct entry *e = entered.lookup(&id);
    if (!e)
        return 0;
    struct entry en = *e;
    u64 delta = bpf_ktime_get_ns() - en.ts;
    entered.delete(&id);
{% if milliseconds %}
    delta /= 1000000;
{% elif microseconds %}
    delta /= 1000;
{% endif %}
{% if per_function %}
    struct fn_slot key = {.ip = en.ip, .slot = bpf_log2l(delta)};
{% if library %}
    key.pid = id >> 32;
{% endif %}
    dist.increment(key);
{% else %}
    dist.increment(bpf_log2l(delta));
{% endif %}
    return 0;
}
