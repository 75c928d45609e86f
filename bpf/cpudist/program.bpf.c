/*
 * cpudist: how long threads run on a CPU each time they get one (or, with
 * offcpu, how long they stay off it), from sched:sched_switch alone: the
 * switch stamps next's start and ends prev's run. Idle (pid 0) is left out.
 */
#define TASK_COMM_LEN 16

BPF_HASH(since, u32, u64, 10240);     /* by thread id: when it went on (off) */
BPF_HASH(tgid_of, u32, u32, 10240);   /* thread id -> process id, seen at a switch */
{% if per_process or per_thread %}
struct pid_slot {
    u64 pid;
    u64 slot;
};
BPF_HISTOGRAM(dist, struct pid_slot, 16384);
{% else %}
BPF_HISTOGRAM(dist);
{% endif %}

static __always_inline void stamp(u32 tid)
{
    u64 ts = bpf_ktime_get_ns();
    since.update(&tid, &ts);
}

static __always_inline void account(u32 tid, u32 tgid)
{
    u64 *ts = since.lookup(&tid);
    if (!ts)
        return;
    u64 delta = (bpf_ktime_get_ns() - *ts) / {{ 1000000 if milliseconds else 1000 }};
    since.delete(&tid);
{% if pid is not none %}
    if (tgid != {{ pid }})
        return;
{% endif %}
{% if per_process or per_thread %}
    struct pid_slot key = {.pid = {{ 'tgid' if per_process else 'tid' }},
                           .slot = bpf_log2l(delta)};
    dist.increment(key);
{% else %}
    dist.increment(bpf_log2l(delta));
{% endif %}
}

TRACEPOINT_PROBE(sched, sched_switch)
{
    u32 prev = args->prev_pid, next = args->next_pid;
    /* sched_switch runs in prev: its process id is the current tgid. */
    u32 prev_tgid = bpf_get_current_pid_tgid() >> 32;
    if (prev)
        tgid_of.update(&prev, &prev_tgid);
{% if offcpu %}
    if (prev)
        stamp(prev);
    if (next) {
        u32 *tgid = tgid_of.lookup(&next);
        if (tgid)
            account(next, *tgid);
    }
{% else %}
    if (prev)
        account(prev, prev_tgid);
    if (next)
        stamp(next);
{% endif %}
    return 0;
}
