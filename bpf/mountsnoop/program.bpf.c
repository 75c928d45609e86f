/*
 * mountsnoop: mount(2), umount(2) and the new mount API (fsopen, fsmount,
 * move_mount) from the syscall tracepoints. Strings are copied from user
 * memory when the call enters; the event is sent when it returns.
 */
#define STR 64

enum call_kind { MOUNT = 1, UMOUNT, FSOPEN, FSMOUNT, MOVE_MOUNT };

struct event {
    u64 ts;
    u64 flags;
    u32 pid;
    u32 kind;
    s32 ret;
    char comm[16];
    char call[12];
    char fstype[16];
    char source[STR];
    char target[STR];
};

BPF_HASH(calls, u64, struct event, 1024);
BPF_PERCPU_ARRAY(scratch, struct event, 1);
BPF_PERF_OUTPUT(events);

static __always_inline struct event *start(u32 kind, u64 flags)
{
    u64 id = bpf_get_current_pid_tgid();
{% if pid is not none %}
    if ((id >> 32) != {{ pid }})
        return NULL;
{% endif %}
    int zero = 0;
    struct event *ev = scratch.lookup(&zero);
    if (!ev)
        return NULL;
    __builtin_memset(ev, 0, sizeof(*ev));
    ev->pid = id >> 32;
    ev->kind = kind;
    ev->flags = flags;
    switch (kind) {
    case MOUNT: __builtin_memcpy(ev->call, "mount", 6); break;
    case UMOUNT: __builtin_memcpy(ev->call, "umount", 7); break;
    case FSOPEN: __builtin_memcpy(ev->call, "fsopen", 7); break;
    case FSMOUNT: __builtin_memcpy(ev->call, "fsmount", 8); break;
    default: __builtin_memcpy(ev->call, "move_mount", 11); break;
    }
    return ev;
}

static __always_inline int keep(struct event *ev)
{
    u64 id = bpf_get_current_pid_tgid();
    calls.update(&id, ev);
    return 0;
}

static __always_inline int done(void *ctx, long ret)
{
    u64 id = bpf_get_current_pid_tgid();
    struct event *ev = calls.lookup(&id);
    if (!ev)
        return 0;
{% if failed_only %}
    if (ret >= 0) {
        calls.delete(&id);
        return 0;
    }
{% endif %}
    ev->ts = bpf_ktime_get_ns();
    ev->ret = ret;
    bpf_get_current_comm(&ev->comm, sizeof(ev->comm));
    events.perf_submit(ctx, ev, sizeof(*ev));
    calls.delete(&id);
    return 0;
}

TRACEPOINT_PROBE(syscalls, sys_enter_mount)
{
    struct event *ev = start(MOUNT, args->flags);
    if (!ev)
        return 0;
    bpf_probe_read_user_str(ev->source, sizeof(ev->source), args->dev_name);
    bpf_probe_read_user_str(ev->target, sizeof(ev->target), args->dir_name);
    bpf_probe_read_user_str(ev->fstype, sizeof(ev->fstype), args->type);
    return keep(ev);
}
TRACEPOINT_PROBE(syscalls, sys_exit_mount) { return done(args, args->ret); }

TRACEPOINT_PROBE(syscalls, sys_enter_umount)
{
    struct event *ev = start(UMOUNT, args->flags);
    if (!ev)
        return 0;
    bpf_probe_read_user_str(ev->target, sizeof(ev->target), args->name);
    return keep(ev);
}
TRACEPOINT_PROBE(syscalls, sys_exit_umount) { return done(args, args->ret); }

#ifdef FLEET_USE_tracepoint__syscalls__sys_enter_fsopen
TRACEPOINT_PROBE(syscalls, sys_enter_fsopen)
{
    struct event *ev = start(FSOPEN, args->flags);
    if (!ev)
        return 0;
    bpf_probe_read_user_str(ev->fstype, sizeof(ev->fstype), args->_fs_name);
    return keep(ev);
}
#endif
#ifdef FLEET_USE_tracepoint__syscalls__sys_exit_fsopen
TRACEPOINT_PROBE(syscalls, sys_exit_fsopen) { return done(args, args->ret); }
#endif
#ifdef FLEET_USE_tracepoint__syscalls__sys_enter_fsmount
TRACEPOINT_PROBE(syscalls, sys_enter_fsmount)
{
    struct event *ev = start(FSMOUNT, args->flags);
    return ev ? keep(ev) : 0;
}
#endif
#ifdef FLEET_USE_tracepoint__syscalls__sys_exit_fsmount
TRACEPOINT_PROBE(syscalls, sys_exit_fsmount) { return done(args, args->ret); }
#endif
#ifdef FLEET_USE_tracepoint__syscalls__sys_enter_move_mount
TRACEPOINT_PROBE(syscalls, sys_enter_move_mount)
{
    struct event *ev = start(MOVE_MOUNT, args->flags);
    if (!ev)
        return 0;
    bpf_probe_read_user_str(ev->source, sizeof(ev->source), args->from_pathname);
    bpf_probe_read_user_str(ev->target, sizeof(ev->target), args->to_pathname);
    return keep(ev);
}
#endif
#ifdef FLEET_USE_tracepoint__syscalls__sys_exit_move_mount
TRACEPOINT_PROBE(syscalls, sys_exit_move_mount) { return done(args, args->ret); }
#endif
