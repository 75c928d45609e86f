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


def test_probes_on_one_tracepoint_share_a_group():
    a = Job("TRACEPOINT_PROBE(block, block_rq_issue) { return 0; }")
    b = Job("TRACEPOINT_PROBE(block, block_rq_issue) { return 1; }")
    assert onepass.groups([a, b]) == [[a, b]]


def test_hand_written_args_structs_on_one_tracepoint_do_not():
    fn = "int f(struct tracepoint__block__block_rq_issue *args) { return %d; }"
    a, b = Job(fn % 0), Job(fn % 1)
    c = Job("TRACEPOINT_PROBE(sched, sched_switch) { return 0; }")
    assert onepass.groups([a, b, c]) == [[a, c], [b]]


class TextJob(Job):
    defines = [("FLEET_BTF", "1")]
    trace = None

    def source_text(self):
        return '#line 1 "p.c"\n' + self.plan["source"]


def test_second_probe_on_a_tracepoint_casts_instead_of_redeclaring():
    source = ("BPF_HASH(seen, u32, u64);\n"
              "TRACEPOINT_PROBE(block, block_rq_issue)\n#line 3 \"p.c\"\n{\n"
              "    u32 k = args->dev; seen.increment(k); return 0;\n}\n")
    generated = set()
    first, points1 = onepass.namespaced(TextJob(source), "fj0_", generated)
    second, points2 = onepass.namespaced(TextJob(source), "fj1_", generated)
    assert ("int fj0_tp__block__block_rq_issue("
            "struct tracepoint__block__block_rq_issue *args)") in first
    assert "int fj1_tp__block__block_rq_issue(void *fleet_tp_ctx)" in second
    assert "{ struct tracepoint__block__block_rq_issue *args = fleet_tp_ctx;" in second
    assert "fj1_seen.increment(k)" in second
    assert second.startswith("#define FLEET_BTF 1\n")
    assert "#undef FLEET_BTF" in second
    assert points1 == [("fj0_tp__block__block_rq_issue", "block:block_rq_issue")]
    assert points2 == [("fj1_tp__block__block_rq_issue", "block:block_rq_issue")]


@pytest.mark.parametrize("source, kinds, ok", [
    ("TRACEPOINT_PROBE(a, b) { return 0; }", ("tracepoint",), True),
    ("int kprobe__vfs_read(void *ctx) { return 0; }", ("kprobe",), False),
    ("int f(void *ctx) { return 0; }", ("uprobe",), False),
    ("int f(void *ctx) { return 0; }", ("usdt",), False),
    ("int f(void *ctx) { return 0; }", ("perf_event",), True),
])
def test_mergeable(source, kinds, ok):
    assert onepass.mergeable(Job(source, kinds)) is ok
