/*
 * BCC tutorial lesson "bitehist": a histogram of block I/O sizes, in kbytes,
 * with power-of-two buckets, kept entirely in the kernel. The program only
 * bumps a counter per request (BPF_HISTOGRAM + bpf_log2l); nothing per I/O
 * crosses to user space. Fleet reads each host's buckets at the end of the
 * window and adds them up, bucket by bucket, for the fleet.
 *
 * Bucket k (k >= 1) holds sizes from 2^(k-1) to 2^k - 1 kbytes: a 4 KiB
 * request lands in bucket 3 (4-7), a 64 KiB one in bucket 7 (64-127).
 *
 * How it was adapted for fleet:
 *  - The original read the size out of struct request in a kprobe on the
 *    completion path. This kernel has no kprobes, and fleet never reads
 *    kernel structs through headers, so the preferred point is the
 *    tracepoint block:block_rq_issue, whose nr_sector field gives the size
 *    (nr_sector * 512) when the request is handed to the driver.
 *  - The declared fallback is a kprobe on blk_update_request(), the
 *    completion function that receives the number of bytes done as its
 *    third argument, so no struct is read there either (compiled only when
 *    the agent chose it). A request completed in pieces counts once per
 *    piece there.
 *  - Requests that carry no data (cache flushes) are left out: they have no
 *    size to put in a bucket.
 */

BPF_HISTOGRAM(dist);

static __always_inline void count_size(u64 bytes)
{
    if (bytes == 0)
        return;
    dist.increment(bpf_log2l(bytes / 1024));
}

#ifdef FLEET_USE_tracepoint__block__block_rq_issue
TRACEPOINT_PROBE(block, block_rq_issue)
{
    count_size((u64)args->nr_sector * 512);
    return 0;
}
#endif

#ifdef FLEET_USE_kprobe__blk_update_request
#include <uapi/linux/ptrace.h>      /* struct pt_regs, for PT_REGS_PARM3 */

/* blk_update_request(struct request *rq, blk_status_t error, unsigned int nr_bytes) */
int on_update_kprobe(struct pt_regs *ctx)
{
    count_size((u32)PT_REGS_PARM3(ctx));
    return 0;
}
#endif
