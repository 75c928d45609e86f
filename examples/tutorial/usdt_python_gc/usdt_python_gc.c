/*
 * Lesson: usdt_python_gc -- a USDT (user statically defined tracing) probe.
 *
 * What it shows: attaching to a probe point that a program's authors built
 * into it, here CPython's python:gc__start marker, which fires each time the
 * garbage collector starts a collection, and counting the runs per process
 * in a BPF_HASH. USDT arguments are read with bpf_usdt_readarg(); gc__start's
 * first argument is the generation being collected.
 *
 * Adapted: the tutorial's USDT example instruments a Node.js http server
 * probe by pid. This machine's libc has no USDT probes and there is no node,
 * but /usr/bin/python3.11 carries python:gc__start. Its probes are guarded by
 * semaphores: the interpreter skips a probe unless its semaphore is
 * non-zero, and raising it is the tracer's job. With bcc 0.26 that works when
 * the probe is attached to one process (usdt point with `pid:`: bcc writes
 * the semaphore into that process), not to the binary (`binary:`: enabling
 * fails); the playbook explains both. There is no tracepoint or kprobe
 * equivalent, so no fallback is declared.
 */
#include <uapi/linux/ptrace.h>

BPF_HASH(gc_runs, u32, u64, 10240);   /* pid -> collections started */

int on_gc_start(struct pt_regs *ctx)
{
    int generation = -1;
    bpf_usdt_readarg(1, ctx, &generation);
    if (generation < 0 || generation > 2)
        return 0;                     /* not a CPython generation: ignore */
    u32 pid = bpf_get_current_pid_tgid() >> 32;
    gc_runs.increment(pid);
    return 0;
}
