"""Kernel limits explained: a tracepoint that already holds the kernel's
maximum of BPF programs gives one clear line naming it, not BCC's raw text."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
from fleetrun import REPO_ROOT, run_fleet

pytestmark = pytest.mark.kernel

TRACEPOINT = "syscalls:sys_enter_acct"  # acct(2): nothing else here traces it

# Runs under the system Python (BCC): attach 64 distinct programs, the kernel's
# cap per tracepoint (BPF_TRACE_MAX_PROGS), then hold them until stdin closes.
HOG = """
import os, sys
sys.path.insert(0, sys.argv[1])
from agent.headers import find_headers  # the kernel headers the agent uses
find_headers(os.path.expanduser("~/.cache/fleet"))
from bcc import BPF, lib
text = "".join("int f%d(void *ctx) { return 0; }\\n" % i for i in range(64))
b = BPF(text=text)
fds = []
for i in range(64):
    fn = b.load_func(b"f%d" % i, BPF.TRACEPOINT)
    fd = lib.bpf_attach_tracepoint(fn.fd, b"syscalls", b"sys_enter_acct")
    assert fd >= 0, i
    fds.append(fd)
print("held", flush=True)
sys.stdin.read()
"""

PLAYBOOK = """\
name: limits
duration: 1s
jobs:
  - name: acct
    text: |
      BPF_HASH(counts, u32, u64);
      TRACEPOINT_PROBE(syscalls, sys_enter_acct) {
          u32 key = 0;
          counts.increment(key);
          return 0;
      }
    outputs:
      - table: {map: counts, key: "0 (one counter)"}
"""


def test_a_full_tracepoint_is_named_with_the_kernels_limit(tmp_path):
    hog = subprocess.Popen(["/usr/bin/python3", "-c", HOG, str(REPO_ROOT)],
                           stdin=subprocess.PIPE,
                           stdout=subprocess.PIPE, text=True)
    try:
        assert hog.stdout.readline().strip() == "held"
        pb = tmp_path / "pb.yaml"
        pb.write_text(PLAYBOOK)
        began = time.monotonic()
        run = run_fleet(tmp_path / "runs", "run", str(pb))
        assert time.monotonic() - began < 60
    finally:
        hog.stdin.close()
        hog.wait(30)
    assert run.code == 2, run.stderr
    host = run.results["hosts"]["localhost"]
    assert host["outcome"] == "attach-error"
    assert (f"tracepoint {TRACEPOINT} already has the kernel's maximum of BPF "
            "programs attached") in host["reason"], host["reason"]
    assert "b'tracepoint__" not in host["reason"]
    assert sys.executable  # (the controller ran under the test's Python)
