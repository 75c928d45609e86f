"""One-pass compile: renaming a job's names, grouping jobs by tracepoint."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "fleet"))  # wire.py

from agent import onepass  # noqa: E402

SOURCE = """
struct rq_key { u64 dev; u64 start; };
BPF_HASH(start, struct rq_key, u64, 1024);
BPF_HISTOGRAM(dist);
BPF_TABLE("hash", u32, u64, counts, 64);
static const char wanted_comm[] = {0x64, 0x00};
static __always_inline int wanted(u32 dev)
{
    return dev == 1;
}
TRACEPOINT_PROBE(block, block_rq_issue)
{
    struct rq_key key = {.dev = args->dev, .start = 0};
    u64 ts = bpf_ktime_get_ns();
    start.update(&key, &ts);   /* start: a comment is left alone */
    key.start = ts;
    if (wanted(args->dev)) dist.increment(1);
    char *s = "start";
    return 0;
}
"""


def test_declared_names():
    assert onepass.declared_names(SOURCE) == {
        "rq_key", "start", "dist", "counts", "wanted_comm", "wanted"}


@pytest.mark.parametrize("fragment", [
    "struct fj0_rq_key { u64 dev; u64 start; };",          # field kept
    "BPF_HASH(fj0_start, struct fj0_rq_key, u64, 1024);",
    'BPF_TABLE("hash", u32, u64, fj0_counts, 64);',
    "static const char fj0_wanted_comm[]",
    "static __always_inline int fj0_wanted(u32 dev)",
    "struct fj0_rq_key key = {.dev = args->dev, .start = 0};",
    "fj0_start.update(&key, &ts);   /* start: a comment is left alone */",
    "key.start = ts;",                                      # member kept
    "if (fj0_wanted(args->dev)) fj0_dist.increment(1);",
    'char *s = "start";',                                   # string kept
])
def test_rename_prefixes_declarations_and_uses_only(fragment):
    renamed = onepass.rename(SOURCE, onepass.declared_names(SOURCE), "fj0_")
    assert fragment in renamed


def test_generated_tracepoint_structs_keep_their_name():
    text = ("int tracepoint__sched__sched_switch("
            "struct tracepoint__sched__sched_switch *a) { return 0; }")
    names = onepass.declared_names(text)
    assert onepass.rename(text, names, "fj1_") == (
        "int fj1_tracepoint__sched__sched_switch("
        "struct tracepoint__sched__sched_switch *a) { return 0; }")


class Job:
    def __init__(self, source, kinds=("tracepoint",)):
        self.plan = {"source": source, "attach": [
            {"points": [{"kind": k} for k in kinds]}]}


def test_jobs_on_one_tracepoint_go_to_different_groups():
    a = Job("TRACEPOINT_PROBE(block, block_rq_issue) { return 0; }")
    b = Job("TRACEPOINT_PROBE(block, block_rq_issue) { return 1; }")
    c = Job("TRACEPOINT_PROBE(sched, sched_switch) { return 0; }")
    assert onepass.groups([a, b, c]) == [[a, c], [b]]


@pytest.mark.parametrize("source, kinds, ok", [
    ("TRACEPOINT_PROBE(a, b) { return 0; }", ("tracepoint",), True),
    ("int kprobe__vfs_read(void *ctx) { return 0; }", ("kprobe",), False),
    ("int f(void *ctx) { return 0; }", ("uprobe",), False),
    ("int f(void *ctx) { return 0; }", ("usdt",), False),
    ("int f(void *ctx) { return 0; }", ("perf_event",), True),
])
def test_mergeable(source, kinds, ok):
    assert onepass.mergeable(Job(source, kinds)) is ok
