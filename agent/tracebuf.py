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

LINE = re.compile(
    r"^\s*(?P<task>.+?)-(?P<pid>\d+)\s+\[\d+\]\s+\S+\s+(?P<ts>\d+\.\d+):"
    r" (?P<event>\w+): (?P<msg>.*)$"
)


def prelude(tag):
    """C to put before the job's source: printk formats gain the tag."""
    return (
        '#define bpf_trace_printk(fmt, ...) ({ char _fleet_fmt[] = "%s " fmt; '
        "bpf_trace_printk_(_fleet_fmt, sizeof(_fleet_fmt), ##__VA_ARGS__); })\n" % tag
    )


class TraceBuffer:
    """Marks the window in the kernel trace buffer and reads this job's lines back."""

    def __init__(self, tag):
        self.tag = tag
        self.start_wall = None
        self.overruns = 0

    def expand(self):
        """Give the trace buffer its full size if the kernel still has it minimal.

        Until tracing is first used the kernel keeps a tiny buffer (``7
        (expanded: 1408)``): a busy printk program would overwrite its own
        lines, window markers included, before the agent reads them.
        """
        path = os.path.join(facts.tracefs_dir(), "buffer_size_kb")
        try:
            with open(path) as f:
                match = re.search(r"expanded:\s*(\d+)", f.read())
            if match:
                with open(path, "w") as f:
                    f.write(match.group(1))
        except OSError:
            pass

    def _overrun_total(self):
        """Lines the kernel overwrote so far, summed over CPUs (all programs)."""
        total = 0
        base = os.path.join(facts.tracefs_dir(), "per_cpu")
        try:
            cpus = os.listdir(base)
        except OSError:
            return 0
        for cpu in cpus:
            try:
                with open(os.path.join(base, cpu, "stats")) as f:
                    match = re.search(r"^overrun:\s*(\d+)", f.read(), re.M)
                total += int(match.group(1)) if match else 0
            except OSError:
                continue
        return total

    def _mark(self, what):
        base = facts.tracefs_dir()
        with open(os.path.join(base, "trace_marker"), "w") as f:
            f.write("fleet-%s-%s\n" % (self.tag, what))

    def open(self):
        """Window opens: mark it, remembering the wall clock of the mark."""
        self.start_wall = time.time_ns()
        self._overrun_start = self._overrun_total()
        self._mark("start")

    def close(self):
        """Window closes: mark it; count lines the kernel overwrote meanwhile."""
        self._mark("end")
        self.overruns = max(self._overrun_total() - self._overrun_start, 0)

    def lines(self):
        """This job's lines between the marks: {ts_ns, comm, pid, message}."""
        base = facts.tracefs_dir()
        start_ts, found = None, []
        self.saw_start = False
        with open(os.path.join(base, "trace"), errors="replace") as f:
            for raw in f:
                match = LINE.match(raw.rstrip("\n"))
                if not match:
                    continue
                msg, ts = match.group("msg"), float(match.group("ts"))
                if msg == "fleet-%s-start" % self.tag:
                    start_ts, found, self.saw_start = ts, [], True
                elif msg == "fleet-%s-end" % self.tag and start_ts is not None:
                    break
                elif start_ts is not None and msg.startswith(self.tag + " "):
                    found.append(
                        {
                            "ts_ns": self.start_wall + int((ts - start_ts) * 1e9),
                            "comm": match.group("task").strip(),
                            "pid": int(match.group("pid")),
                            "message": msg[len(self.tag) + 1 :],
                        }
                    )
        return found
