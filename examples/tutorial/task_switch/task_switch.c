/*
 * Lesson: task_switch -- counting context switches per (previous -> next)
 * pair of threads.
 *
 * What it shows: a BPF_HASH keyed by a two-field struct, incremented on
 * every context switch; the fleet sums each pair's count over the hosts and
 * the report lists the busiest pairs.
 *
 * Adapted: the tutorial puts a kprobe on the scheduler's finish_task_switch()
 * and reads the previous task's pid out of its task_struct argument. This
 * kernel has no kprobes, and this project reads no kernel structs through
 * headers, so the lesson uses the sched:sched_switch tracepoint, whose
 * prev_pid and next_pid fields (thread ids; 0 is the idle task) carry the
 * same information. No fallback is declared: a kprobe version would need
 * exactly that task_struct read.
 */

struct switch_pair {
    u32 prev_pid;
    u32 next_pid;
};

BPF_HASH(switches, struct switch_pair, u64, 10240);

TRACEPOINT_PROBE(sched, sched_switch)
{
    struct switch_pair pair = {};
    pair.prev_pid = args->prev_pid;
    pair.next_pid = args->next_pid;
    switches.increment(pair);
    return 0;
}
