"""The agent's BPF backend: compile a job with BCC, attach it, detach it.

One ``BccJob`` per job of the plan. Each job compiles into its own BPF object
so that one job's failure never takes the others down. Attach-point choice
lives in ``agent.attach``, output reading in ``agent.outputs``.
"""

import os
import tempfile
import threading

from agent import btf, include, limits, probes, proginfo, tracebuf
from agent.attach import (  # noqa: F401  (re-exported: agent.backend's old surface)
    PERF_EVENTS,
    JobError,
    _kernel_symbol_exists,
    _raw_tp_exists,
    choose_points,
    point_label,
    point_unavailable,
    resolve_cflags,
    use_macro,
)
from agent.decode import disk_dev, plain, struct_dict  # noqa: F401  (re-exported)
from agent.names import as_str
from agent.outputs import OutputReader

JOB_SEQ = []  # jobs prepared in this agent, for unique printk tags
# Names this agent's lines in the host's shared trace buffer. Random, not the
# pid: the buffer outlives agents, and pids wrap (pid_max is often 32768), so a
# later agent with a reused pid would read an earlier agent's marked window.
AGENT_TAG = "fl%s" % os.urandom(5).hex()


class BccJob(OutputReader):
    """One job compiled and attached with BCC on this host."""

    def __init__(self, plan, decoders):
        self.plan = plan
        self.id = plan["id"]
        self.decoders = decoders
        self.bpf = None
        self.attach_report = []
        self.notes = []
        self.cache_dir = None
        self.trace = None
        self._ring = self._perf = False
        self.chosen, self.defines = [], []
        self.prefix = ""  # this job's name prefix inside a shared module
        self.shared = None  # [users] of a module shared with other jobs
        self.warm_pids = set()

    def prepare(self):
        """Choose attach points, compile, load and attach; raise JobError on failure."""
        self.plan_compile()
        usdt = [p for _, p in self.chosen if p["kind"] == "usdt"]
        try:
            contexts = probes.usdt_contexts(usdt) if usdt else []
        except Exception as err:  # bcc raises plain Exception
            raise JobError("attach-error", "usdt: %s" % err) from None
        cflags = ["-D%s=%s" % (k, v) for k, v in self.defines]
        # Kept for the job's life: a USDT context that is garbage-collected
        # resets the probe's semaphore, and a guarded probe then never fires.
        self.usdt_contexts = contexts
        self.bpf = self._compile(cflags, contexts)
        self.attach_chosen()

    def plan_compile(self):
        """Choose attach points and the macros the C is compiled with."""
        self.chosen, self.attach_report = choose_points(self.plan["attach"])
        flags = ["-D%s=1" % use_macro(p) for _, p in self.chosen]
        flags += resolve_cflags(self.plan.get("resolve"))
        flags += self._btf_cflags()
        # Jobs may leave the agent's own work out (its BPF calls, its reads).
        flags.append("-DFLEET_AGENT_PID=%d" % os.getpid())
        self.defines = [tuple(f[2:].split("=", 1)) for f in flags]

    def attach_chosen(self):
        """Attach the points that name their C function (prefixed when shared)."""
        for _slot, point in self.chosen:
            if point.get("fn") and point["kind"] != "usdt":
                self._attach(dict(point, fn=self.prefix + point["fn"]))

    def source_text(self):
        """The C to compile: printk tagging if needed, then the job's own lines.

        ``#line`` makes clang name the job's file and line in its errors.
        """
        head = ""
        if self.outputs("trace"):
            if self.trace is None:  # one tag per job, even if compiled twice
                JOB_SEQ.append(self.id)
                tag = "%s_%d" % (AGENT_TAG, len(JOB_SEQ))
                self.trace = tracebuf.TraceBuffer(tag)
                self.trace.expand()
            head = tracebuf.prelude(self.trace.tag)
        name = (self.plan.get("source_name") or "program.bpf.c").replace('"', "")
        return '%s#line 1 "%s"\n%s' % (head, name, _relined(self.plan["source"], name))

    def _btf_cflags(self):
        """Member offsets from this host's BTF ; without BTF, none."""
        paths = self.plan.get("btf") or []
        if not paths:
            return []
        try:
            found = btf.offsets(paths, self.cache_dir)
        except btf.BTFError as err:
            self.notes.append(
                "no BTF offsets (%s): fields that need a struct walk "
                "are left empty" % err
            )
            return []
        return ["-D%s=%d" % (btf.macro(p), off) for p, off in sorted(found.items())] + [
            "-DFLEET_BTF=1"
        ]

    def _compile(self, cflags, usdt_contexts=()):
        """Compile and load with BCC, capturing clang's diagnostics from stderr."""
        from bcc import BPF

        limits.clear_errno()
        with _CapturedStderr() as captured:
            try:
                return BPF(
                    text=self.source_text(),
                    cflags=cflags + include.cflags(self.cache_dir),
                    usdt_contexts=list(usdt_contexts),
                )
            except Exception as err:  # bcc raises plain Exception
                error, code = err, limits.last_errno(str(err))
        text = str(error)
        explained = limits.explain(code, text + " " + captured.text)
        if explained and "compile" not in text.lower():
            raise JobError(_load_outcome(text), explained)
        raise JobError(_load_outcome(text), _load_reason(text, captured.text))

    def _attach(self, point):
        """Attach a point that names its C function explicitly."""
        kind, target, fn = point["kind"], point["target"], point["fn"]
        limits.clear_errno()
        try:
            if kind == "tracepoint":
                self.bpf.attach_tracepoint(tp=target, fn_name=fn)
            elif kind == "raw_tracepoint":
                self.bpf.attach_raw_tracepoint(tp=target, fn_name=fn)
            elif kind in ("kprobe", "kretprobe"):
                attach = getattr(self.bpf, "attach_" + kind)
                if point.get("pattern"):  # a glob: every matching function
                    attach(event_re=probes.glob_regex(target), fn_name=fn)
                else:
                    attach(event=target, fn_name=fn)
            elif kind in ("uprobe", "uretprobe"):
                probes.attach_uprobe(self.bpf, point, self.notes)
            elif kind == "perf_event":
                ev_type, ev_config = PERF_EVENTS[target]
                self.bpf.attach_perf_event(
                    ev_type=ev_type,
                    ev_config=ev_config,
                    fn_name=fn,
                    sample_freq=int(point["freq"]),
                )
            else:
                raise JobError(
                    "attach-error", "attach kind %s is not supported yet" % kind
                )
        except JobError:
            raise
        except Exception as err:
            code = limits.last_errno(str(err))
            tp = target if kind == "tracepoint" else None
            why = limits.explain(code, str(err), tp) or str(err)
            raise JobError(
                "attach-error", "%s: %s" % (point_label(point), why)
            ) from None

    def probe_fds(self):
        """Take this module's probe (perf event) fds out of BCC's hands.

        The caller closes them, in parallel: each detach waits for the kernel's
        RCU grace periods (~70 ms a tracepoint here), so a module with dozens of
        probes takes seconds to detach one by one.
        """
        if self.bpf is None or (self.shared and self.shared[0] is not self):
            return []
        bpf, fds = self.bpf, []
        for table in (bpf.tracepoint_fds, bpf.raw_tracepoint_fds, bpf.uprobe_fds):
            fds += list(table.values())
            table.clear()
        for per_fn in bpf.kprobe_fds.values():
            fds += list(per_fn.values())
        bpf.kprobe_fds.clear()
        for per_cpu in bpf.open_perf_events.values():
            fds += list(per_cpu.values())
        bpf.open_perf_events.clear()
        return [fd for fd in fds if isinstance(fd, int)]

    def missed_runs(self):
        """Runs of this job's programs the kernel skipped so far (recursion)."""
        if self.bpf is None:
            return 0
        fds = [
            fn.fd
            for name, fn in self.bpf.funcs.items()
            if as_str(name).startswith(self.prefix)
        ]
        return proginfo.total_misses(fds)

    def _map(self, name):
        """A map of this job (prefixed when the module is shared)."""
        return self.bpf[self.prefix + name]

    def close(self):
        """Detach every probe and free the maps (a shared module: by its last user)."""
        if self.bpf is None:
            return
        if self.shared is not None:
            self.shared.remove(self)
            if self.shared:
                self.bpf = None
                return
        try:
            self.bpf.cleanup()
        finally:
            self.bpf = None


def _relined(source, name):
    """Re-anchor line numbers after each tracepoint probe.

    BCC inserts the tracepoint's argument struct just before the probe, which
    shifts clang's line numbers for everything below it.
    """
    out = []
    for number, line in enumerate(source.split("\n"), 1):
        out.append(line)
        if "TRACEPOINT_PROBE(" in line or "struct tracepoint__" in line:
            out.append('#line %d "%s"' % (number + 1, name))
    return "\n".join(out)


def _load_outcome(message):
    """Map BCC's exception text to a per-host outcome."""
    if "attach" in message.lower():
        return "attach-error"
    return "compile-error"


def _load_reason(message, diagnostics):
    """Short reason: clang's error lines (program.bpf.c:LINE) or BCC's message."""
    errors = [
        line.replace("/virtual/main.c", "program.bpf.c")
        for line in diagnostics.splitlines()
        if " error: " in line or line.startswith("error:")
    ]
    if errors:
        return "; ".join(errors[:5])
    tail = [line for line in diagnostics.splitlines() if line.strip()][-3:]
    return message if not tail else "%s (%s)" % (message, " / ".join(tail))


class _CapturedStderr:
    """Redirect fd 2 to a temp file (clang writes there), then echo it back."""

    def __enter__(self):
        self.text = ""
        self._file = tempfile.TemporaryFile()
        self._saved = os.dup(2)
        os.dup2(self._file.fileno(), 2)
        return self

    def __exit__(self, *exc):
        os.dup2(self._saved, 2)
        os.close(self._saved)
        self._file.seek(0)
        data = self._file.read()
        self._file.close()
        self.text = data.decode("utf-8", "replace")
        if data:
            os.write(2, data)
        return False


def detach_all(jobs):
    """Detach every probe, closing probe fds in parallel, then free the modules."""
    fds = [fd for job in jobs for fd in job.probe_fds()]
    threads = [threading.Thread(target=_close_fds, args=(fds[i::32],))
               for i in range(min(32, len(fds)))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for job in jobs:
        job.close()


def _close_fds(fds):
    for fd in fds:
        try:
            os.close(fd)
        except OSError:
            pass
