/*
 * opensnoop: one event per open(), openat() or openat2(). Filters run when the
 * call enters; the path is copied from user memory when it returns (the
 * kernel has faulted the page in by then). Tracepoint fields and helpers
 * only; openat2's flags are read from the caller's struct open_how, whose
 * first member is the u64 flags (uapi, stable).
 */

#include <fleet.h>

#define PATH_SIZE 256

struct start {
    u64 ts;
    const char *path;
    u32 flags;
};

struct event {
    u64 ts;
    u64 lat_ns;
    u32 pid;
    u32 tid;
    u32 uid;
    s32 ret;
    u32 flags;
    u32 open_flags;    /* the flags again, named O_* by the agent */
    char comm[16];
    char path[PATH_SIZE];
};

BPF_HASH(starts, u64, struct start, 10240);    /* by pid_tgid, enter -> exit */
BPF_PERCPU_ARRAY(scratch, struct event, 1);     /* too big for the BPF stack */
BPF_PERF_OUTPUT(events);

{% if comm %}
static const char wanted_comm[] = {{ comm | c_chars }};
{% endif %}
{% if name %}
static const char wanted_name[] = {{ name | c_chars }};
{% endif %}

static __always_inline int on_enter(const char *path, u32 flags)
{
    u64 id = bpf_get_current_pid_tgid();
{% if pid is not none %}
    if ((id >> 32) != {{ pid }})
        return 0;
{% endif %}
{% if tid is not none %}
    if ((u32)id != {{ tid }})
        return 0;
{% endif %}
{% if uid is not none %}
    if ((u32)bpf_get_current_uid_gid() != {{ uid }}U)
        return 0;
{% endif %}
{% if flags is not none %}
    if ((flags & {{ flags }}U) != {{ flags }}U)
        return 0;
{% endif %}
{% if comm %}
    if (!fleet_current_comm_is(wanted_comm))
        return 0;
{% endif %}
{% if name %}
    char comm[16] = {};
    bpf_get_current_comm(&comm, sizeof(comm));
    if (!fleet_comm_has(comm, wanted_name))
        return 0;
{% endif %}
    struct start s = {.ts = bpf_ktime_get_ns(), .path = path, .flags = flags};
    starts.update(&id, &s);
    return 0;
}

static __always_inline int on_exit(void *ctx, long ret)
{
    u64 id = bpf_get_current_pid_tgid();
    struct start *s = starts.lookup(&id);
    if (!s)
        return 0;
    struct start st = *s;
    starts.delete(&id);
{% if failed_only %}
    if (ret >= 0)
        return 0;
{% endif %}
    int zero = 0;
    struct event *ev = scratch.lookup(&zero);
    if (!ev)
        return 0;
    ev->ts = bpf_ktime_get_ns();
    ev->lat_ns = ev->ts - st.ts;
    ev->pid = id >> 32;
    ev->tid = id;
    ev->uid = bpf_get_current_uid_gid();
    ev->ret = ret;
    ev->flags = ev->open_flags = st.flags;
    bpf_get_current_comm(&ev->comm, sizeof(ev->comm));
    if (bpf_probe_read_user_str(&ev->path, sizeof(ev->path), st.path) < 0)
        ev->path[0] = 0;
    events.perf_submit(ctx, ev, sizeof(*ev));
    return 0;
}

TRACEPOINT_PROBE(syscalls, sys_enter_openat)
{
    return on_enter(args->filename, args->flags);
}

TRACEPOINT_PROBE(syscalls, sys_exit_openat)
{
    return on_exit(args, args->ret);
}

#ifdef FLEET_USE_tracepoint__syscalls__sys_enter_open
TRACEPOINT_PROBE(syscalls, sys_enter_open)
{
    return on_enter(args->filename, args->flags);
}
#endif

#ifdef FLEET_USE_tracepoint__syscalls__sys_exit_open
TRACEPOINT_PROBE(syscalls, sys_exit_open)
{
    return on_exit(args, args->ret);
}
#endif

#ifdef FLEET_USE_tracepoint__syscalls__sys_enter_openat2
TRACEPOINT_PROBE(syscalls, sys_enter_openat2)
{
    u64 flags = 0;
    bpf_probe_read_user(&flags, sizeof(flags), args->how);  /* open_how.flags */
    return on_enter(args->filename, flags);
}
#endif

#ifdef FLEET_USE_tracepoint__syscalls__sys_exit_openat2
TRACEPOINT_PROBE(syscalls, sys_exit_openat2)
{
    return on_exit(args, args->ret);
}
#endif
