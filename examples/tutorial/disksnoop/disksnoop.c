/*
 * BCC tutorial lesson "disksnoop": one line per finished block I/O request,
 * with its time, its kind (read, write, ...), its size and how long the
 * device took, from issue to completion.
 *
 * The lesson's point is timing a thing across two probes: stamp the request
 * when it is handed to the driver, keep the stamp in a BPF hash, and at
 * completion look it up, subtract and forget it.
 *
 * How it was adapted for fleet:
 *  - The original hooked two kernel functions with kprobes and printed with
 *    bpf_trace_printk. This kernel has no kprobes, so the preferred points
 *    are the block tracepoints block:block_rq_issue -> block:block_rq_complete.
 *    A request is known there by (dev, sector), not by its address.
 *  - Each finished I/O is sent to user space as a struct through a perf
 *    buffer (BPF_PERF_OUTPUT), not as a printk line: the agent decodes it and
 *    fleet merges every host's records into one timeline.
 *  - The tracepoints hand us the size (nr_sector * 512; block_rq_complete has
 *    no bytes field) and the rwbs string ("W", "WS", "R", "FWS", ...), so no
 *    kernel struct is read.
 *  - The classic kprobe pair, blk_mq_start_request() -> blk_account_io_done(),
 *    is kept as the declared fallback (compiled only when the agent picked
 *    it, FLEET_USE_kprobe__...). It keys the request by its address. Size
 *    and flags live in struct request, which fleet's rules forbid reading
 *    through kernel headers, so that variant reports bytes 0 and rwbs "?";
 *    its latency is right. A host must use both tracepoints or both kprobes:
 *    a mix could never match a completion to its issue, so it is refused at
 *    compile time with a message saying so.
 */

struct event {
    u64 ts;         /* completion time, bpf_ktime_get_ns() */
    u64 lat_us;     /* issue -> completion */
    u32 dev;        /* major << 20 | minor, as in the block tracepoints */
    u32 bytes;
    char rwbs[8];
};

BPF_PERF_OUTPUT(events);

#if defined(FLEET_USE_tracepoint__block__block_rq_issue) != \
    defined(FLEET_USE_tracepoint__block__block_rq_complete)
#error "disksnoop needs both block tracepoints or both kprobes, not one of each"
#endif

#ifdef FLEET_USE_tracepoint__block__block_rq_issue
/* The tracepoint variant: a request is its disk and first sector. */
struct rq_id {
    u64 sector;
    u32 dev;
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
#endif

#ifdef FLEET_USE_tracepoint__block__block_rq_complete
TRACEPOINT_PROBE(block, block_rq_complete)
{
    struct rq_id id = {.sector = args->sector, .dev = args->dev};
    u64 *start = issued_at.lookup(&id);
    if (start == 0)
        return 0;           /* issued before the program was loaded */
    struct event ev = {};
    ev.ts = bpf_ktime_get_ns();
    ev.lat_us = (ev.ts - *start) / 1000;
    issued_at.delete(&id);
    ev.dev = args->dev;
    ev.bytes = args->nr_sector * 512;
    bpf_probe_read_kernel(&ev.rwbs, sizeof(ev.rwbs) - 1, args->rwbs);
    events.perf_submit(args, &ev, sizeof(ev));
    return 0;
}
#endif

#ifdef FLEET_USE_kprobe__blk_mq_start_request
/* The classic variant: a request is the address of its struct request,
 * the first argument of both functions. Only the address is used; the uapi
 * header gives struct pt_regs for PT_REGS_PARM1. */
#include <uapi/linux/ptrace.h>

BPF_HASH(started_at, u64, u64, 10240);

int on_start_kprobe(struct pt_regs *ctx)
{
    u64 req = PT_REGS_PARM1(ctx);
    u64 now = bpf_ktime_get_ns();
    started_at.update(&req, &now);
    return 0;
}
#endif

#ifdef FLEET_USE_kprobe__blk_account_io_done
int on_done_kprobe(struct pt_regs *ctx)
{
    u64 req = PT_REGS_PARM1(ctx);
    u64 *start = started_at.lookup(&req);
    if (start == 0)
        return 0;
    struct event ev = {};
    ev.ts = bpf_ktime_get_ns();
    ev.lat_us = (ev.ts - *start) / 1000;
    started_at.delete(&req);
    ev.rwbs[0] = '?';       /* flags and size would need a struct read */
    events.perf_submit(ctx, &ev, sizeof(ev));
    return 0;
}
#endif
