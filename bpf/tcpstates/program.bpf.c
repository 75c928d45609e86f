/*
 * tcpstates: every TCP state change, from sock:inet_sock_set_state, with the
 * time the socket spent in its previous state (0 for the first change seen).
 * pid and comm are the task running at the change: a process for connect(),
 * listen() and close(), often another task or the idle task (pid 0) for
 * changes driven by incoming packets in softirq.
 */
#include <fleet.h>

struct event {
    u64 ts;
    u64 sk;
    u64 ms;
    u32 pid;
    u16 lport;
    u16 rport;
    u8 laddr[16];
    u8 raddr[16];
    u8 ipver;
    char old[16];
    char new[16];
    char comm[16];
};

BPF_HASH(last, u64, u64, 10240);
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
    struct event ev = {.sk = sk};
    ev.ts = bpf_ktime_get_ns();
    u64 *before = last.lookup(&sk);
    ev.ms = before ? (ev.ts - *before) / 1000000 : 0;
    if (args->newstate == FLEET_TCP_CLOSE)
        last.delete(&sk);
    else
        last.update(&sk, &ev.ts);
    ev.pid = bpf_get_current_pid_tgid() >> 32;
    bpf_get_current_comm(&ev.comm, sizeof(ev.comm));
    ev.ipver = fleet_copy_addrs(ev.laddr, ev.raddr, args->family, args->saddr,
                                args->daddr, args->saddr_v6, args->daddr_v6);
    ev.lport = args->sport;
    ev.rport = args->dport;
    fleet_tcp_state_name(args->oldstate, ev.old);
    fleet_tcp_state_name(args->newstate, ev.new);
    events.perf_submit(args, &ev, sizeof(ev));
    return 0;
}
