/*
 * hardirqs: hard interrupt handlers timed from irq:irq_handler_entry to
 * irq:irq_handler_exit, per CPU (a handler runs with interrupts off on its
 * CPU), keyed by the interrupt's name as /proc/interrupts shows it.
 */
struct name_key {
    char name[32];
};

struct running {
    u64 ts;
    struct name_key key;
};

BPF_PERCPU_ARRAY(current_irq, struct running, 1);
{% if distribution %}
struct name_slot {
    char name[32];
    u64 slot;
};
BPF_HISTOGRAM(dist, struct name_slot, 4096);
{% else %}
BPF_HASH(totals, struct name_key, u64, 1024);
{% endif %}

TRACEPOINT_PROBE(irq, irq_handler_entry)
{
    int zero = 0;
    struct running *r = current_irq.lookup(&zero);
    if (!r)
        return 0;
    __builtin_memset(&r->key, 0, sizeof(r->key));
    TP_DATA_LOC_READ_STR(&r->key.name, name, sizeof(r->key.name));
{% if count %}
    totals.increment(r->key);
{% else %}
    r->ts = bpf_ktime_get_ns();
{% endif %}
    return 0;
}

TRACEPOINT_PROBE(irq, irq_handler_exit)
{
{% if not count %}
    int zero = 0;
    struct running *r = current_irq.lookup(&zero);
    if (!r || !r->ts)
        return 0;
    u64 delta = bpf_ktime_get_ns() - r->ts;
    r->ts = 0;
{% if not nanoseconds %}
    delta /= 1000;
{% endif %}
{% if distribution %}
    struct name_slot key = {.slot = bpf_log2l(delta)};
    __builtin_memcpy(&key.name, r->key.name, sizeof(key.name));
    dist.increment(key);
{% else %}
    totals.increment(r->key, delta);
{% endif %}
{% endif %}
    return 0;
}
