/*
 * execsnoop: one event per execve()/execveat(). The path and arguments are
 * copied from user memory when the call enters (they are gone once a
 * successful exec replaced the address space); the event is sent when the
 * call returns, with the process name it has then and the return value.
 * Tracepoint fields and helpers only; the parent's pid comes from BTF
 * offsets when the host has BTF, else it is 0.
 */

#include <fleet.h>

#define ARGS_SIZE 256   /* the args field, NUL included; a power of two */
#define MAX_ARGS {{ max_args }}     /* the path plus argv[1..MAX_ARGS-1] */

struct event {
    u64 ts;
    u32 pid;
    u32 ppid;
    u32 uid;
    s32 ret;
    u32 truncated;      /* 1 when arguments were left out or cut */
    char comm[16];
    char args[ARGS_SIZE];
};

/*
 * Each argument is read with a fixed bound (ARGS_SIZE) at a variable offset;
 * the spill area behind the event gives the verifier that room, and whatever
 * lands there is cut off (the event is flagged truncated).
 */
struct work {
    struct event ev;
    char spill[ARGS_SIZE];
};

BPF_PERCPU_ARRAY(scratch, struct work, 1);
BPF_HASH(pending, u32, struct event, 4096);   /* by tgid, enter -> exit */
BPF_PERF_OUTPUT(events);

{% if comm %}
static const char wanted_comm[] = {{ comm | c_chars }};
{% endif %}
{% if name %}
static const char wanted_name[] = {{ name | c_chars }};
{% endif %}
{% if args_contain %}
static const char needle[] = {{ args_contain | c_chars }};
#define NEEDLE_LEN {{ args_contain | c_len }}
{% endif %}

/* Append one user string and a space; returns 0 when there is no more room. */
static __always_inline int append_arg(struct event *ev, u32 *off, const char *src)
{
    u32 o = *off;
    if (o >= ARGS_SIZE - 1) {
        ev->truncated = 1;
        return 0;
    }
    int len = bpf_probe_read_user_str(&ev->args[o & (ARGS_SIZE - 1)], ARGS_SIZE, src);
    if (len <= 0)
        return 0;
    o += len;
    if (o > ARGS_SIZE || len == ARGS_SIZE) {   /* ran into the spill area: cut */
        ev->truncated = 1;
        *off = ARGS_SIZE;
        return 0;
    }
    ev->args[(o - 1) & (ARGS_SIZE - 1)] = ' ';
    *off = o;
    return 1;
}

{% if args_contain %}
/* Substring search in the kernel: the needle's bytes are constants. */
static __always_inline int args_match(const struct event *ev)
{
    for (u32 i = 0; i < ARGS_SIZE - NEEDLE_LEN; i++) {
        int hit = 1;
        #pragma unroll
        for (int j = 0; j < NEEDLE_LEN; j++) {
            if (ev->args[(i + j) & (ARGS_SIZE - 1)] != needle[j]) {
                hit = 0;
                break;
            }
        }
        if (hit)
            return 1;
        if (ev->args[i & (ARGS_SIZE - 1)] == 0)
            return 0;
    }
    return 0;
}
{% endif %}

static __always_inline int on_enter(const char *filename, const char *const *argv)
{
    u32 uid = bpf_get_current_uid_gid();
{% if uid is not none %}
    if (uid != {{ uid }}U)
        return 0;
{% endif %}
{% if user %}
    if (uid != FLEET_UID_USER)
        return 0;
{% endif %}
    int zero = 0;
    struct work *w = scratch.lookup(&zero);
    if (!w)
        return 0;
    struct event *ev = &w->ev;
    __builtin_memset(ev, 0, sizeof(*ev));
    ev->uid = uid;
    u32 off = 0;
    if (append_arg(ev, &off, filename)) {
        #pragma unroll
        for (int i = 1; i <= MAX_ARGS; i++) {
            const char *arg = NULL;
            if (bpf_probe_read_user(&arg, sizeof(arg), &argv[i]) || !arg)
                break;
            if (i == MAX_ARGS) {        /* one more than we copy */
                ev->truncated = 1;
                break;
            }
            if (!append_arg(ev, &off, arg))
                break;
        }
    }
    if (off > 0)
        ev->args[(off - 1) & (ARGS_SIZE - 1)] = 0;   /* drop the last space */
{% if args_contain %}
    if (!args_match(ev))
        return 0;
{% endif %}
    u32 tgid = bpf_get_current_pid_tgid() >> 32;
    pending.update(&tgid, ev);
    return 0;
}

static __always_inline u32 parent_tgid(void)
{
#ifdef FLEET_BTF
    return fleet_parent_tgid();
#else
    return 0;
#endif
}

static __always_inline int on_exit(void *ctx, long ret)
{
    u32 tgid = bpf_get_current_pid_tgid() >> 32;
    struct event *ev = pending.lookup(&tgid);
    if (!ev)
        return 0;
{% if failed_only %}
    if (ret >= 0) {
        pending.delete(&tgid);
        return 0;
    }
{% endif %}
    ev->ts = bpf_ktime_get_ns();
    ev->pid = tgid;
    ev->ret = ret;
    ev->ppid = parent_tgid();
{% if ppid is not none %}
    if (ev->ppid != {{ ppid }}) {
        pending.delete(&tgid);
        return 0;
    }
{% endif %}
    bpf_get_current_comm(&ev->comm, sizeof(ev->comm));
{% if comm %}
    if (!fleet_comm_is(ev->comm, wanted_comm)) {
        pending.delete(&tgid);
        return 0;
    }
{% endif %}
{% if name %}
    if (!fleet_comm_has(ev->comm, wanted_name)) {
        pending.delete(&tgid);
        return 0;
    }
{% endif %}
    events.perf_submit(ctx, ev, sizeof(*ev));
    pending.delete(&tgid);
    return 0;
}

TRACEPOINT_PROBE(syscalls, sys_enter_execve)
{
    return on_enter(args->filename, args->argv);
}

TRACEPOINT_PROBE(syscalls, sys_exit_execve)
{
    return on_exit(args, args->ret);
}

#ifdef FLEET_USE_tracepoint__syscalls__sys_enter_execveat
TRACEPOINT_PROBE(syscalls, sys_enter_execveat)
{
    return on_enter(args->filename, args->argv);
}
#endif

#ifdef FLEET_USE_tracepoint__syscalls__sys_exit_execveat
TRACEPOINT_PROBE(syscalls, sys_exit_execveat)
{
    return on_exit(args, args->ret);
}
#endif
