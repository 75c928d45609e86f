/*
 * capable: one event per capability check. The tracepoint
 * capability:cap_capable (Linux 6.14+) fires when cap_capable() returns, with
 * the capability and the verdict (0 granted, -EPERM denied). On older kernels
 * cap_capable() is probed: its entry keeps the capability (3rd argument) per
 * thread and its return sends the event with the verdict. Every check is
 * reported, also those the kernel does not audit (bcc's capable -v).
 */
#include <uapi/linux/ptrace.h>
#include <fleet.h>

struct event {
    u64 ts;
    u32 pid;
    u32 tid;
    u32 uid;
    u32 cap;
    s32 ret;
    char comm[16];
};

BPF_PERF_OUTPUT(events);
BPF_HASH(checking, u64, u32, 10240);    /* kprobe path: tid -> capability */

{% if comm %}
static const char wanted_comm[] = {{ comm | c_chars }};
{% endif %}

static __always_inline int wanted(u32 cap)
{
    u64 id = bpf_get_current_pid_tgid();
#ifdef FLEET_AGENT_PID
    if ((id >> 32) == FLEET_AGENT_PID)  /* the agent's own map reads check CAP_BPF */
        return 0;
#endif
{% if pid is not none %}
    if ((id >> 32) != {{ pid }})
        return 0;
{% endif %}
{% if cap is not none %}
    if (cap != {{ cap }})
        return 0;
{% endif %}
{% if comm %}
    if (!fleet_current_comm_is(wanted_comm))
        return 0;
{% endif %}
    return 1;
}

static __always_inline int report(void *ctx, u32 cap, int ret)
{
{% if denied_only %}
    if (ret == 0)
        return 0;
{% endif %}
    u64 id = bpf_get_current_pid_tgid();
    struct event ev = {.pid = id >> 32, .tid = id, .cap = cap, .ret = ret};
    ev.ts = bpf_ktime_get_ns();
    ev.uid = bpf_get_current_uid_gid();
    bpf_get_current_comm(&ev.comm, sizeof(ev.comm));
    events.perf_submit(ctx, &ev, sizeof(ev));
    return 0;
}

#ifdef FLEET_USE_tracepoint__capability__cap_capable
TRACEPOINT_PROBE(capability, cap_capable)
{
    if (!wanted(args->cap))
        return 0;
    return report(args, args->cap, args->ret);
}
#endif

#ifdef FLEET_USE_kprobe__cap_capable
int on_cap_capable(struct pt_regs *ctx)
{
    u32 cap = PT_REGS_PARM3(ctx);
    if (!wanted(cap))
        return 0;
    u64 id = bpf_get_current_pid_tgid();
    checking.update(&id, &cap);
    return 0;
}
#endif

/* Compiled whatever the check slot uses: with the tracepoint it finds nothing. */
int on_cap_capable_return(struct pt_regs *ctx)
{
    u64 id = bpf_get_current_pid_tgid();
    u32 *cap = checking.lookup(&id);
    if (!cap)
        return 0;
    u32 c = *cap;
    checking.delete(&id);
    return report(ctx, c, PT_REGS_RC(ctx));
}
