"""bpf_trace_printk output for one job, safe beside every other program on the host.

The kernel's trace buffer is shared by every BPF program on a host, and
trace_pipe consumes what it reads (two readers steal each other's lines). So a
job's printk format strings get a tag unique to this agent, the agent writes
start/end markers into the buffer through trace_marker, and at the window's end
it reads the non-consuming ``trace`` file and keeps only its own tagged lines
between its markers.
"""

import os
import re
import time

from agent import facts

LINE = re.compile(r"^\s*(?P<task>.+?)-(?P<pid>\d+)\s+\[\d+\]\s+\S+\s+(?P<ts>\d+\.\d+):"
                  r" (?P<event>\w+): (?P<msg>.*)$")


def prelude(tag):
    """C to put before the job's source: printk formats gain the tag."""
    return (
        "#define bpf_trace_printk(fmt, ...) ({ char _fleet_fmt[] = \"%s \" fmt; "
        "bpf_trace_printk_(_fleet_fmt, sizeof(_fleet_fmt), ##__VA_ARGS__); })\n" % tag
    )


class TraceBuffer:
    """Marks the window in the kernel trace buffer and reads this job's lines back."""

    def __init__(self, tag):
        self.tag = tag
        self.start_wall = None

    def _mark(self, what):
        base = facts.tracefs_dir()
        with open(os.path.join(base, "trace_marker"), "w") as f:
            f.write("fleet-%s-%s\n" % (self.tag, what))

    def open(self):
        """Window opens: mark it, remembering the wall clock of the mark."""
        self.start_wall = time.time_ns()
        self._mark("start")

    def close(self):
        """Window closes: mark it."""
        self._mark("end")

    def lines(self):
        """This job's lines between the marks: {ts_ns, comm, pid, message}."""
        base = facts.tracefs_dir()
        start_ts, found = None, []
        with open(os.path.join(base, "trace"), errors="replace") as f:
            for raw in f:
                match = LINE.match(raw.rstrip("\n"))
                if not match:
                    continue
                msg, ts = match.group("msg"), float(match.group("ts"))
                if msg == "fleet-%s-start" % self.tag:
                    start_ts, found = ts, []
                elif msg == "fleet-%s-end" % self.tag:
                    break
                elif start_ts is not None and msg.startswith(self.tag + " "):
                    found.append({
                        "ts_ns": self.start_wall + int((ts - start_ts) * 1e9),
                        "comm": match.group("task").strip(),
                        "pid": int(match.group("pid")),
                        "message": msg[len(self.tag) + 1:],
                    })
        return found
