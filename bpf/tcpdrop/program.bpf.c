/*
 * tcpdrop: TCP packets the kernel dropped. skb:kfree_skb fires for every
 * freed packet that was not consumed, with a reason (NO_SOCKET, TCP_CSUM,
 * ...) and the kernel address that freed it; packets that are IP and TCP are
 * kept. The headers are read at skb->head + network_header/transport_header
 * (offsets from the host's BTF: without BTF the job has no addresses to show
 * and sends nothing). On kernels before the reason existed, tcp_drop() is
 * probed instead (reason 0).
 */
#include <uapi/linux/ptrace.h>
#include <fleet.h>

struct event {
    u64 ts;
    u64 location;
    u32 reason;
    u16 sport;
    u16 dport;
    u8 saddr[16];
    u8 daddr[16];
    u8 ipver;
    u8 flags;          /* the TCP header's flag bits; the agent names them */
};

BPF_PERF_OUTPUT(events);

#ifdef FLEET_BTF
/* Fill the event from the packet's IP and TCP headers; 0 if it is not TCP/IP. */
static __always_inline int read_headers(struct event *ev, char *skb)
{
    char *head = NULL;
    u16 network = 0, transport = 0;
    u8 version = 0, proto = 0, tcp_flags = 0;
    u16 ports[2] = {};

    bpf_probe_read_kernel(&head, sizeof(head), skb + FLEET_OFF_sk_buff__head);
    bpf_probe_read_kernel(&network, sizeof(network),
                          skb + FLEET_OFF_sk_buff__network_header);
    bpf_probe_read_kernel(&transport, sizeof(transport),
                          skb + FLEET_OFF_sk_buff__transport_header);
    if (!head || network == 0xffff || transport == 0xffff)
        return 0;
    char *ip = head + network;
    bpf_probe_read_kernel(&version, 1, ip);
    version >>= 4;
    if (version == 4) {
        bpf_probe_read_kernel(&proto, 1, ip + 9);
        ev->saddr[10] = ev->saddr[11] = 0xff;
        ev->daddr[10] = ev->daddr[11] = 0xff;
        bpf_probe_read_kernel(&ev->saddr[12], 4, ip + 12);
        bpf_probe_read_kernel(&ev->daddr[12], 4, ip + 16);
    } else if (version == 6) {
        bpf_probe_read_kernel(&proto, 1, ip + 6);
        bpf_probe_read_kernel(&ev->saddr, 16, ip + 8);
        bpf_probe_read_kernel(&ev->daddr, 16, ip + 24);
    } else {
        return 0;
    }
    if (proto != FLEET_IPPROTO_TCP)
        return 0;
    char *tcp = head + transport;
    bpf_probe_read_kernel(&ports, sizeof(ports), tcp);
    bpf_probe_read_kernel(&tcp_flags, 1, tcp + 13);
    ev->ipver = version;
    ev->sport = __builtin_bswap16(ports[0]);
    ev->dport = __builtin_bswap16(ports[1]);
    ev->flags = tcp_flags;
{% if port is not none %}
    if (ev->sport != {{ port }} && ev->dport != {{ port }})
        return 0;
{% endif %}
    return 1;
}
#endif

static __always_inline int report(void *ctx, void *skb, u64 location, u32 reason)
{
#ifdef FLEET_BTF
    struct event ev = {.location = location, .reason = reason};
    if (!read_headers(&ev, skb))
        return 0;
    ev.ts = bpf_ktime_get_ns();
    events.perf_submit(ctx, &ev, sizeof(ev));
#endif
    return 0;
}

#ifdef FLEET_USE_tracepoint__skb__kfree_skb
/* The tracepoint's reason field has this kernel enum type; without headers it
 * is declared here (an int-sized enum), so BCC's generated struct compiles. */
enum skb_drop_reason { FLEET_SKB_DROP_REASON = 0 };

int on_kfree_skb(struct tracepoint__skb__kfree_skb *args)
{
    if (args->protocol != FLEET_ETH_P_IP && args->protocol != FLEET_ETH_P_IPV6)
        return 0;
    return report(args, args->skbaddr, (u64)args->location, args->reason);
}
#endif

#ifdef FLEET_USE_kprobe__tcp_drop
int on_tcp_drop(struct pt_regs *ctx)
{
    return report(ctx, (void *)PT_REGS_PARM2(ctx), PT_REGS_IP(ctx), 0);
}
#endif
