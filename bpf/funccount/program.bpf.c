/*
 * funccount: calls counted per function. Kernel functions: a kprobe on each
 * function the glob matches, keyed by the probed function's address
 * (bpf_get_func_ip, Linux 5.15+). User functions: a uprobe on each matching
 * symbol, keyed by the process and the instruction address (the function's
 * entry), which the agent turns into the symbol's name.
 */
#include <uapi/linux/ptrace.h>
#include <fleet.h>

struct key {
    u64 ip;
{% if library %}
    u32 pid;
{% endif %}
};

BPF_HASH(counts, struct key, u64, 10240);

{% if comm %}
static const char wanted_comm[] = {{ comm | c_chars }};
{% endif %}

int on_call(struct pt_regs *ctx)
{
    u32 pid = bpf_get_current_pid_tgid() >> 32;
{% if pid is not none %}
    if (pid != {{ pid }})
        return 0;
{% endif %}
{% if comm %}
    if (!fleet_current_comm_is(wanted_comm))
        return 0;
{% endif %}
    struct key key = {};
{% if library %}
    key.ip = PT_REGS_IP(ctx);
    key.pid = pid;
{% else %}
    key.ip = bpf_get_func_ip(ctx);
{% endif %}
    counts.increment(key);
    return 0;
}
