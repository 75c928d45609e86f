/*
 * tcpretrans: one event per TCP retransmission, from the tcp tracepoints
 * (segments of full sockets, and SYN-ACKs of pending connection requests).
 * Retransmissions run from timers and softirqs, so no process is recorded.
 * Addresses travel as 16 bytes: IPv4 as IPv4-mapped IPv6 (::ffff:a.b.c.d).
 */

#include <fleet.h>

struct event {
    u64 ts;
    u8 saddr[16];
    u8 daddr[16];
    u16 sport;
    u16 dport;
    u8 ipver;
    char state[16];
};

BPF_PERF_OUTPUT(events);

static __always_inline int wanted_ports(u16 sport, u16 dport)
{
{% if port is not none %}
    return sport == {{ port }} || dport == {{ port }};
{% else %}
    return 1;
{% endif %}
}

TRACEPOINT_PROBE(tcp, tcp_retransmit_skb)
{
    if (!wanted_ports(args->sport, args->dport))
        return 0;
    struct event ev = {};
    ev.ipver = fleet_copy_addrs(ev.saddr, ev.daddr, args->family, args->saddr,
                                args->daddr, args->saddr_v6, args->daddr_v6);
    if (!ev.ipver)
        return 0;
    ev.ts = bpf_ktime_get_ns();
    ev.sport = args->sport;
    ev.dport = args->dport;
    fleet_tcp_state_name(args->state, ev.state);
    events.perf_submit(args, &ev, sizeof(ev));
    return 0;
}

#ifdef FLEET_USE_tracepoint__tcp__tcp_retransmit_synack
/* A listener resending the SYN-ACK of a connection request (state SYN_RECV). */
TRACEPOINT_PROBE(tcp, tcp_retransmit_synack)
{
    if (!wanted_ports(args->sport, args->dport))
        return 0;
    struct event ev = {};
    ev.ipver = fleet_copy_addrs(ev.saddr, ev.daddr, args->family, args->saddr,
                                args->daddr, args->saddr_v6, args->daddr_v6);
    if (!ev.ipver)
        return 0;
    ev.ts = bpf_ktime_get_ns();
    ev.sport = args->sport;
    ev.dport = args->dport;
    fleet_tcp_state_name(FLEET_TCP_SYN_RECV, ev.state);
    events.perf_submit(args, &ev, sizeof(ev));
    return 0;
}
#endif
