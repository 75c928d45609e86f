"""`fleet check` rendering: facts per host, job answers folded across hosts."""

from io import StringIO

from rich.console import Console

from fleet.report.check import render_check

FACTS = {"kernel": "6.18.4", "btf": True, "bcc": "0.26.0", "kprobes": False,
         "headers": {"path": "/x", "release": "6.1.0-56", "matches_kernel": False}}
FALLBACK = {"status": "ok", "notes": [], "attach": [
    {"probe": "submit", "used": "tracepoint:block:block_rq_insert",
     "skipped": [{"point": "tracepoint:block:block_io_start",
                  "reason": "no tracepoint block:block_io_start on this kernel"}]}]}
PLAIN = {"status": "ok", "attach": [
    {"probe": "issue", "used": "tracepoint:block:block_rq_issue", "skipped": []}]}
FAILED = {"status": "error", "outcome": "attach-error",
          "error": "probe 'p' cannot attach (kprobe:f: kprobes are not available)"}


def render(hosts, jobs, code=0) -> str:
    out = StringIO()
    render_check(jobs, hosts, Console(file=out, width=80, color_system=None), code)
    return out.getvalue()


def host(name, jobs, facts=FACTS, outcome="ok"):
    return {"name": name, "outcome": outcome, "reason": "", "facts": facts,
            "jobs": jobs}


def test_identical_answers_fold_into_one_row():
    text = render([host(f"db{i}", {"snoop": FALLBACK}) for i in (1, 2, 3)], ["snoop"])
    assert text.count("ok, 1 probe(s)") == 1
    assert " all " in text
    assert "block_io_start skipped: no tracepoint" in text
    assert "submit uses tracepoint:block:block_rq_insert" in text
    assert "every job can run on every host (exit 0)" in text


def test_different_answers_keep_their_hosts_apart():
    hosts = [host("db1", {"lat": PLAIN}), host("db2", {"lat": FAILED}),
             host("db3", {}, facts=None, outcome="unreachable")]
    text = render(hosts, ["lat"], code=4)
    assert "db1" in text and "db2" in text and "db3" in text
    assert "attach-error: probe 'p' cannot attach" in text
    assert "not checked: unreachable" in text
    assert "2 job/host pair(s) cannot run (exit 4)" in text


def test_fits_80_columns():
    hosts = [host(f"database-host-{i:03d}", {"a": FALLBACK, "b": FAILED})
             for i in range(12)]
    text = render(hosts, ["a", "b"], code=2)
    assert max(len(line) for line in text.splitlines()) <= 80
