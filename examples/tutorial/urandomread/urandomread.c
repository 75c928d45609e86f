/*
 * Lesson: urandomread -- who takes how many bytes of kernel randomness.
 *
 * What it shows: pairing a syscall's entry with its exit to learn its result
 * (the byte count), and a table keyed by a struct (command name, pid) that
 * the fleet sums per key over the hosts.
 *
 * Adapted: the tutorial traces the random:urandom_read tracepoint, which
 * this kernel no longer has. Counted here instead, per process (the command
 * name at the time of the call, and the pid):
 *   1. getrandom(2): the bytes it returned (sys_exit_getrandom's ret > 0),
 *      whatever its flags. This is how glibc, Python, OpenSSL, ... get
 *      randomness today.
 *   2. read(2) on a file descriptor that this program saw being opened as
 *      "/dev/urandom": the bytes each read returned. The path is read from
 *      user memory at sys_enter_open/openat (bpf_probe_read_user_str), the fd
 *      from the open's return value; close(2) forgets it. No kernel struct is
 *      read, so an fd is known only when it was opened while the probes were
 *      attached, by that exact path string, in that process: fds opened
 *      earlier, inherited over fork, made by dup/dup2/fcntl, opened through
 *      another path (a symlink, "urandom" relative to /dev, /dev/random,
 *      openat2) and reads by pread/readv are not counted.
 * There is no kprobe fallback: the tutorial's event has no kernel function
 * whose arguments could be read without kernel struct reads.
 */

struct proc_key {
    char comm[16];
    u32 pid;
};

struct fd_key {
    u32 tgid;
    u32 fd;
};

BPF_HASH(bytes, struct proc_key, u64, 10240);     /* the table: bytes per process */
BPF_HASH(urandom_fds, struct fd_key, u8, 10240);  /* fds known to be /dev/urandom */
BPF_HASH(opening, u64, u8, 10240);                /* threads opening /dev/urandom */
BPF_HASH(counting, u64, u8, 10240);               /* threads in a counted call */

static const char urandom_path[] = "/dev/urandom";

static __always_inline void begin_counted(void)
{
    u64 tid = bpf_get_current_pid_tgid();
    u8 yes = 1;
    counting.update(&tid, &yes);
}

static __always_inline void end_counted(long ret)
{
    u64 tid = bpf_get_current_pid_tgid();
    if (counting.lookup(&tid) == 0)
        return;
    counting.delete(&tid);
    if (ret <= 0)
        return;
    struct proc_key key = {};
    key.pid = tid >> 32;
    bpf_get_current_comm(&key.comm, sizeof(key.comm));
    u64 zero = 0;
    u64 *total = bytes.lookup_or_try_init(&key, &zero);
    if (total)
        __sync_fetch_and_add(total, (u64)ret);
}

/* getrandom(2) */

#ifdef FLEET_USE_tracepoint__syscalls__sys_enter_getrandom
TRACEPOINT_PROBE(syscalls, sys_enter_getrandom)
{
    begin_counted();
    return 0;
}
#endif
#ifdef FLEET_USE_tracepoint__syscalls__sys_exit_getrandom
TRACEPOINT_PROBE(syscalls, sys_exit_getrandom)
{
    end_counted(args->ret);
    return 0;
}
#endif

/* opening "/dev/urandom": remember the fd the open returns */

static __always_inline void open_begins(const char *filename)
{
    char path[sizeof(urandom_path)] = {};
    if (bpf_probe_read_user_str(path, sizeof(path), filename) != sizeof(urandom_path))
        return;                     /* shorter, longer or unreadable */
    #pragma unroll
    for (int i = 0; i < sizeof(urandom_path); i++) {
        if (path[i] != urandom_path[i])
            return;
    }
    u64 tid = bpf_get_current_pid_tgid();
    u8 yes = 1;
    opening.update(&tid, &yes);
}

static __always_inline void open_ends(long ret)
{
    u64 tid = bpf_get_current_pid_tgid();
    if (opening.lookup(&tid) == 0)
        return;
    opening.delete(&tid);
    if (ret < 0)
        return;
    struct fd_key key = {.tgid = tid >> 32, .fd = (u32)ret};
    u8 yes = 1;
    urandom_fds.update(&key, &yes);
}

#ifdef FLEET_USE_tracepoint__syscalls__sys_enter_openat
TRACEPOINT_PROBE(syscalls, sys_enter_openat)
{
    open_begins(args->filename);
    return 0;
}
#endif
#ifdef FLEET_USE_tracepoint__syscalls__sys_exit_openat
TRACEPOINT_PROBE(syscalls, sys_exit_openat)
{
    open_ends(args->ret);
    return 0;
}
#endif
#ifdef FLEET_USE_tracepoint__syscalls__sys_enter_open
TRACEPOINT_PROBE(syscalls, sys_enter_open)
{
    open_begins(args->filename);
    return 0;
}
#endif
#ifdef FLEET_USE_tracepoint__syscalls__sys_exit_open
TRACEPOINT_PROBE(syscalls, sys_exit_open)
{
    open_ends(args->ret);
    return 0;
}
#endif
#ifdef FLEET_USE_tracepoint__syscalls__sys_enter_close
TRACEPOINT_PROBE(syscalls, sys_enter_close)
{
    struct fd_key key = {.tgid = bpf_get_current_pid_tgid() >> 32, .fd = args->fd};
    urandom_fds.delete(&key);
    return 0;
}
#endif

/* read(2) on a known /dev/urandom fd */

#ifdef FLEET_USE_tracepoint__syscalls__sys_enter_read
TRACEPOINT_PROBE(syscalls, sys_enter_read)
{
    struct fd_key key = {.tgid = bpf_get_current_pid_tgid() >> 32, .fd = args->fd};
    if (urandom_fds.lookup(&key))
        begin_counted();
    return 0;
}
#endif
#ifdef FLEET_USE_tracepoint__syscalls__sys_exit_read
TRACEPOINT_PROBE(syscalls, sys_exit_read)
{
    end_counted(args->ret);
    return 0;
}
#endif
