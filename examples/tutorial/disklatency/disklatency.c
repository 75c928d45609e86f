/*
 * BCC tutorial lesson "disklatency" (the exercise after bitehist): how long
 * block I/O requests take, from the moment a request is handed to the
 * driver to its completion, as a log2 histogram in microseconds.
 *
 * It combines the two earlier lessons: disksnoop's "stamp at issue, look up
 * and subtract at completion", and bitehist's in-kernel histogram, so only
 * the buckets cross to user space. Fleet adds the hosts' buckets together
 * for the fleet and flags a host whose latency stands apart.
 *
 * How it was adapted for fleet:
 *  - This kernel has no kprobes, so the preferred points are the tracepoints
 *    block:block_rq_issue -> block:block_rq_complete, and a request is known
 *    by (dev, sector), both tracepoint fields.
 *  - The kprobe pair blk_mq_start_request() -> blk_account_io_done() is the
 *    declared fallback (compiled only when the agent chose it). It keys the
 *    request by the address in the first argument, which is all it needs:
 *    no struct is read. A host must use both tracepoints or both kprobes; a
 *    mix could never match a completion and is refused at compile time.
 */

BPF_HISTOGRAM(dist);

#if defined(FLEET_USE_tracepoint__block__block_rq_issue) != \
    defined(FLEET_USE_tracepoint__block__block_rq_complete)
#error "disklatency needs both block tracepoints or both kprobes, not one of each"
#endif

static __always_inline void count_latency(u64 start_ns)
{
    u64 us = (bpf_ktime_get_ns() - start_ns) / 1000;
    dist.increment(bpf_log2l(us));
}

#ifdef FLEET_USE_tracepoint__block__block_rq_issue
struct rq_id {
    u64 sector;
    u32 dev;        /* major << 20 | minor */
    u32 pad;
};

BPF_HASH(issued_at, struct rq_id, u64, 10240);

TRACEPOINT_PROBE(block, block_rq_issue)
{
    struct rq_id id = {.sector = args->sector, .dev = args->dev};
    u64 now = bpf_ktime_get_ns();
    issued_at.update(&id, &now);
    return 0;
}

TRACEPOINT_PROBE(block, block_rq_complete)
{
    struct rq_id id = {.sector = args->sector, .dev = args->dev};
    u64 *start = issued_at.lookup(&id);
    if (start == 0)
        return 0;           /* issued before the program was loaded */
    count_latency(*start);
    issued_at.delete(&id);
    return 0;
}
#endif

#ifdef FLEET_USE_kprobe__blk_mq_start_request
#include <uapi/linux/ptrace.h>      /* struct pt_regs, for PT_REGS_PARM1 */

BPF_HASH(started_at, u64, u64, 10240);

int on_start_kprobe(struct pt_regs *ctx)
{
    u64 req = PT_REGS_PARM1(ctx);
    u64 now = bpf_ktime_get_ns();
    started_at.update(&req, &now);
    return 0;
}

int on_done_kprobe(struct pt_regs *ctx)
{
    u64 req = PT_REGS_PARM1(ctx);
    u64 *start = started_at.lookup(&req);
    if (start == 0)
        return 0;
    count_latency(*start);
    started_at.delete(&req);
    return 0;
}
#endif
