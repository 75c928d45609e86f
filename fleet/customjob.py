"""Custom jobs: a playbook item that carries its own BCC program.

Such an item is a job.yaml (``fleet.jobspec``) plus ``name:`` and
``source:``/``text:``; it becomes a ``JobSpec`` as a job folder does, so
everything downstream treats both alike. Errors name the playbook's file:line.
"""

from __future__ import annotations

from .catalog import JobSpec, build_spec
from .jobspec import load_program
from .yamlcheck import want
from .yamlsrc import line_of

# Keys that make a jobs item a custom job (beside `name` and `params`).
CUSTOM_KEYS = ("source", "text", "summary", "attach", "outputs", "btf")


def is_custom(item: dict) -> bool:
    """True when a jobs item brings its own program rather than naming a catalog job."""
    return any(key in item for key in CUSTOM_KEYS)


def custom_spec(item: dict, path: str) -> JobSpec:
    """Build the JobSpec of a custom jobs item (already known to be a mapping)."""
    line = line_of(item)
    what = "a custom job (source: or text:)"
    want(item, "name" in item, f"{what} is missing required key 'name'", path, line)
    name = item["name"]
    want(name, isinstance(name, str) and name, "name of a custom job must be a "
         "string", path, line_of(item, "name", line))
    program = load_program(item, path, name, None)
    return build_spec(name, item, path, program, f"your own program "
                      f"{program.source_name}", line, "a jobs item", {"name": True})
