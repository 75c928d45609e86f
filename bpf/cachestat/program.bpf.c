/*
 * cachestat: page cache counters, read and zeroed by the agent every interval.
 * Index: 0 access, 1 miss, 2 hit (access - miss, may dip below 0 in
 * an interval), 3 dirty, 4 evict. Pages, from filemap/writeback
 * tracepoint fields, or kprobes on the tracepoints' functions where a
 * kernel lacks them (before 6.3).
 */

BPF_ARRAY(counts, s64, 5);

static __always_inline void add(int index, s64 n)
{
    s64 *slot = counts.lookup(&index);
    if (slot)
        __sync_fetch_and_add(slot, n);
}

/* Buffered reads: one call per batch of pages [index, last_index]. */
#ifdef FLEET_USE_tracepoint__filemap__mm_filemap_get_pages
TRACEPOINT_PROBE(filemap, mm_filemap_get_pages)
{
    s64 pages = args->last_index - args->index + 1;
    add(0, pages);
    add(2, pages);
    return 0;
}
#endif

/*
 * Kernels without that tracepoint: the same batch from the arguments of the
 * function it sits in, filemap_get_pages(struct kiocb *iocb, size_t count,
 * ...): pages ki_pos >> 12 up to (ki_pos + count - 1) >> 12 (x86's 4 KiB
 * pages). Without BTF the read's position is unknown and taken as 0.
 */
#ifdef FLEET_USE_kprobe__filemap_get_pages
#include <uapi/linux/ptrace.h>
int read_kprobe(struct pt_regs *ctx)
{
    u64 count = PT_REGS_PARM2(ctx);
    u64 pos = 0;
    if (count == 0)
        return 0;
#ifdef FLEET_BTF
    bpf_probe_read_kernel(&pos, sizeof(pos),
                          (void *)PT_REGS_PARM1(ctx) + FLEET_OFF_kiocb__ki_pos);
#endif
    s64 pages = (s64)((pos + count - 1) >> 12) - (s64)(pos >> 12) + 1;
    add(0, pages);
    add(2, pages);
    return 0;
}
#endif

/* A page fault on a file mapping touches one page. */
#ifdef FLEET_USE_tracepoint__filemap__mm_filemap_fault
TRACEPOINT_PROBE(filemap, mm_filemap_fault)
{
    add(0, 1);
    add(2, 1);
    return 0;
}
#endif

/* The tracepoint's function itself, where the tracepoint is missing. */
#ifdef FLEET_USE_kprobe__filemap_fault
int fault_kprobe(void *ctx)
{
    add(0, 1);
    add(2, 1);
    return 0;
}
#endif

/* A page (folio of 2^order pages) entering the cache was a miss. */
TRACEPOINT_PROBE(filemap, mm_filemap_add_to_page_cache)
{
    s64 pages = 1LL << args->order;
    add(1, pages);
    add(2, -pages);
    return 0;
}

TRACEPOINT_PROBE(filemap, mm_filemap_delete_from_page_cache)
{
    add(4, 1LL << args->order);
    return 0;
}

#ifdef FLEET_USE_tracepoint__writeback__writeback_dirty_folio
TRACEPOINT_PROBE(writeback, writeback_dirty_folio)
{
    add(3, 1);
    return 0;
}
#endif

#ifdef FLEET_USE_tracepoint__writeback__writeback_dirty_page
TRACEPOINT_PROBE(writeback, writeback_dirty_page)
{
    add(3, 1);
    return 0;
}
#endif
