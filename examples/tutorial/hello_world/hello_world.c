/*
 * Lesson 1 of the BCC tutorial, hello_world: print "Hello, World!" into the
 * kernel's trace buffer each time a process creates a new task.
 *
 * Adapted for fleet and for kernels without kprobes: the original hooked the
 * clone() syscall's kernel function with a kprobe. Here the program hooks the
 * syscall tracepoints that start a new task: clone, clone3, vfork and fork
 * (Python's subprocess, for one, uses vfork, and glibc's posix_spawn clone3).
 * Only the function of each point the agent chose is compiled (the agent
 * defines FLEET_USE_<kind>__<target> for it). Where syscall tracepoints are
 * missing, the clone slot falls back to a kprobe on kernel_clone(), the
 * function all four syscalls end up in, and the other slots are skipped.
 *
 * The printing task is the one calling clone: the parent. Its comm and pid
 * come with every trace line; the message itself is the classic greeting.
 */

#ifdef FLEET_USE_tracepoint__syscalls__sys_enter_clone
TRACEPOINT_PROBE(syscalls, sys_enter_clone)
{
    bpf_trace_printk("Hello, World!\n");
    return 0;
}
#endif

#ifdef FLEET_USE_tracepoint__syscalls__sys_enter_clone3
TRACEPOINT_PROBE(syscalls, sys_enter_clone3)
{
    bpf_trace_printk("Hello, World!\n");
    return 0;
}
#endif

#ifdef FLEET_USE_tracepoint__syscalls__sys_enter_vfork
TRACEPOINT_PROBE(syscalls, sys_enter_vfork)
{
    bpf_trace_printk("Hello, World!\n");
    return 0;
}
#endif

#ifdef FLEET_USE_tracepoint__syscalls__sys_enter_fork
TRACEPOINT_PROBE(syscalls, sys_enter_fork)
{
    bpf_trace_printk("Hello, World!\n");
    return 0;
}
#endif

#ifdef FLEET_USE_kprobe__kernel_clone
/* Fallback: one kprobe covers every way in (clone, clone3, vfork, fork). */
int hello_kprobe(void *ctx)
{
    bpf_trace_printk("Hello, World!\n");
    return 0;
}
#endif
