/*
 * bitehist: the size of each block I/O request as the driver receives it
 * (block:block_rq_issue), as a log2 histogram in kbytes,
 * keyed by the operation letter of rwbs: R read, W write, D discard,
 * N other. Requests without data (flushes) are left out. Tracepoint fields only.
 */

struct op_slot {
    char op[8];
    u64 slot;
};

/* A handful of operations times ~20 slots; the default 64 keys is too few. */
BPF_HISTOGRAM(dist, struct op_slot, 256);

TRACEPOINT_PROBE(block, block_rq_issue)
{
    /* nr_sector is the size of filesystem I/O on every kernel (older kernels
     * fill bytes only for passthrough requests, which have no sectors). */
    u64 bytes = (u64)args->nr_sector << 9;
    if (bytes == 0)
        bytes = args->bytes;
    if (bytes == 0)             /* a flush moves no data */
        return 0;
{% if disk %}
    if (args->dev != FLEET_DEV_DISK)
        return 0;
{% endif %}
    char rwbs[2];
    bpf_probe_read_kernel(&rwbs, sizeof(rwbs), args->rwbs);
    /* rwbs is [F]op[F][A][S][M]: a leading F is a preflush, then the op. */
    char op = rwbs[0] == 'F' ? rwbs[1] : rwbs[0];
    if (op == 0)
        op = 'N';
{% if exclude_discards %}
    if (op == 'D')
        return 0;
{% endif %}
    struct op_slot key = {.slot = bpf_log2l(bytes / 1024)};
    key.op[0] = op;
    dist.increment(key);
    return 0;
}
