"""Checks on loaded YAML mappings: allowed and required keys, with suggestions."""

from __future__ import annotations

import difflib
from typing import Any

import jinja2

from .errors import InputError
from .params import JINJA_ENV
from .yamlsrc import LineDict, line_of


def check_keys(data: Any, allowed: dict, what: str, path: str | None,
               hints: dict | None = None) -> None:
    """Refuse non-mappings, unknown keys (suggesting one) and missing required keys.

    ``allowed`` maps each key to whether it is required; ``hints`` maps words
    from other tools to our key, for suggestions difflib would not make.
    """
    if not isinstance(data, dict):
        raise InputError(f"{what} must be a mapping with keys: {', '.join(allowed)}",
                         path, line_of(data) or None)
    for key in data:
        if key not in allowed:
            raise InputError(f"unknown key {key!r} in {what}"
                             f"{suggest(key, allowed, hints or {})}; expected: "
                             f"{', '.join(allowed)}", path, line_of(data, key))
    for key, required in allowed.items():
        if required and key not in data:
            raise InputError(f"{what} is missing required key {key!r}", path,
                             line_of(data) or None)


def suggest(key: Any, allowed: Any, hints: dict) -> str:
    """' (did you mean X?)' for a near miss among ``allowed``, else ''."""
    close = hints.get(key) if isinstance(key, str) else None
    if close not in allowed:
        matches = difflib.get_close_matches(str(key), list(allowed), n=1)
        close = matches[0] if matches else None
    return f" (did you mean {close!r}?)" if close else ""


def want(value: Any, ok: Any, what: str, path: str | None, line: int | None) -> Any:
    """``value`` if ``ok``, else an InputError: "WHAT, got VALUE" at path:line."""
    if not ok:
        raise InputError(f"{what}, got {value!r}", path, line or None)
    return value


def lined(items: dict, like: Any = None, line: int = 0) -> LineDict:
    """A LineDict of ``items``: keys keep ``like``'s lines, others sit on ``line``."""
    data = LineDict(items)
    data.line = line_of(like) or line if like is not None else line
    data.lines = {k: line_of(like, k, data.line) if like is not None else line
                  for k in items}
    return data


def check_when(when: Any, path: str, line: int) -> str | bool:
    """A slot's `when`: a bool, or a jinja expression that compiles."""
    if isinstance(when, str):
        try:
            JINJA_ENV.compile_expression(when)
        except jinja2.TemplateSyntaxError as err:
            raise InputError(f"bad `when` expression: {err.message}", path,
                             line) from None
        return when
    return want(when, isinstance(when, bool), "when must be a jinja expression or "
                "a bool", path, line)
