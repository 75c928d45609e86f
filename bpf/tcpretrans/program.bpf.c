/*
 * tcpretrans: one event per TCP retransmission, from the tcp tracepoints
 * (segments of full sockets, and SYN-ACKs of pending connection requests).
 * Retransmissions run from timers and softirqs, so no process is recorded.
 * Addresses travel as 16 bytes: IPv4 as IPv4-mapped IPv6 (::ffff:a.b.c.d).
 */

#define FLEET_AF_INET 2
#define FLEET_AF_INET6 10

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

/* Copy the tracepoint's addresses for either family into 16-byte fields. */
static __always_inline int copy_addrs(struct event *ev, u16 family,
                                      const void *s4, const void *d4,
                                      const void *s6, const void *d6)
{
    if (family == FLEET_AF_INET) {
        ev->ipver = 4;
        ev->saddr[10] = ev->saddr[11] = 0xff;
        ev->daddr[10] = ev->daddr[11] = 0xff;
        bpf_probe_read_kernel(&ev->saddr[12], 4, s4);
        bpf_probe_read_kernel(&ev->daddr[12], 4, d4);
        return 1;
    }
    if (family == FLEET_AF_INET6) {
        ev->ipver = 6;
        bpf_probe_read_kernel(&ev->saddr, 16, s6);
        bpf_probe_read_kernel(&ev->daddr, 16, d6);
        return 1;
    }
    return 0;
}

/* The kernel's TCP state numbers (include/net/tcp_states.h) as text. */
static __always_inline void state_name(int state, char *out)
{
    switch (state) {
    case 1:  __builtin_memcpy(out, "ESTABLISHED", 12); break;
    case 2:  __builtin_memcpy(out, "SYN_SENT", 9); break;
    case 3:  __builtin_memcpy(out, "SYN_RECV", 9); break;
    case 4:  __builtin_memcpy(out, "FIN_WAIT1", 10); break;
    case 5:  __builtin_memcpy(out, "FIN_WAIT2", 10); break;
    case 6:  __builtin_memcpy(out, "TIME_WAIT", 10); break;
    case 7:  __builtin_memcpy(out, "CLOSE", 6); break;
    case 8:  __builtin_memcpy(out, "CLOSE_WAIT", 11); break;
    case 9:  __builtin_memcpy(out, "LAST_ACK", 9); break;
    case 10: __builtin_memcpy(out, "LISTEN", 7); break;
    case 11: __builtin_memcpy(out, "CLOSING", 8); break;
    case 12: __builtin_memcpy(out, "NEW_SYN_RECV", 13); break;
    default: __builtin_memcpy(out, "UNKNOWN", 8); break;
    }
}

TRACEPOINT_PROBE(tcp, tcp_retransmit_skb)
{
    if (!wanted_ports(args->sport, args->dport))
        return 0;
    struct event ev = {};
    if (!copy_addrs(&ev, args->family, args->saddr, args->daddr,
                    args->saddr_v6, args->daddr_v6))
        return 0;
    ev.ts = bpf_ktime_get_ns();
    ev.sport = args->sport;
    ev.dport = args->dport;
    state_name(args->state, ev.state);
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
    if (!copy_addrs(&ev, args->family, args->saddr, args->daddr,
                    args->saddr_v6, args->daddr_v6))
        return 0;
    ev.ts = bpf_ktime_get_ns();
    ev.sport = args->sport;
    ev.dport = args->dport;
    state_name(3, ev.state);
    events.perf_submit(args, &ev, sizeof(ev));
    return 0;
}
#endif
