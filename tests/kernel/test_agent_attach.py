"""The agent's backend on the real kernel: attach-point choice and BCC compile errors.

Runs agent code under the system Python (the one with BCC), as root, in a
subprocess: the checkout's agent/ and fleet/wire.py are on its PYTHONPATH,
exactly as they are inside the agent bundle. This kernel has tracefs and no
kprobes (CONFIG_KPROBES off), so kprobe points are skipped with a reason.
"""

from __future__ import annotations

import json
import os
import subprocess
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.kernel

REPO = Path(__file__).resolve().parents[2]
SYSTEM_PYTHON = "/usr/bin/python3"
KPROBES_OFF = "kprobes are not available on this kernel (no kprobe_events)"

PRELUDE = textwrap.dedent("""
    import json, sys
    from agent import facts, headers
    from agent.backend import BccJob, JobError, choose_points
    from agent.decode import Decoders

    def emit(value):
        sys.stdout.write("RESULT " + json.dumps(value) + "\\n")

    def choose(attach):
        try:
            chosen, report = choose_points(attach)
        except JobError as err:
            return {"error": [err.outcome, err.reason]}
        return {"chosen": [[slot["probe"], point] for slot, point in chosen],
                "report": report}

    def compile_job(plan, cache_dir):
        facts.ensure_tracefs()
        found = headers.find_headers(cache_dir)
        job = BccJob(plan, Decoders())
        job.cache_dir = cache_dir
        try:
            job.prepare()
        except JobError as err:
            return {"headers": found, "error": [err.outcome, err.reason],
                    "report": job.attach_report}
        try:
            return {"headers": found, "report": job.attach_report,
                    "tracepoints": job.bpf.num_open_tracepoints()}
        finally:
            job.close()
""")


def run_agent(code: str, timeout: float = 300) -> dict:
    """Run PRELUDE + code under the system Python; return what it emit()ted."""
    env = dict(os.environ, PYTHONPATH=f"{REPO}:{REPO / 'fleet'}")
    proc = subprocess.run(
        [SYSTEM_PYTHON, "-c", PRELUDE + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
    )
    results = [
        line[len("RESULT ") :]
        for line in proc.stdout.splitlines()
        if line.startswith("RESULT ")
    ]
    assert proc.returncode == 0 and len(results) == 1, (proc.stdout, proc.stderr)
    return json.loads(results[0])


def tp(target, kind="tracepoint", fn=None):
    return {"kind": kind, "target": target, "fn": fn}


def choose(attach: list) -> dict:
    return run_agent(f"emit(choose({attach!r}))")


def test_tracepoint_is_used():
    slot = {"probe": "issue", "points": [tp("block:block_rq_issue")]}
    assert choose([slot]) == {
        "chosen": [["issue", tp("block:block_rq_issue")]],
        "report": [
            {"probe": "issue", "used": "tracepoint:block:block_rq_issue", "skipped": []}
        ],
    }


def test_missing_tracepoint_falls_back_to_the_next_point():
    slot = {
        "probe": "submit",
        "points": [tp("nosuch:event"), tp("block:block_rq_insert")],
    }
    assert choose([slot]) == {
        "chosen": [["submit", tp("block:block_rq_insert")]],
        "report": [
            {
                "probe": "submit",
                "used": "tracepoint:block:block_rq_insert",
                "skipped": [
                    {
                        "point": "tracepoint:nosuch:event",
                        "reason": "no tracepoint nosuch:event on this kernel",
                    }
                ],
            }
        ],
    }


def test_kprobe_is_skipped_for_a_tracepoint_fallback():
    slot = {
        "probe": "start",
        "points": [tp("blk_mq_start_request", "kprobe"), tp("block:block_rq_issue")],
    }
    result = choose([slot])
    assert result["chosen"] == [["start", tp("block:block_rq_issue")]]
    assert result["report"][0]["skipped"] == [
        {"point": "kprobe:blk_mq_start_request", "reason": KPROBES_OFF}
    ]


def test_required_kprobe_only_slot_is_an_attach_error():
    ok = {"probe": "issue", "points": [tp("block:block_rq_issue")]}
    slot = {
        "probe": "start",
        "points": [tp("blk_mq_start_request", "kprobe"), tp("vfs_read", "kretprobe")],
    }
    assert choose([ok, slot]) == {
        "error": [
            "attach-error",
            f"probe 'start' cannot attach (kprobe:blk_mq_start_request: {KPROBES_OFF}; "
            f"kretprobe:vfs_read: {KPROBES_OFF})",
        ]
    }


def test_optional_kprobe_only_slot_is_dropped():
    ok = {"probe": "issue", "points": [tp("block:block_rq_issue")]}
    slot = {
        "probe": "start",
        "optional": True,
        "points": [tp("blk_mq_start_request", "kprobe")],
    }
    assert choose([ok, slot]) == {
        "chosen": [["issue", tp("block:block_rq_issue")]],
        "report": [
            {
                "probe": "issue",
                "used": "tracepoint:block:block_rq_issue",
                "skipped": [],
            },
            {
                "probe": "start",
                "used": None,
                "skipped": [
                    {"point": "kprobe:blk_mq_start_request", "reason": KPROBES_OFF}
                ],
            },
        ],
    }


def compile_job(plan: dict, cache_dir: Path) -> dict:
    return run_agent(f"emit(compile_job({plan!r}, {str(cache_dir)!r}))")


def test_compile_error_names_program_bpf_c_and_the_line(tmp_path):
    plan = {
        "id": "broken",
        "source": "int x(void) { return y; }",
        "attach": [],
        "outputs": [],
    }
    result = compile_job(plan, tmp_path)
    assert result["headers"]["path"], result["headers"]
    outcome, reason = result["error"]
    assert outcome == "compile-error"
    assert reason.startswith("program.bpf.c:1:"), reason
    assert "error: use of undeclared identifier 'y'" in reason
    assert "/virtual/main.c" not in reason


def test_compile_error_line_number_is_the_source_line(tmp_path):
    source = "int a;\n\n\nint x(void) { return nope; }\n"
    result = compile_job(
        {"id": "broken", "source": source, "attach": [], "outputs": []}, tmp_path
    )
    outcome, reason = result["error"]
    assert outcome == "compile-error"
    assert reason.startswith("program.bpf.c:4:"), reason
    assert "'nope'" in reason


SOURCE = """
#ifdef FLEET_USE_tracepoint__block__block_rq_issue
TRACEPOINT_PROBE(block, block_rq_issue) { return 0; }
#endif
#ifdef FLEET_USE_tracepoint__nosuch__event
#error the skipped point's macro must not be defined
#endif
#ifdef FLEET_USE_kprobe__blk_mq_start_request
#error the kprobe point must not be chosen
#endif
int on_insert(void *ctx) { return 0; }
"""


def test_chosen_points_compile_and_attach(tmp_path):
    plan = {
        "id": "ok",
        "source": SOURCE,
        "outputs": [],
        "attach": [
            {
                "probe": "issue",
                "points": [tp("nosuch:event"), tp("block:block_rq_issue")],
            },
            {
                "probe": "start",
                "optional": True,
                "points": [tp("blk_mq_start_request", "kprobe")],
            },
            {
                "probe": "insert",
                "points": [tp("block:block_rq_insert", fn="on_insert")],
            },
        ],
    }
    result = compile_job(plan, tmp_path)
    assert "error" not in result, result
    # one auto-attached TRACEPOINT_PROBE, one attached by its explicit fn
    assert result["tracepoints"] == 2
    assert [r["used"] for r in result["report"]] == [
        "tracepoint:block:block_rq_issue",
        None,
        "tracepoint:block:block_rq_insert",
    ]


def test_explicit_fn_that_does_not_exist_is_an_attach_error(tmp_path):
    plan = {
        "id": "nofn",
        "source": "int other(void *ctx) { return 0; }",
        "outputs": [],
        "attach": [
            {"probe": "p", "points": [tp("block:block_rq_issue", fn="missing")]}
        ],
    }
    result = compile_job(plan, tmp_path)
    outcome, reason = result["error"]
    assert outcome == "attach-error"
    assert reason == "tracepoint:block:block_rq_issue: Unknown program b'missing'"
