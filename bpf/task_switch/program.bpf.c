/*
 * task_switch: count context switches per (prev -> next) pair on
 * sched:sched_switch. The key is the two command names and thread ids as the
 * tracepoint reports them; no kernel struct is read.
 */

struct pair {
    char prev_comm[16];
    u32 prev_pid;
    u32 next_pid;
    char next_comm[16];
};

BPF_HASH(counts, struct pair, u64, 16384);

TRACEPOINT_PROBE(sched, sched_switch)
{
{% if pid is not none %}
    if (args->prev_pid != {{ pid }} && args->next_pid != {{ pid }})
        return 0;
{% endif %}
    struct pair key = {.prev_pid = args->prev_pid, .next_pid = args->next_pid};
    bpf_probe_read_kernel(&key.prev_comm, sizeof(key.prev_comm), args->prev_comm);
    bpf_probe_read_kernel(&key.next_comm, sizeof(key.next_comm), args->next_comm);
    counts.increment(key);
    return 0;
}
