/*
 * tcpaccept: one event per TCP connection a process accepts.
 *
 * A passive open ends with SYN_RECV -> ESTABLISHED on the new socket
 * (sock:inet_sock_set_state, softirq context): its addresses are kept, keyed
 * by the socket's address. When accept()/accept4() returns a descriptor in the
 * acceptor, the descriptor is walked to its socket with offsets from the
 * host's BTF (task->files->fdt->fd[fd]->private_data->sk) and the kept
 * addresses are sent with the acceptor's pid and comm.
 * Without BTF the event is sent at the handshake, with pid 0 and no comm.
 * Addresses travel as 16 bytes: IPv4 as IPv4-mapped IPv6 (::ffff:a.b.c.d).
 */

#include <fleet.h>

struct event {
    u64 ts;
    u32 pid;
    u16 lport;
    u16 rport;
    u8 laddr[16];
    u8 raddr[16];
    u8 ipver;
    char comm[16];
};

BPF_PERF_OUTPUT(events);

#ifdef FLEET_BTF
/* Handshakes done but not yet accepted; LRU so unaccepted ones age out. */
BPF_TABLE("lru_hash", u64, struct event, established, 10240);
#endif

TRACEPOINT_PROBE(sock, inet_sock_set_state)
{
    if (args->protocol != FLEET_IPPROTO_TCP)
        return 0;
#ifdef FLEET_BTF
    if (args->newstate == FLEET_TCP_CLOSE) {
        /* Closed before any accept (e.g. its listener closed): forget it, or
         * a later socket at the same address would inherit it. */
        u64 gone = (u64)args->skaddr;
        established.delete(&gone);
        return 0;
    }
#endif
    if (args->oldstate != FLEET_TCP_SYN_RECV || args->newstate != FLEET_TCP_ESTABLISHED)
        return 0;
{% if port is not none %}
    if (args->sport != {{ port }})
        return 0;
{% endif %}
    struct event ev = {};
    ev.ipver = fleet_copy_addrs(ev.laddr, ev.raddr, args->family, args->saddr,
                                args->daddr, args->saddr_v6, args->daddr_v6);
    if (!ev.ipver)
        return 0;
    ev.lport = args->sport;
    ev.rport = args->dport;
#ifdef FLEET_BTF
    u64 sk = (u64)args->skaddr;
    established.update(&sk, &ev);
#else
{% if pid is none %}
    ev.ts = bpf_ktime_get_ns();
    events.perf_submit(args, &ev, sizeof(ev));
{% endif %}
#endif
    return 0;
}

#ifdef FLEET_BTF
/* The struct sock behind descriptor fd of the current task, or 0. */
static __always_inline u64 fd_to_sock(long fd)
{
    char *file = fleet_fd_file(fd), *sock = 0;
    u64 sk = 0;

    if (!file)
        return 0;
    bpf_probe_read_kernel(&sock, sizeof(sock), file + FLEET_OFF_file__private_data);
    if (!sock)
        return 0;
    bpf_probe_read_kernel(&sk, sizeof(sk), sock + FLEET_OFF_socket__sk);
    return sk;
}

/* accept() returned a descriptor: pair it with its handshake. */
static __always_inline int accepted(void *ctx, long fd)
{
    if (fd < 0)
        return 0;
    u32 pid = bpf_get_current_pid_tgid() >> 32;
{% if pid is not none %}
    if (pid != {{ pid }})
        return 0;
{% endif %}
    u64 sk = fd_to_sock(fd);
    if (!sk)
        return 0;
    struct event *kept = established.lookup(&sk);
    if (!kept)
        return 0;
    struct event ev = *kept;
    established.delete(&sk);
    ev.ts = bpf_ktime_get_ns();
    ev.pid = pid;
    bpf_get_current_comm(&ev.comm, sizeof(ev.comm));
    events.perf_submit(ctx, &ev, sizeof(ev));
    return 0;
}

TRACEPOINT_PROBE(syscalls, sys_exit_accept4)
{
    return accepted(args, args->ret);
}

#ifdef FLEET_USE_tracepoint__syscalls__sys_exit_accept
TRACEPOINT_PROBE(syscalls, sys_exit_accept)
{
    return accepted(args, args->ret);
}
#endif
#endif
