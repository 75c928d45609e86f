/*
 * tcplife: one event per TCP session when its socket reaches CLOSE, from
 * sock:inet_sock_set_state. The session's birth is its first move to
 * SYN_SENT, SYN_RECV or ESTABLISHED; its process is taken where a process
 * drives the socket: connect() (SYN_SENT) or close() (FIN_WAIT1, LAST_ACK).
 * Bytes come from the socket's tcp_sock counters (bytes_acked: sent and
 * acknowledged; bytes_received), at offsets from the host's BTF; 0 without.
 */
#include <fleet.h>

struct who {
    u32 pid;
    char comm[16];
};

struct event {
    u64 ts;
    u64 span_ms;
    u64 tx_bytes;
    u64 rx_bytes;
    u32 pid;
    u16 lport;
    u16 rport;
    u8 laddr[16];
    u8 raddr[16];
    u8 ipver;
    char comm[16];
};

BPF_HASH(birth, u64, u64, 10240);
BPF_HASH(owner, u64, struct who, 10240);
BPF_PERF_OUTPUT(events);

TRACEPOINT_PROBE(sock, inet_sock_set_state)
{
    if (args->protocol != FLEET_IPPROTO_TCP)
        return 0;
{% if local_port is not none %}
    if (args->sport != {{ local_port }})
        return 0;
{% endif %}
{% if remote_port is not none %}
    if (args->dport != {{ remote_port }})
        return 0;
{% endif %}
    u64 sk = (u64)args->skaddr;
    int state = args->newstate;
    if (state < FLEET_TCP_FIN_WAIT1 && !birth.lookup(&sk)) {
        u64 ts = bpf_ktime_get_ns();
        birth.update(&sk, &ts);
    }
    u32 pid = bpf_get_current_pid_tgid() >> 32;
    if (pid && (state == FLEET_TCP_SYN_SENT || state == FLEET_TCP_FIN_WAIT1 ||
                state == FLEET_TCP_LAST_ACK)) {
        struct who w = {.pid = pid};
        bpf_get_current_comm(&w.comm, sizeof(w.comm));
        owner.update(&sk, &w);
    }
    if (state != FLEET_TCP_CLOSE)
        return 0;
    u64 *born = birth.lookup(&sk);
    if (!born)
        return 0;
    struct event ev = {};
    ev.ts = bpf_ktime_get_ns();
    ev.span_ms = (ev.ts - *born) / 1000000;
    birth.delete(&sk);
    struct who *w = owner.lookup(&sk);
    if (w) {
        ev.pid = w->pid;
        __builtin_memcpy(&ev.comm, w->comm, sizeof(ev.comm));
        owner.delete(&sk);
    }
{% if pid is not none %}
    if (ev.pid != {{ pid }})
        return 0;
{% endif %}
    ev.ipver = fleet_copy_addrs(ev.laddr, ev.raddr, args->family, args->saddr,
                                args->daddr, args->saddr_v6, args->daddr_v6);
    if (!ev.ipver)
        return 0;
    ev.lport = args->sport;
    ev.rport = args->dport;
#ifdef FLEET_BTF
    bpf_probe_read_kernel(&ev.rx_bytes, sizeof(ev.rx_bytes),
                          (char *)sk + FLEET_OFF_tcp_sock__bytes_received);
    bpf_probe_read_kernel(&ev.tx_bytes, sizeof(ev.tx_bytes),
                          (char *)sk + FLEET_OFF_tcp_sock__bytes_acked);
#endif
    events.perf_submit(args, &ev, sizeof(ev));
    return 0;
}
