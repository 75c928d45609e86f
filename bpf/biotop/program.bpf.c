/*
 * biotop: block I/O summed per (process, disk, read/write), read and cleared
 * by the agent every interval. The process is taken where the request is
 * accounted or inserted (block_io_start / block_rq_insert, in the
 * submitter's context), else at issue; the time runs from issue to
 * completion. Tracepoint fields only.
 */
struct rq_key {
    u64 dev;
    u64 sector;
};

struct who {
    u32 pid;
    char comm[16];
};

struct key {
    u32 pid;
    u32 dev;
    char rw[2];
    char comm[16];
};

struct totals_value {
    u64 bytes;         /* first: the rows are ordered by it */
    u64 ios;
    u64 total_us;
};

BPF_HASH(submitter, struct rq_key, struct who, 10240);
BPF_HASH(issued, struct rq_key, u64, 10240);
BPF_HASH(totals, struct key, struct totals_value, 10240);

static __always_inline int wanted_disk(u32 dev)
{
{% if disk %}
    return dev == FLEET_DEV_DISK;
{% else %}
    return 1;
{% endif %}
}

static __always_inline void note_submitter(u32 dev, u64 sector)
{
    struct rq_key key = {.dev = dev, .sector = sector};
    struct who w = {.pid = bpf_get_current_pid_tgid() >> 32};
    bpf_get_current_comm(&w.comm, sizeof(w.comm));
    submitter.update(&key, &w);
}

#ifdef FLEET_USE_tracepoint__block__block_io_start
TRACEPOINT_PROBE(block, block_io_start)
{
    if (wanted_disk(args->dev))
        note_submitter(args->dev, args->sector);
    return 0;
}
#endif

#ifdef FLEET_USE_tracepoint__block__block_rq_insert
TRACEPOINT_PROBE(block, block_rq_insert)
{
    if (wanted_disk(args->dev))
        note_submitter(args->dev, args->sector);
    return 0;
}
#endif

TRACEPOINT_PROBE(block, block_rq_issue)
{
    if (!wanted_disk(args->dev))
        return 0;
    struct rq_key key = {.dev = args->dev, .sector = args->sector};
    u64 ts = bpf_ktime_get_ns();
    issued.update(&key, &ts);
    if (!submitter.lookup(&key))
        note_submitter(args->dev, args->sector);
    return 0;
}

TRACEPOINT_PROBE(block, block_rq_complete)
{
    struct rq_key rq = {.dev = args->dev, .sector = args->sector};
    u64 *ts = issued.lookup(&rq);
    if (!ts)
        return 0;
    u64 us = (bpf_ktime_get_ns() - *ts) / 1000;
    issued.delete(&rq);
    struct who *w = submitter.lookup(&rq);
    struct key key = {.dev = args->dev};
    if (w) {
        key.pid = w->pid;
        __builtin_memcpy(&key.comm, w->comm, sizeof(key.comm));
        submitter.delete(&rq);
    }
{% if pid is not none %}
    if (key.pid != {{ pid }})
        return 0;
{% endif %}
    char rwbs[8] = {};
    bpf_probe_read_kernel(&rwbs, sizeof(rwbs), args->rwbs);
    key.rw[0] = rwbs[0] == 'W' || rwbs[1] == 'W' ? 'W' : 'R';
    struct totals_value zero = {};
    struct totals_value *v = totals.lookup_or_try_init(&key, &zero);
    if (v) {
        __sync_fetch_and_add(&v->bytes, (u64)args->nr_sector * 512);
        __sync_fetch_and_add(&v->ios, 1);
        __sync_fetch_and_add(&v->total_us, us);
    }
    return 0;
}
