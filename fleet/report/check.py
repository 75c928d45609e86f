"""Render `fleet check`: host facts, and per job the attach point or the reason."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from fleet.hostranges import fold_names

from ..prerequisites import root_remedy


def _yes(value: Any) -> str:
    return {True: "yes", False: "no", None: "?"}.get(value, str(value))


def _headers(facts: Mapping) -> str:
    headers = facts.get("headers") or {}
    if not headers.get("path"):
        return headers.get("how") or "none"
    release = headers.get("release") or (
        "match" if headers.get("matches_kernel") else ""
    )
    return f"{release} ({'matches' if headers.get('matches_kernel') else 'mismatch'})"


def facts_table(hosts: Sequence[Mapping]) -> Table:
    """One row per host: kernel, BTF, bcc, headers, kprobes, lockdown."""
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, expand=False)
    for column in ("HOST", "KERNEL", "BTF", "BCC", "HEADERS", "KPROBES", "LOCKDOWN"):
        table.add_column(column, overflow="fold")
    for host in hosts:
        facts = host.get("facts") or {}
        if not facts:
            table.add_row(
                host["name"],
                Text(f"{host['outcome']}", style="red"),
                "",
                "",
                "",
                "",
                "",
            )
            continue
        table.add_row(
            host["name"],
            facts.get("kernel", "?"),
            _yes(facts.get("btf")),
            str(facts.get("bcc")),
            _headers(facts),
            _yes(facts.get("kprobes")),
            str(facts.get("lockdown") or "none"),
        )
    return table


def _job_cell(job: Mapping | None, host: Mapping) -> Text:
    """What one job would do on one host: ok with fallbacks taken, or why not."""
    if job is None:
        reason = f"not checked: {host['outcome']} {host.get('reason', '')}"
        return Text(reason.strip(), style="red")
    if job["status"] != "ok":
        return Text(f"{job.get('outcome')}: {job.get('error')}", style="red")
    attach = job.get("attach", [])
    used = [a for a in attach if a.get("used")]
    text = Text(f"ok, {len(used)} probe(s)", style="green")
    for slot in attach:
        for skip in slot.get("skipped", []):
            text.append(f"\n{skip['point']} skipped: {skip['reason']}", style="yellow")
        if slot.get("skipped") and slot.get("used"):
            text.append(f"\n{slot['probe']} uses {slot['used']}", style="green")
    for note in job.get("notes") or []:
        text.append(f"\n{note}", style="yellow")
    return text


def jobs_table(job_ids: Sequence[str], hosts: Sequence[Mapping]) -> Table:
    """Per job, the hosts sharing one answer (folded) and that answer."""
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, expand=False)
    table.add_column("JOB")
    table.add_column("HOSTS", overflow="fold", max_width=24)
    table.add_column("CAN RUN? (fallbacks taken, or why not)", overflow="fold")
    for job_id in job_ids:
        folded: dict[str, tuple[list[str], Text]] = {}
        for host in hosts:
            cell = _job_cell((host.get("jobs") or {}).get(job_id), host)
            folded.setdefault(cell.plain, ([], cell))[0].append(host["name"])
        for i, (names, cell) in enumerate(folded.values()):
            label = "all" if len(folded) == 1 and len(hosts) > 1 else fold_names(names)
            table.add_row(job_id if i == 0 else "", label, cell)
    return table


def host_needs(hosts: Sequence[Mapping]) -> list[Text]:
    """One line per host that lacks something a traced host needs, with the fix."""
    lines = []
    for host in hosts:
        facts = host.get("facts")
        need = root_remedy(facts)
        if host["outcome"] in ("no-bcc", "become-failed", "cache-error"):
            need = host.get("reason")
        if need:
            lines.append(Text(f"{host['name']}: {need}", style="yellow"))
    return lines


def render_check(
    job_ids: Sequence[str], hosts: Sequence[Mapping], console: Console, code: int
) -> None:
    """Print the preflight report."""
    console.print(Text("FACTS", style="bold"))
    console.print(facts_table(hosts))
    needs = host_needs(hosts)
    if needs:
        console.print(Text("HOSTS NEED", style="bold"))
        for line in needs:
            console.print(line)
    console.print(Text("JOBS", style="bold"))
    console.print(jobs_table(job_ids, hosts))
    bad = sum(
        1
        for h in hosts
        for j in job_ids
        if ((h.get("jobs") or {}).get(j) or {}).get("status") != "ok"
    )
    verdict = (
        "every job can run on every host"
        if bad == 0
        else f"{bad} job/host pair(s) cannot run"
    )
    console.print(
        Text(
            f"{len(hosts)} hosts, {len(job_ids)} jobs: {verdict} (exit {code})",
            style="green" if bad == 0 else "red",
        )
    )
