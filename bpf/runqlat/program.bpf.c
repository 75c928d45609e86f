/*
 * runqlat: how long runnable threads wait for a CPU. A thread enters the run
 * queue when it is woken (sched_wakeup, sched_wakeup_new) or when it is
 * switched out while still runnable (preempted: sched_switch with a running
 * prev_state); it leaves at sched_switch when it is the next thread. Only
 * tracepoint fields are read: pids and prev_state.
 */

/* prev_state bits below TASK_REPORT_MAX are the sleep states (S, D, T, t, X,
 * Z, P, I); none set means the thread was still runnable ("R" or "R+"). */
#define SLEEP_STATES 0xffUL

{% set keyed = per_process or per_thread or per_pid or pidnss %}
{% if keyed %}
struct pid_slot {
    u64 pid;        /* process id, thread id or PID namespace inode */
    u64 slot;
};
/* Room for every (key, slot) pair seen: the default (64 keys) drops samples. */
BPF_HISTOGRAM(dist, struct pid_slot, 16384);
{% else %}
BPF_HISTOGRAM(dist);
{% endif %}
{% if per_process or pidnss %}
/* A thread's process id (or PID namespace), noted whenever it runs: the
 * tracepoints name only the thread. A thread not seen running since the job
 * started is counted under its thread id (or namespace 0). */
BPF_HASH(owner, u32, u64, 10240);
{% endif %}
BPF_HASH(enqueued, u32, u64, 10240);

static __always_inline int wanted(u32 pid)
{
    if (pid == 0)               /* the per-CPU idle threads */
        return 0;
{% if pid is not none %}
    return pid == {{ pid }};
{% else %}
    return 1;
{% endif %}
}

static __always_inline void enqueue(u32 pid)
{
    if (!wanted(pid))
        return;
    u64 ts = bpf_ktime_get_ns();
    enqueued.update(&pid, &ts);
}

TRACEPOINT_PROBE(sched, sched_wakeup)
{
    enqueue(args->pid);
    return 0;
}

TRACEPOINT_PROBE(sched, sched_wakeup_new)
{
    enqueue(args->pid);
    return 0;
}

{% if pidnss %}
static __always_inline u64 current_pidns(void)
{
#ifdef FLEET_BTF
    char *task = (char *)bpf_get_current_task(), *nsproxy = NULL, *ns = NULL;
    u32 inum = 0;
    bpf_probe_read_kernel(&nsproxy, sizeof(nsproxy), task + FLEET_OFF_task_struct__nsproxy);
    if (nsproxy)
        bpf_probe_read_kernel(&ns, sizeof(ns),
                              nsproxy + FLEET_OFF_nsproxy__pid_ns_for_children);
    if (ns)
        bpf_probe_read_kernel(&inum, sizeof(inum),
                              ns + FLEET_OFF_pid_namespace__ns__inum);
    return inum;
#else
    return 0;
#endif
}
{% endif %}

TRACEPOINT_PROBE(sched, sched_switch)
{
    if (!(args->prev_state & SLEEP_STATES))
        enqueue(args->prev_pid);
{% if per_process or pidnss %}
    u32 prev = args->prev_pid;
    u64 mine = {{ 'current_pidns()' if pidnss else 'bpf_get_current_pid_tgid() >> 32' }};
    if (prev)
        owner.update(&prev, &mine);
{% endif %}

    u32 next = args->next_pid;
    u64 *tsp = enqueued.lookup(&next);
    if (!tsp)
        return 0;
    u64 delta = bpf_ktime_get_ns() - *tsp;
    enqueued.delete(&next);
    delta /= {{ 1000000 if milliseconds else 1000 }};
{% if keyed %}
    struct pid_slot key = {.pid = next, .slot = bpf_log2l(delta)};
{% if per_process or pidnss %}
    u64 *who = owner.lookup(&next);
    key.pid = who ? *who : {{ '0' if pidnss else 'next' }};
{% endif %}
    dist.increment(key);
{% else %}
    dist.increment(bpf_log2l(delta));
{% endif %}
    return 0;
}
