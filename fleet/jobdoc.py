"""Describe a catalog job for `fleet jobs NAME`: params, attach points, outputs."""

from __future__ import annotations

import textwrap

from .catalog import Catalog, JobSpec
from .errors import InputError

WIDTH = 80


def _wrap(text: str, indent: str) -> list[str]:
    return textwrap.wrap(
        text, WIDTH, initial_indent=indent, subsequent_indent=indent
    ) or [indent.rstrip()]


def list_jobs(catalog: Catalog) -> str:
    """`fleet jobs`: each job and its summary, wrapped to 80 columns."""
    names = catalog.names()
    width = max(map(len, names), default=0) + 2
    lines = []
    for name in names:
        summary = catalog.get(name).summary
        lines += textwrap.wrap(f"{name:<{width}}{summary}", WIDTH,
                               subsequent_indent=" " * width, break_on_hyphens=False)
    return "\n".join(lines)


def _default_units(spec: JobSpec) -> dict[str, str]:
    """Each output's unit with the default params (units may be templates)."""
    try:
        outputs = spec.render(spec.check_params({}), spec.name).outputs
    except InputError:  # a param with no default: show the units as written
        return {}
    return {out["name"]: out.get("unit") for out in outputs}


def describe_job(spec: JobSpec) -> str:
    """Plain text, 80 columns: what the job gives and how to steer it."""
    lines = [spec.name, *_wrap(spec.summary, "  "), "", "params:"]
    if not spec.params:
        lines.append("  (none)")
    for name, param in spec.params.items():
        default = "none" if param.default is None else repr(param.default)
        bcc = f"; bcc {param.bcc}" if param.bcc else ""
        lines += _wrap(f"{name} ({param.expected()}; default {default}{bcc})", "  ")
        if param.help:
            lines += _wrap(param.help, "      ")
    lines += ["", "attach (each probe tries its points in order on the host):"]
    for slot in spec.slots:
        flags = []
        if slot.optional:
            flags.append("optional")
        if slot.when is not True:
            flags.append(f"when {slot.when}")
        extra = f" ({', '.join(flags)})" if flags else ""
        points = " | ".join(f"{p['kind']} {p['target']}" for p in slot.points)
        lines += _wrap(f"{slot.probe}{extra}: {points}", "  ")
    lines += ["", "outputs (units with the default params):"]
    units = _default_units(spec)
    for out in spec.outputs:
        unit = units.get(out["name"], out.get("unit"))
        unit = f", {unit}" if unit else ""
        when = f" (when {out['when']})" if out.get("when", True) is not True else ""
        lines += _wrap(f"{out['name']}{when}: {out['kind']}{unit}", "  ")
        columns = [c["field"] for c in out.get("columns") or []]
        if columns:
            lines += _wrap("columns: " + ", ".join(columns), "      ")
    if spec.btf:
        lines += ["", "struct offsets read from the host's BTF:"]
        lines += _wrap(", ".join(spec.btf), "  ")
    return "\n".join(lines)
