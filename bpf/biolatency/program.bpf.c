/*
 * biolatency: block I/O latency, issue (or insert) -> complete, as a log2
 * histogram. Tracepoint fields only: no kernel struct is read, so the host's
 * headers need not match its kernel. Requests are matched by (dev, sector).
 */

struct rq_key {
    u64 dev;
    u64 sector;
};

{% if per_disk %}
struct disk_slot {
    u64 dev;
    u64 slot;
};
BPF_HISTOGRAM(dist, struct disk_slot);
{% else %}
BPF_HISTOGRAM(dist);
{% endif %}
BPF_HASH(start, struct rq_key, u64, 10240);

static __always_inline int wanted(u32 dev)
{
{% if disk %}
    return dev == FLEET_DEV_DISK;
{% else %}
    return 1;
{% endif %}
}

{% if queued %}
TRACEPOINT_PROBE(block, block_rq_insert)
{
    if (!wanted(args->dev))
        return 0;
    struct rq_key key = {.dev = args->dev, .sector = args->sector};
    u64 ts = bpf_ktime_get_ns();
    start.update(&key, &ts);
    return 0;
}
{% endif %}

TRACEPOINT_PROBE(block, block_rq_issue)
{
    if (!wanted(args->dev))
        return 0;
    struct rq_key key = {.dev = args->dev, .sector = args->sector};
    u64 ts = bpf_ktime_get_ns();
{% if queued %}
    start.insert(&key, &ts);    /* keep the insert time when there was one */
{% else %}
    start.update(&key, &ts);
{% endif %}
    return 0;
}

TRACEPOINT_PROBE(block, block_rq_complete)
{
    struct rq_key key = {.dev = args->dev, .sector = args->sector};
    u64 *tsp = start.lookup(&key);
    if (!tsp)
        return 0;
    u64 delta = bpf_ktime_get_ns() - *tsp;
    start.delete(&key);
    delta /= {{ 1000000 if milliseconds else 1000 }};
{% if per_disk %}
    struct disk_slot hkey = {.dev = args->dev, .slot = bpf_log2l(delta)};
    dist.increment(hkey);
{% else %}
    dist.increment(bpf_log2l(delta));
{% endif %}
    return 0;
}
