"""Every catalog job has a test on the second kernel (issue 11: every catalog job
runs on vm1): some test module using the ``vm_fleet`` fixture names it as a
playbook job (``job: NAME``)."""

from __future__ import annotations

import re
from pathlib import Path

from fleet.catalog import Catalog

TESTS = Path(__file__).resolve().parent.parent


def jobs_run_on_vm1() -> set[str]:
    """Job names that vm_fleet test modules put in their playbooks."""
    names: set[str] = set()
    for path in TESTS.rglob("test_*.py"):
        text = path.read_text()
        if "vm_fleet" in text:
            names |= set(re.findall(r"job: ([A-Za-z0-9_-]+)", text))
    return names


def test_every_catalog_job_runs_on_vm1():
    missing = sorted(set(Catalog.default().names()) - jobs_run_on_vm1())
    assert not missing, (f"catalog jobs with no test on vm1 (kernel 6.1): "
                         f"{', '.join(missing)}; add them to a vm_fleet test, "
                         "e.g. tests/vm/test_vm_catalog.py's playbook")
