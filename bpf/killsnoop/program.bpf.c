/*
 * killsnoop: one event per kill(), tkill() and tgkill(), from the syscall
 * tracepoints: the target and signal when the call enters, the result when
 * it returns. tpid is the target (a negative kill() target is a process
 * group, -1 every process the sender may signal).
 */
struct call {
    s32 tpid;
    u32 sig;
};

struct event {
    u64 ts;
    u32 pid;
    s32 tpid;
    u32 sig;
    s32 ret;
    char comm[16];
};

BPF_HASH(calls, u64, struct call, 10240);
BPF_PERF_OUTPUT(events);

static __always_inline int enter(s32 tpid, int sig)
{
    u64 id = bpf_get_current_pid_tgid();
{% if pid is not none %}
    if ((id >> 32) != {{ pid }})
        return 0;
{% endif %}
{% if signal is not none %}
    if (sig != {{ signal }})
        return 0;
{% endif %}
    struct call c = {.tpid = tpid, .sig = sig};
    calls.update(&id, &c);
    return 0;
}

static __always_inline int leave(void *ctx, long ret)
{
    u64 id = bpf_get_current_pid_tgid();
    struct call *c = calls.lookup(&id);
    if (!c)
        return 0;
    struct event ev = {.pid = id >> 32, .tpid = c->tpid, .sig = c->sig, .ret = ret};
    calls.delete(&id);
{% if failed_only %}
    if (ret >= 0)
        return 0;
{% endif %}
    ev.ts = bpf_ktime_get_ns();
    bpf_get_current_comm(&ev.comm, sizeof(ev.comm));
    events.perf_submit(ctx, &ev, sizeof(ev));
    return 0;
}

TRACEPOINT_PROBE(syscalls, sys_enter_kill) { return enter(args->pid, args->sig); }
TRACEPOINT_PROBE(syscalls, sys_exit_kill) { return leave(args, args->ret); }

#ifdef FLEET_USE_tracepoint__syscalls__sys_enter_tkill
TRACEPOINT_PROBE(syscalls, sys_enter_tkill) { return enter(args->pid, args->sig); }
#endif
#ifdef FLEET_USE_tracepoint__syscalls__sys_exit_tkill
TRACEPOINT_PROBE(syscalls, sys_exit_tkill) { return leave(args, args->ret); }
#endif
#ifdef FLEET_USE_tracepoint__syscalls__sys_enter_tgkill
TRACEPOINT_PROBE(syscalls, sys_enter_tgkill) { return enter(args->pid, args->sig); }
#endif
#ifdef FLEET_USE_tracepoint__syscalls__sys_exit_tgkill
TRACEPOINT_PROBE(syscalls, sys_exit_tgkill) { return leave(args, args->ret); }
#endif
