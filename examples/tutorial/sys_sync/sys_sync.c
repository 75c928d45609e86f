/*
 * BCC tutorial, sys_sync: a line in the trace buffer each time a process
 * calls sync(2), on every host of the fleet.
 *
 * Adapted for kernels without kprobes: the tutorial put a kprobe on the
 * sync syscall's kernel function; here the program hooks the stable
 * syscalls:sys_enter_sync tracepoint. Where syscall tracepoints are missing,
 * the playbook falls back to a kprobe on ksys_sync() (the function sync(2)
 * calls), compiled only when the agent picks it (FLEET_USE_kprobe__ksys_sync).
 * The trace line carries the caller's comm and pid; the message is fixed.
 */

#ifdef FLEET_USE_kprobe__ksys_sync
int sync_kprobe(void *ctx)
{
    bpf_trace_printk("sys_sync() called\n");
    return 0;
}
#else
TRACEPOINT_PROBE(syscalls, sys_enter_sync)
{
    bpf_trace_printk("sys_sync() called\n");
    return 0;
}
#endif
