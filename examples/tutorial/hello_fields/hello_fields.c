/*
 * BCC tutorial, hello_fields: a trace line for each new task, whose message
 * carries fields of its own, formatted with bpf_trace_printk's %d. The
 * tutorial's point is reading a trace line back as fields; fleet already
 * splits every line into comm, pid (the printing thread) and message, and
 * the message here adds three key=value fields of its own:
 *   tgid - the process that asked for a new task (bpf_get_current_pid_tgid)
 *   uid  - its user id (bpf_get_current_uid_gid)
 *   nr   - the syscall number, read from the tracepoint's __syscall_nr field
 *          (-1 under the kprobe fallback, which cannot tell them apart)
 * bpf_trace_printk takes at most three arguments, hence three fields.
 *
 * Adapted for kernels without kprobes: the tutorial used a kprobe on the
 * clone syscall. This hooks the syscall tracepoints that start a task (clone,
 * clone3, vfork, fork; Python's subprocess uses vfork). Each tracepoint's
 * function is compiled only when the agent chose that point; without syscall
 * tracepoints, the clone slot falls back to a kprobe on kernel_clone().
 */

static inline int say_hello(int nr)
{
    u64 id = bpf_get_current_pid_tgid();
    u32 uid = bpf_get_current_uid_gid();

    bpf_trace_printk("Hello, World! tgid=%d uid=%d nr=%d\n", (int)(id >> 32), uid, nr);
    return 0;
}

#ifdef FLEET_USE_tracepoint__syscalls__sys_enter_clone
TRACEPOINT_PROBE(syscalls, sys_enter_clone)
{
    return say_hello(args->__syscall_nr);
}
#endif

#ifdef FLEET_USE_tracepoint__syscalls__sys_enter_clone3
TRACEPOINT_PROBE(syscalls, sys_enter_clone3)
{
    return say_hello(args->__syscall_nr);
}
#endif

#ifdef FLEET_USE_tracepoint__syscalls__sys_enter_vfork
TRACEPOINT_PROBE(syscalls, sys_enter_vfork)
{
    return say_hello(args->__syscall_nr);
}
#endif

#ifdef FLEET_USE_tracepoint__syscalls__sys_enter_fork
TRACEPOINT_PROBE(syscalls, sys_enter_fork)
{
    return say_hello(args->__syscall_nr);
}
#endif

#ifdef FLEET_USE_kprobe__kernel_clone
int hello_kprobe(void *ctx)
{
    return say_hello(-1);
}
#endif
