/*
 * cachestat: page cache counters, read and zeroed by the agent every interval.
 * Index: 0 access, 1 miss, 2 hit (access - miss, may dip below 0 in
 * an interval), 3 dirty, 4 evict. Pages, from filemap/writeback
 * tracepoint fields only.
 */

BPF_ARRAY(counts, s64, 5);

static __always_inline void add(int index, s64 n)
{
    s64 *slot = counts.lookup(&index);
    if (slot)
        __sync_fetch_and_add(slot, n);
}

/* Buffered reads: one call per batch of pages [index, last_index]. */
TRACEPOINT_PROBE(filemap, mm_filemap_get_pages)
{
    s64 pages = args->last_index - args->index + 1;
    add(0, pages);
    add(2, pages);
    return 0;
}

/* A page fault on a file mapping touches one page. */
TRACEPOINT_PROBE(filemap, mm_filemap_fault)
{
    add(0, 1);
    add(2, 1);
    return 0;
}

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
