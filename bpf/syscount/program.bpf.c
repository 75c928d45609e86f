/*
 * syscount: system calls counted when they return (raw_syscalls:sys_exit,
 * which carries the syscall number and the result), per syscall or per
 * process. With latency, sys_enter stamps each call per thread and sys_exit
 * adds its duration. Calls that never return (exit, exit_group, a successful
 * execve's old image) are not counted.
 */
struct key {
{% if per_process %}
    u32 pid;
    char comm[16];
{% else %}
    u32 nr;
{% endif %}
};

BPF_HASH(calls, struct key, u64, 10240);
{% if latency %}
BPF_HASH(time, struct key, u64, 10240);
BPF_HASH(started, u64, u64, 10240);

TRACEPOINT_PROBE(raw_syscalls, sys_enter)
{
    u64 id = bpf_get_current_pid_tgid();
{% if pid is not none %}
    if ((id >> 32) != {{ pid }})
        return 0;
{% endif %}
    u64 ts = bpf_ktime_get_ns();
    started.update(&id, &ts);
    return 0;
}
{% endif %}

TRACEPOINT_PROBE(raw_syscalls, sys_exit)
{
    u64 id = bpf_get_current_pid_tgid();
    if (args->id < 0)           /* not a system call (e.g. a signal's restart) */
        return 0;
#ifdef FLEET_AGENT_PID
    if ((id >> 32) == FLEET_AGENT_PID)   /* the agent's own map reads */
        return 0;
#endif
{% if pid is not none %}
    if ((id >> 32) != {{ pid }})
        return 0;
{% endif %}
{% if errno is not none %}
    if (args->ret != -{{ errno }})
        return 0;
{% elif failed_only %}
    if (args->ret >= 0)
        return 0;
{% endif %}
    struct key key = {};
{% if per_process %}
    key.pid = id >> 32;
    bpf_get_current_comm(&key.comm, sizeof(key.comm));
{% else %}
    key.nr = args->id;
{% endif %}
    calls.increment(key);
{% if latency %}
    u64 *ts = started.lookup(&id);
    if (ts) {
        u64 spent = (bpf_ktime_get_ns() - *ts) / {{ 1000000 if milliseconds else 1000 }};
        started.delete(&id);
        time.increment(key, spent);
    }
{% endif %}
    return 0;
}
