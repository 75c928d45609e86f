/*
 * tcpconnect: one event per active TCP open, from sock:inet_sock_set_state.
 * CLOSE -> SYN_SENT runs inside connect(), so the process is recorded there,
 * keyed by the socket's address; the event is sent when the handshake ends:
 * ESTABLISHED (refused = 0) or CLOSE (refused = 1: reset, timeout or abort).
 * Addresses are read at the end, when the source port is bound.
 * Addresses travel as 16 bytes: IPv4 as IPv4-mapped IPv6 (::ffff:a.b.c.d).
 */

#include <fleet.h>

struct attempt {
    u64 start;
    u32 pid;
    u32 uid;
    char comm[16];
};

struct event {
    u64 ts;
    u64 lat_us;
    u32 pid;
    u32 uid;
    u16 sport;
    u16 dport;
    u8 saddr[16];
    u8 daddr[16];
    u8 ipver;
    u8 refused;
    char comm[16];
};

BPF_HASH(attempts, u64, struct attempt, 10240);
{% if count %}
struct count_key {
    u8 saddr[16];
    u8 daddr[16];
    u16 dport;
};
BPF_HASH(counts, struct count_key, u64, 10240);
{% else %}
BPF_PERF_OUTPUT(events);
{% endif %}
{% if ports %}
static const u16 wanted_ports[] = {{ ports | c_ints }};
{% endif %}

/* connect() moved the socket to SYN_SENT: remember who, and when. */
static __always_inline void note_attempt(u64 sk, u16 dport)
{
    u32 pid = bpf_get_current_pid_tgid() >> 32;
{% if port is not none %}
    if (dport != {{ port }})
        return;
{% endif %}
{% if ports %}
    int listed = 0;
#pragma unroll
    for (int i = 0; i < sizeof(wanted_ports) / sizeof(wanted_ports[0]); i++)
        listed |= dport == wanted_ports[i];
    if (!listed)
        return;
{% endif %}
{% if pid is not none %}
    if (pid != {{ pid }})
        return;
{% endif %}
    u32 uid = bpf_get_current_uid_gid();
{% if uid is not none %}
    if (uid != {{ uid }}U)
        return;
{% endif %}
    struct attempt a = {.start = bpf_ktime_get_ns(), .pid = pid, .uid = uid};
    bpf_get_current_comm(&a.comm, sizeof(a.comm));
    attempts.update(&sk, &a);
}

TRACEPOINT_PROBE(sock, inet_sock_set_state)
{
    if (args->protocol != FLEET_IPPROTO_TCP)
        return 0;
    u64 sk = (u64)args->skaddr;
    if (args->newstate == FLEET_TCP_SYN_SENT) {
        note_attempt(sk, args->dport);
        return 0;
    }
    /* SYN_RECV covers a simultaneous open after SYN_SENT. */
    if (args->oldstate != FLEET_TCP_SYN_SENT && args->oldstate != FLEET_TCP_SYN_RECV)
        return 0;
    if (args->newstate != FLEET_TCP_ESTABLISHED && args->newstate != FLEET_TCP_CLOSE)
        return 0;
    struct attempt *a = attempts.lookup(&sk);
    if (!a)
        return 0;
    struct event ev = {};
    ev.ts = bpf_ktime_get_ns();
    ev.lat_us = (ev.ts - a->start) / 1000;
    ev.pid = a->pid;
    ev.uid = a->uid;
    __builtin_memcpy(&ev.comm, a->comm, sizeof(ev.comm));
    attempts.delete(&sk);
    ev.ipver = fleet_copy_addrs(ev.saddr, ev.daddr, args->family, args->saddr,
                                args->daddr, args->saddr_v6, args->daddr_v6);
    if (!ev.ipver)
        return 0;
    ev.sport = args->sport;
    ev.dport = args->dport;
    ev.refused = args->newstate == FLEET_TCP_CLOSE;
{% if count %}
    struct count_key key = {.dport = ev.dport};
    __builtin_memcpy(&key.saddr, ev.saddr, sizeof(key.saddr));
    __builtin_memcpy(&key.daddr, ev.daddr, sizeof(key.daddr));
    counts.increment(key);
{% else %}
    events.perf_submit(args, &ev, sizeof(ev));
{% endif %}
    return 0;
}
