/*
 * biolatency: block I/O latency, issue (or insert) -> complete, as a log2
 * histogram. Tracepoint fields only: no kernel struct is read, so the host's
 * headers need not match its kernel. Requests are matched by (dev, sector).
 * Keyed by disk (per_disk) and/or by the request's flag set (flags: rwbs).
 */

struct rq_key {
    u64 dev;
    u64 sector;
};

{% if per_disk or flags %}
/* The label is "FLAGS,DISK", "FLAGS" or "DISK": the agent joins the fields
 * other than slot, and puts the decoded disk name last. */
struct hist_key {
{% if flags %}
    char flags[16];             /* rwbs as the completion reports it */
{% endif %}
{% if per_disk %}
    u64 dev;
{% endif %}
    u64 slot;
};
/* Room for many disks and flag sets: the default (64 keys) drops samples. */
BPF_HISTOGRAM(dist, struct hist_key, 4096);
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
{% if per_disk or flags %}
    struct hist_key hkey = {};
{% if flags %}
    bpf_probe_read_kernel(&hkey.flags, sizeof(args->rwbs), args->rwbs);
{% endif %}
{% if per_disk %}
    hkey.dev = args->dev;
{% endif %}
    hkey.slot = bpf_log2l(delta);
    dist.increment(hkey);
{% else %}
    dist.increment(bpf_log2l(delta));
{% endif %}
    return 0;
}
