/*
 * biosnoop: one event per completed block I/O. The submitting process is
 * taken where the request is accounted (block_io_start, in the submitter's
 * context) or inserted, else at issue. The queued time runs from that
 * submit point to issue; it is 0 when only the issue was seen. Tracepoint
 * fields only.
 */

struct rq_key {
    u64 dev;
    u64 sector;
};

struct who {
    u64 ts;                     /* submit time; 0 once issued, or if unknown */
    u64 queue_ns;               /* submit -> issue */
    u32 pid;
    char comm[16];
};

struct event {
    u64 ts;
    u64 dev;
    u64 sector;
    u64 lat_us;
    u64 queue_us;
    u32 pid;
    u32 bytes;
    char comm[16];
    char rwbs[8];
};

BPF_HASH(start, struct rq_key, u64, 10240);
BPF_HASH(submitter, struct rq_key, struct who, 10240);
BPF_PERF_OUTPUT(events);

{% if comm %}
static const char wanted_comm[] = {{ comm | c_chars }};
{% endif %}

static __always_inline int wanted_disk(u32 dev)
{
{% if disk %}
    return dev == FLEET_DEV_DISK;
{% else %}
    return 1;
{% endif %}
}

static __always_inline void note_submitter(u32 dev, u64 sector, u64 ts)
{
    struct rq_key key = {.dev = dev, .sector = sector};
    struct who w = {.ts = ts, .pid = bpf_get_current_pid_tgid() >> 32};
    bpf_get_current_comm(&w.comm, sizeof(w.comm));
    submitter.update(&key, &w);
}

#ifdef FLEET_USE_tracepoint__block__block_io_start
TRACEPOINT_PROBE(block, block_io_start)
{
    if (wanted_disk(args->dev))
        note_submitter(args->dev, args->sector, bpf_ktime_get_ns());
    return 0;
}
#endif

#ifdef FLEET_USE_tracepoint__block__block_rq_insert
TRACEPOINT_PROBE(block, block_rq_insert)
{
    if (wanted_disk(args->dev))
        note_submitter(args->dev, args->sector, bpf_ktime_get_ns());
    return 0;
}
#endif

TRACEPOINT_PROBE(block, block_rq_issue)
{
    if (!wanted_disk(args->dev))
        return 0;
    struct rq_key key = {.dev = args->dev, .sector = args->sector};
    u64 ts = bpf_ktime_get_ns();
    start.update(&key, &ts);
    struct who *w = submitter.lookup(&key);
    if (!w) {
        note_submitter(args->dev, args->sector, 0);
    } else if (w->ts) {
        /* Consume the submit time, so that a stale entry (a request merged
         * away) can never lend it to a later request at the same sector. */
        w->queue_ns = ts > w->ts ? ts - w->ts : 0;
        w->ts = 0;
    }
    return 0;
}

TRACEPOINT_PROBE(block, block_rq_complete)
{
    struct rq_key key = {.dev = args->dev, .sector = args->sector};
    u64 *tsp = start.lookup(&key);
    if (!tsp)
        return 0;
    struct event ev = {};
    ev.ts = bpf_ktime_get_ns();
    ev.lat_us = (ev.ts - *tsp) / 1000;
    start.delete(&key);
    struct who *w = submitter.lookup(&key);
    if (w) {
        ev.pid = w->pid;
        ev.queue_us = w->queue_ns / 1000;
        __builtin_memcpy(&ev.comm, w->comm, sizeof(ev.comm));
        submitter.delete(&key);
    }
{% if min_latency_ms %}
    if (ev.lat_us < {{ min_latency_ms * 1000 }}ULL)
        return 0;
{% endif %}
{% if pid is not none %}
    if (ev.pid != {{ pid }})
        return 0;
{% endif %}
{% if comm %}
    #pragma unroll
    for (int i = 0; i < sizeof(wanted_comm); i++) {
        if (ev.comm[i] != wanted_comm[i])
            return 0;
    }
{% endif %}
    ev.dev = args->dev;
    ev.sector = args->sector;
    ev.bytes = args->nr_sector * 512;
    bpf_probe_read_kernel(&ev.rwbs, sizeof(ev.rwbs), args->rwbs);
    events.perf_submit(args, &ev, sizeof(ev));
    return 0;
}
