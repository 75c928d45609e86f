/*
 * exitsnoop: one event per process exit, from sched:sched_process_exit, which
 * runs in the exiting task. Its exit code, start time and parent come from
 * BTF offsets (task_struct.exit_code, .start_time, .real_parent); without BTF
 * they are 0. exit_code holds (status << 8) for exit(status), or the signal
 * number (bit 7: core dumped), as wait(2) reports it.
 */
#include <fleet.h>

struct event {
    u64 ts;
    u64 age_ms;
    u32 pid;
    u32 tid;
    u32 ppid;
    s32 code;          /* exit(code); 0 when killed by a signal */
    u32 sig;           /* the signal that killed it, or 0 */
    u32 core;          /* 1 when it dumped core */
    char comm[16];
};

BPF_PERF_OUTPUT(events);

{% if comm %}
static const char wanted_comm[] = {{ comm | c_chars }};
{% endif %}

TRACEPOINT_PROBE(sched, sched_process_exit)
{
    u64 id = bpf_get_current_pid_tgid();
    u32 pid = id >> 32, tid = id;
{% if not threads %}
    if (pid != tid)
        return 0;
{% endif %}
{% if pid is not none %}
    if (pid != {{ pid }})
        return 0;
{% endif %}
    struct event ev = {.pid = pid, .tid = tid};
    bpf_get_current_comm(&ev.comm, sizeof(ev.comm));
{% if comm %}
    if (!fleet_comm_is(ev.comm, wanted_comm))
        return 0;
{% endif %}
    ev.ts = bpf_ktime_get_ns();
#ifdef FLEET_BTF
    char *task = (char *)bpf_get_current_task();
    int exit_code = 0;
    u64 start = 0;
    bpf_probe_read_kernel(&exit_code, sizeof(exit_code),
                          task + FLEET_OFF_task_struct__exit_code);
    bpf_probe_read_kernel(&start, sizeof(start), task + FLEET_OFF_task_struct__start_time);
    ev.age_ms = start && ev.ts > start ? (ev.ts - start) / 1000000 : 0;
    ev.ppid = fleet_parent_tgid();
    ev.sig = exit_code & 0x7f;
    ev.core = (exit_code >> 7) & 1;
    ev.code = ev.sig ? 0 : (exit_code >> 8) & 0xff;
#endif
{% if failed_only %}
    if (ev.code == 0 && ev.sig == 0)
        return 0;
{% endif %}
    events.perf_submit(args, &ev, sizeof(ev));
    return 0;
}
