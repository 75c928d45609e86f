"""Reading a job's outputs: event buffers, histograms, tables, series and stacks.

A mixin of ``BccJob``: every method reads maps through the job's ``_map``.
"""

from agent.decode import plain, struct_dict


def drained(table):
    """Read and empty a map: [(key, value)].

    The kernel's lookup-and-delete batch takes each entry out atomically, so
    a count added while we read lands in the next interval, never nowhere.
    Maps without it (arrays, kernels before 5.6) are read, then cleared.
    """
    try:
        return list(table.items_lookup_and_delete_batch())
    except Exception:  # not supported for this map or kernel
        items = table.items()
        table.clear()
        return items


class OutputReader:
    """The output-reading half of a BCC job.

    Needs ``plan``, ``bpf``, ``_map``, ``decoders``, ``trace`` and
    ``warm_pids`` (processes whose symbols are already loaded).
    """

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
                    handle, page_cnt=int(out.get("buffer_pages") or 64),
                    lost_cb=lost, wakeup_events=32
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

    def read_hist(self, out, drain=False):
        """Return {label: [slot counts]} for a histogram output; empty it if drain."""
        table = self._map(out["map"])
        slots = {}
        for key, value in (drained(table) if drain else table.items()):
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
        return self._label(record, out), slot

    def _label(self, record, out):
        """A struct key as one label: decoded fields joined with ','."""
        record = self.decoders.apply(record, out.get("decode"))
        return ",".join(str(v) for v in record.values())

    def read_table(self, out, limit=10000):
        """Return [{key, value}] for a table output, largest values first.

        Keys that decode to the same label (addresses of one function, say)
        are summed into one row.
        """
        rows = {}
        for key, value in self._map(out["map"]).items():
            label = plain(key)
            if isinstance(label, dict):
                label = self._label(label, out)
            value = plain(value)
            if label in rows and isinstance(value, int):
                rows[label]["value"] += value
            else:
                rows[label] = {"key": label, "value": value}
        ordered = sorted(rows.values(), key=lambda r: _rank(r["value"]), reverse=True)
        return ordered[:limit]

    def read_top(self, out):
        """Read and clear a table read every interval: its top rows, flat.

        Each row holds the key's (decoded) fields and the value's: a struct
        value's fields, or ``value``; rows are ordered by the value (a
        struct's first field), the ``top`` largest kept, as bcc's top tools.
        """
        table = self._map(out["map"])
        rows, order = [], "value"
        for key, value in table.items():
            record = plain(key)
            record = dict(record) if isinstance(record, dict) else {"key": record}
            record = self.decoders.apply(record, out.get("decode"))
            value = plain(value)
            if isinstance(value, dict):
                order = next(iter(value), order)
                record.update(value)
            else:
                record["value"] = value
            rows.append(record)
        table.clear()
        rows.sort(key=lambda r: _rank(r.get(order)), reverse=True)
        return rows[: out.get("top") or 20]

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
        row.update(meminfo_mb(out.get("meminfo")))
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

        for key in self._map(out["map"]).keys():
            pid = getattr(key, "pid", 0) if hasattr(key, "_fields_") else 0
            if pid and pid not in self.warm_pids:
                self.warm_pids.add(pid)
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


def _rank(value):
    """Sort key of a table value: numbers by size, anything else last."""
    return value if isinstance(value, int) else -1



def meminfo_mb(wanted):
    """{column: MiB} of /proc/meminfo lines, e.g. {"buffers_mb": "Buffers"}."""
    if not wanted:
        return {}
    found = {}
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                name, _, rest = line.partition(":")
                found[name] = int(rest.split()[0]) // 1024  # kB -> MiB
    except (OSError, ValueError, IndexError):
        pass
    return {column: found.get(name) for column, name in wanted.items()}
