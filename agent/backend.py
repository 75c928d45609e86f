"""The agent's BPF backend: choose attach points, compile with BCC, read outputs.

One ``BccJob`` per job of the plan. Each job compiles into its own BPF object
so that one job's failure never takes the others down.
"""

import os
import re
import tempfile

from agent import btf, facts, probes, tracebuf
from agent.decode import disk_dev, plain, struct_dict

# perf_event targets -> (perf type, config): PERF_TYPE_SOFTWARE = 1, HARDWARE = 0
PERF_EVENTS = {
    "software:cpu-clock": (1, 0),
    "software:task-clock": (1, 1),
    "hardware:cpu-cycles": (0, 0),
    "hardware:instructions": (0, 1),
}


JOB_SEQ = []  # jobs prepared in this agent, for unique printk tags


class JobError(Exception):
    """A job cannot run on this host; ``outcome`` names the failure kind."""

    def __init__(self, outcome, reason):
        Exception.__init__(self, reason)
        self.outcome = outcome
        self.reason = reason


def use_macro(point):
    """C macro defined when an attach point is the one chosen for its probe."""
    target = re.sub(r"\W", "_", point["target"].replace(":", "__"))
    return "FLEET_USE_%s__%s" % (point["kind"], target)


def point_label(point):
    """Human label of an attach point, e.g. ``tracepoint:block:block_rq_issue``."""
    return "%s:%s" % (point["kind"], point["target"])


def point_unavailable(point):
    """Return why an attach point cannot be used on this host, or None."""
    kind, target = point["kind"], point["target"]
    base = facts.tracefs_dir()
    if kind in ("tracepoint", "raw_tracepoint"):
        if base is None:
            return "tracefs is not mounted"
        event = target.replace(":", "/") if ":" in target else target
        if kind == "raw_tracepoint" and ":" not in target:
            return None if _raw_tp_exists(base, target) else "no such raw tracepoint"
        if not os.path.isdir(os.path.join(base, "events", event)):
            return "no tracepoint %s on this kernel" % target
        return None
    if kind in ("kprobe", "kretprobe"):
        if not facts.kprobes_available():
            return "kprobes are not available on this kernel (no kprobe_events)"
        if not _kernel_symbol_exists(target):
            return "no kernel function %s" % target
        return None
    if kind == "perf_event":
        return None if target in PERF_EVENTS else "unknown perf event %s" % target
    if kind in ("uprobe", "uretprobe"):
        library = point.get("library") or target.split(":", 1)[0]
        try:
            found = probes.library_path(library)
        except Exception:
            found = None
        return (
            None
            if found and os.path.exists(found)
            else "library %s not found" % library
        )
    if kind == "usdt" and not point.get("pid"):
        binary = point.get("binary") or target.split(":", 1)[0]
        return None if os.path.exists(binary) else "binary %s not found" % binary
    return None


def _raw_tp_exists(base, name):
    """True when some tracefs event category has an event of this name."""
    events = os.path.join(base, "events")
    try:
        return any(
            os.path.isdir(os.path.join(events, c, name)) for c in os.listdir(events)
        )
    except OSError:
        return False


def _kernel_symbol_exists(name):
    """True when /proc/kallsyms lists a function of this name."""
    try:
        with open("/proc/kallsyms") as f:
            return any(line.split()[2] == name for line in f if name in line)
    except (OSError, IndexError):
        return False


def choose_points(attach):
    """Pick the first usable point per probe slot.

    Returns (chosen, report): chosen is a list of (slot, point); report is the
    per-slot record sent to the controller. Raises JobError(attach-error) when a
    required slot has no usable point.
    """
    chosen, report = [], []
    for slot in attach:
        skipped, used = [], None
        for point in slot["points"]:
            why = point_unavailable(point)
            if why is None:
                used = point
                break
            skipped.append({"point": point_label(point), "reason": why})
        report.append(
            {
                "probe": slot["probe"],
                "used": point_label(used) if used else None,
                "skipped": skipped,
            }
        )
        if used is not None:
            chosen.append((slot, used))
        elif not slot.get("optional"):
            reasons = "; ".join("%s: %s" % (s["point"], s["reason"]) for s in skipped)
            raise JobError(
                "attach-error",
                "probe '%s' cannot attach (%s)" % (slot["probe"], reasons),
            )
    return chosen, report


def resolve_cflags(resolve):
    """Turn host-resolved params (disk names) into -D flags for the C."""
    flags = []
    for param, spec in sorted((resolve or {}).items()):
        if spec.get("type") == "disk":
            dev = disk_dev(spec["value"])
            # A disk this host lacks matches nothing: the job runs, traces nothing.
            flags.append(
                "-DFLEET_DEV_%s=%dU"
                % (param.upper(), dev if dev is not None else 0xFFFFFFFF)
            )
    return flags


class BccJob:
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
        self.defines = [tuple(f[2:].split("=", 1)) for f in flags]

    def attach_chosen(self):
        """Attach the points that name their C function (prefixed when shared)."""
        for _slot, point in self.chosen:
            if point.get("fn") and point["kind"] != "usdt":
                self._attach(dict(point, fn=self.prefix + point["fn"]))

    def source_text(self):
        """The job's C as compiled (see _source)."""
        return self._source()

    def _source(self):
        """The C to compile: printk tagging if needed, then the job's own lines.

        ``#line`` makes clang name the job's file and line in its errors.
        """
        head = ""
        if self.outputs("trace"):
            JOB_SEQ.append(self.id)
            self.trace = tracebuf.TraceBuffer("fl%x_%d" % (os.getpid(), len(JOB_SEQ)))
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

        with _CapturedStderr() as captured:
            try:
                return BPF(
                    text=self._source(),
                    cflags=cflags,
                    usdt_contexts=list(usdt_contexts),
                )
            except Exception as err:  # bcc raises plain Exception
                error = err
        raise JobError(
            _load_outcome(str(error)), _load_reason(str(error), captured.text)
        )

    def _attach(self, point):
        """Attach a point that names its C function explicitly."""
        kind, target, fn = point["kind"], point["target"], point["fn"]
        try:
            if kind == "tracepoint":
                self.bpf.attach_tracepoint(tp=target, fn_name=fn)
            elif kind == "raw_tracepoint":
                self.bpf.attach_raw_tracepoint(tp=target, fn_name=fn)
            elif kind == "kprobe":
                self.bpf.attach_kprobe(event=target, fn_name=fn)
            elif kind == "kretprobe":
                self.bpf.attach_kretprobe(event=target, fn_name=fn)
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
            raise JobError(
                "attach-error", "%s: %s" % (point_label(point), err)
            ) from None

    def outputs(self, kind):
        """The plan's outputs of one kind."""
        return [o for o in self.plan["outputs"] if o["kind"] == kind]

    def open_events(self, on_event, on_lost):
        """Open a perf buffer for every events output."""
        from bcc.table import RingBuf

        for out in self.outputs("events"):
            table = self._map(out["map"])

            def handle(cpu, data, size, table=table, out=out):
                on_event(self, out, struct_dict(table.event(data)))

            def lost(count, out=out):
                on_lost(self, out, count)

            if isinstance(table, RingBuf):  # BPF_RINGBUF_OUTPUT
                self._ring = True
                table.open_ring_buffer(
                    lambda ctx, data, size, h=handle: h(0, data, size)
                )
            else:
                self._perf = True
                # Wake the reader every 32 events, not every one (each wakeup
                # costs ~10 us); poll() drains the rest with a consume.
                table.open_perf_buffer(
                    handle, page_cnt=64, lost_cb=lost, wakeup_events=32
                )

    @property
    def streams(self):
        """True when this job has perf or ring buffers to poll."""
        return self._ring or self._perf

    def poll(self, timeout_ms):
        """Deliver pending perf or ring buffer events to the callbacks."""
        if self._ring:
            self.bpf.ring_buffer_poll(timeout=timeout_ms)
        if self._perf:
            self.bpf.perf_buffer_poll(timeout=0 if self._ring else timeout_ms)
            self.bpf.perf_buffer_consume()

    def window_open(self):
        """The window opens: zero the maps, mark the trace buffer."""
        self.clear()
        if self.trace:
            self.trace.open()

    def trace_lines(self):
        """Window closed: this job's bpf_trace_printk lines, wall-clock ts_ns."""
        if not self.trace:
            return []
        self.trace.close()
        return self.trace.lines()

    def clear(self):
        """Zero the histogram and table maps: the window opens now."""
        for out in self.plan["outputs"]:
            if out["kind"] in ("histogram", "table", "stacks", "series"):
                self._map(out["map"]).clear()

    def read_hist(self, out):
        """Return {label: [slot counts]} for a histogram output."""
        slots = {}
        for key, value in self._map(out["map"]).items():
            count = plain(value)
            if not count:
                continue
            label, slot = self._hist_key(key, out)
            counts = slots.setdefault(label, [])
            counts.extend([0] * (slot + 1 - len(counts)))
            counts[slot] += count
        return slots

    def _hist_key(self, key, out):
        """Split a histogram key into (label, slot)."""
        if not hasattr(key, "_fields_"):
            return "", plain(key)
        record = struct_dict(key)
        slot = record.pop("slot", 0)
        record = self.decoders.apply(record, out.get("decode"))
        return ",".join(str(v) for v in record.values()), slot

    def read_table(self, out, limit=10000):
        """Return [{key, value}] for a table output, largest values first."""
        rows = []
        for key, value in self._map(out["map"]).items():
            label = plain(key)
            if isinstance(label, dict):
                label = self.decoders.apply(label, out.get("decode"))
                label = ",".join(str(v) for v in label.values())
            rows.append({"key": label, "value": plain(value)})
        rows.sort(
            key=lambda r: r["value"] if isinstance(r["value"], int) else 0, reverse=True
        )
        return rows[:limit]

    def read_series(self, out):
        """Read and zero a series map: {field name: count} by array index."""
        table = self._map(out["map"])
        values = {}
        for key, value in table.items():
            index = plain(key)
            if isinstance(index, int) and index < len(out["fields"]):
                values[out["fields"][index]] = values.get(
                    out["fields"][index], 0
                ) + plain(value)
        table.clear()
        row = {name: values.get(name, 0) for name in out["fields"]}
        for name, (num, den) in (out.get("ratios") or {}).items():
            # a percentage of two counters, e.g. hit_pct = 100 * hits / accesses
            row[name] = (
                round(100.0 * max(row[num], 0) / row[den], 1) if row[den] else None
            )
        return row

    def warm_symbols(self, out):
        """Load the symbol tables of processes seen so far, while they still live.

        Stacks are symbolized at the window's end; a short-lived process would
        be gone by then and its frames unknown. BCC reads a process's mappings
        when its symbol cache is created, so creating it early is enough.
        """
        from bcc import BPF

        seen = self.__dict__.setdefault("_warm_pids", set())
        for key in self._map(out["map"]).keys():
            pid = getattr(key, "pid", 0)
            if pid and pid not in seen:
                seen.add(pid)
                try:
                    BPF._sym_cache(pid)
                except Exception:  # a process that just exited: nothing to keep
                    pass

    def read_stacks(self, out, limit=5000):
        """Fold a (pid, stack ids, comm) -> count map into [{key: folded, value}]."""
        counts, stacks = self._map(out["map"]), self._map(out["stack_map"])
        items = sorted(counts.items(), key=lambda kv: -kv[1].value)[:limit]
        folded = {}
        for key, value in items:
            record = struct_dict(key)
            frames = [record.get("comm") or "?"]
            frames += self._frames(
                stacks,
                record.get("user_stack_id", -1),
                record.get("pid", 0),
                kernel=False,
            )
            frames += self._frames(
                stacks, record.get("kernel_stack_id", -1), 0, kernel=True
            )
            line = ";".join(frames)
            folded[line] = folded.get(line, 0) + value.value
        rows = [{"key": k, "value": v} for k, v in folded.items()]
        rows.sort(key=lambda r: -r["value"])
        return rows

    def _frames(self, stacks, stack_id, pid, kernel):
        """Symbols of one stack, outermost first (folded-stack order)."""
        if stack_id is None or stack_id < 0:
            return []
        try:
            addrs = list(stacks.walk(stack_id))
        except KeyError:
            return ["[lost]"]
        names = []
        for addr in reversed(addrs):
            if kernel:
                name = self.bpf.ksym(addr).decode("utf-8", "replace") + "_[k]"
            else:
                name = self.bpf.sym(addr, pid).decode("utf-8", "replace")
            names.append(name.replace(";", ":"))
        return names

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

    def close_quietly(self):
        """Drop a half-made shared module after a failed group compile."""
        try:
            if self.bpf is not None and (self.shared is None or self.shared):
                self.bpf.cleanup()
        except Exception:
            pass
        self.bpf, self.shared, self.prefix = None, None, ""
        self._ring = self._perf = False

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
