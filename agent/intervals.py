"""bcc's interval mode for histograms: read and empty the map every interval.

A histogram output with ``interval`` (seconds) is drained once per interval
during the window; each read is one slot list per label. The window's total
is the sum of its intervals, so nothing is counted twice or lost between them.
"""


def merge_slots(per_label_list):
    """Sum [{label: slots}] into one {label: slots}, slot by slot."""
    total = {}
    for per_label in per_label_list:
        for label, slots in per_label.items():
            into = total.setdefault(label, [])
            into.extend([0] * (len(slots) - len(into)))
            for i, count in enumerate(slots):
                into[i] += count
    return total


class HistIntervals:
    """Per (job, output): when it was last read, and its intervals so far."""

    def __init__(self):
        self.last = {}  # (job id, output) -> monotonic ns of its last read
        self.done = {}  # (job id, output) -> [{label: slots}], one per interval

    def read_due(self, jobs, start_mono, now_mono, final=False):
        """Drain every histogram whose interval has passed (all of them if final)."""
        for job in jobs:
            for out in job.outputs("histogram"):
                if out.get("interval"):
                    self._read(job, out, start_mono, now_mono, final)

    def _read(self, job, out, start_mono, now_mono, final):
        key = (job.id, out["name"])
        interval_ns = int(float(out["interval"]) * 1e9)
        last = self.last.get(key, start_mono)
        if not final and now_mono - last < interval_ns:
            return
        slots = job.read_hist(out, drain=True)
        done = self.done.setdefault(key, [])
        if final and done and now_mono - last < interval_ns // 10:
            done[-1] = merge_slots([done[-1], slots])  # a sliver joins the last one
        else:
            done.append(slots)
        # The next read is one interval later, not one poll later: no drift.
        self.last[key] = last + interval_ns

    def fields(self, job, out):
        """The hist message's slots and intervals, or None without an interval."""
        intervals = self.done.get((job.id, out["name"]))
        if intervals is None:
            return None
        return {"slots": merge_slots(intervals), "intervals": intervals}
