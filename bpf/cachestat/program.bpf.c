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

/*
 * Buffered reads: the pages each read() asks for, [index, last_index].
 * filemap_get_pages() fires the tracepoint once per batch of folios it hands
 * back, each time for the whole rest of the request, so a batch whose file and
 * end match the thread's previous one, further on, continues a read that is
 * already counted.
 */
#ifdef FLEET_USE_tracepoint__filemap__mm_filemap_get_pages
struct batch_t {
    u64 ino;
    u64 index;
    u64 last;
    u32 dev;
};
BPF_TABLE("lru_hash", u32, struct batch_t, last_batch, 10240);  /* by thread */

TRACEPOINT_PROBE(filemap, mm_filemap_get_pages)
{
    u32 tid = bpf_get_current_pid_tgid();
    struct batch_t now = {.ino = args->i_ino, .index = args->index,
                          .last = args->last_index, .dev = args->s_dev};
    struct batch_t *prev = last_batch.lookup(&tid);
    int continued = prev && prev->ino == now.ino && prev->dev == now.dev &&
                    prev->last == now.last && now.index > prev->index;
    last_batch.update(&tid, &now);
    if (continued)
        return 0;
    s64 pages = now.last - now.index + 1;
    add(0, pages);
    add(2, pages);
    return 0;
}
#endif

/*
 * Kernels without that tracepoint: the same pages from the read's own
 * arguments, filemap_read(struct kiocb *iocb, struct iov_iter *iter, ...):
 * ki_pos >> 12 up to (ki_pos + count - 1) >> 12 (x86's 4 KiB pages), none
 * for a read that starts at or past the end of the file (the tracepoint's
 * caller stops there too). Needs BTF for the offsets; without it reads are
 * not counted on such kernels.
 */
#ifdef FLEET_USE_kprobe__filemap_read
#include <uapi/linux/ptrace.h>
int read_kprobe(struct pt_regs *ctx)
{
#ifdef FLEET_BTF
    void *iocb = (void *)PT_REGS_PARM1(ctx);
    u64 pos = 0, count = 0;
    s64 size = 0;
    void *file = 0, *inode = 0;
    bpf_probe_read_kernel(&pos, sizeof(pos), iocb + FLEET_OFF_kiocb__ki_pos);
    bpf_probe_read_kernel(&count, sizeof(count),
                          (void *)PT_REGS_PARM2(ctx) + FLEET_OFF_iov_iter__count);
    bpf_probe_read_kernel(&file, sizeof(file), iocb + FLEET_OFF_kiocb__ki_filp);
    bpf_probe_read_kernel(&inode, sizeof(inode), file + FLEET_OFF_file__f_inode);
    bpf_probe_read_kernel(&size, sizeof(size), inode + FLEET_OFF_inode__i_size);
    if (count == 0 || (s64)pos >= size)
        return 0;
    s64 pages = (s64)((pos + count - 1) >> 12) - (s64)(pos >> 12) + 1;
    add(0, pages);
    add(2, pages);
#endif
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
