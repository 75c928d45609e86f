/*
 * softirqs: soft interrupt handlers timed from irq:softirq_entry to
 * irq:softirq_exit, per CPU, keyed by the vector (hi, timer, net_tx, net_rx,
 * block, irq_poll, tasklet, sched, hrtimer, rcu; the agent names them).
 */
struct vec_key {
    u32 vec;
};

BPF_PERCPU_ARRAY(started, u64, 1);
{% if distribution %}
struct vec_slot {
    u32 vec;
    u64 slot;
};
BPF_HISTOGRAM(dist, struct vec_slot, 1024);
{% else %}
BPF_HASH(totals, struct vec_key, u64, 64);
{% endif %}

TRACEPOINT_PROBE(irq, softirq_entry)
{
{% if count %}
    struct vec_key key = {.vec = args->vec};
    totals.increment(key);
{% else %}
    int zero = 0;
    u64 *ts = started.lookup(&zero);
    if (ts)
        *ts = bpf_ktime_get_ns();
{% endif %}
    return 0;
}

TRACEPOINT_PROBE(irq, softirq_exit)
{
{% if not count %}
    int zero = 0;
    u64 *ts = started.lookup(&zero);
    if (!ts || !*ts)
        return 0;
    u64 delta = bpf_ktime_get_ns() - *ts;
    *ts = 0;
{% if not nanoseconds %}
    delta /= 1000;
{% endif %}
{% if distribution %}
    struct vec_slot key = {.vec = args->vec, .slot = bpf_log2l(delta)};
    dist.increment(key);
{% else %}
    struct vec_key key = {.vec = args->vec};
    totals.increment(key, delta);
{% endif %}
{% endif %}
    return 0;
}
