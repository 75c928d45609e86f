"""Controller <-> agent protocol: JSON Lines messages, one object a line.

Stdlib only and Python >= 3.8: this file ships inside the agent bundle, so the
controller and the agent always agree on the shapes below. Every message has
``"v"`` (protocol version) and ``"type"``.

controller -> agent
    plan   {jobs: [job plan], duration_s, ready_timeout_s, grace_s, cache_dir}
    start  {start_at_ns}        wall-clock ns at which every host opens its window
    stop   {}                   end the window now (Ctrl-C), then report and exit

agent -> controller
    hello   {agent, facts}      facts: kernel, btf, bcc, headers, kprobes, python
    ready   {job, attach, compile_s}          one per job that compiled and attached
    error   {job|None, outcome, reason}       outcome names the failure kind
    started {window: {start_ns}}
    events  {job, output, events: [...], lost}  a batch, sorted by ts_ns
    hist    {job, output, slots: {label: [counts]}, intervals?: [{label: [counts]}]}
            intervals: one read per interval when the output has ``interval``
    table   {job, output, rows: [{key, value}]}
    done    {window: {start_ns, end_ns}, peak_rss_kb, compile_s, missed}
            missed: {job: runs of its programs the kernel skipped in the window}
"""

import json

VERSION = 1

TO_AGENT = ("plan", "start", "stop")
FROM_AGENT = ("hello", "ready", "error", "started", "events", "hist", "table", "done")

# Per-host outcomes; "ok" plus every way a host can fail.
OUTCOMES = (
    "ok",
    "unreachable",
    "auth-failed",
    "host-key-failed",
    "become-failed",
    "cache-error",
    "no-bcc",
    "compile-error",
    "attach-error",
    "lost-events",
    "timeout",
    "connection-lost",
    "agent-crashed",
    "interrupted",
)


# Field decoders the agent knows (job.yaml ``decode: {field: decoder}``).
# usym needs a ``pid`` field beside its address (the process it belongs to).
DECODERS = ("disk", "ip", "ipv4", "ipv6", "ksym", "usym", "syscall", "signal",
            "capability", "softirq", "drop_reason", "tcp_flags", "open_flags")


class ProtocolError(Exception):
    """A line that is not a valid message of this protocol version."""


def message(kind, **fields):
    """Return a message dict of the given type with the protocol version set."""
    msg = {"v": VERSION, "type": kind}
    msg.update(fields)
    return msg


def encode(msg):
    """Serialise one message to a UTF-8 JSON line (bytes, newline-terminated)."""
    return (json.dumps(msg, separators=(",", ":"), ensure_ascii=False) + "\n").encode()


def decode(line):
    """Parse one line into a message dict; raise ProtocolError if it is not one."""
    if isinstance(line, bytes):
        line = line.decode("utf-8", "replace")
    try:
        msg = json.loads(line)
    except ValueError:
        raise ProtocolError("not JSON: %r" % line[:200]) from None
    if not isinstance(msg, dict) or "type" not in msg:
        raise ProtocolError("not a message object: %r" % line[:200])
    if type(msg.get("v")) is not int or msg["v"] != VERSION:
        raise ProtocolError(
            "protocol version %r, expected %r" % (msg.get("v"), VERSION)
        )
    if msg["type"] not in TO_AGENT + FROM_AGENT:
        raise ProtocolError("unknown message type %r" % msg["type"])
    return msg
