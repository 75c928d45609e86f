"""Error types that the CLI turns into one clear paragraph (never a traceback)."""

from __future__ import annotations

import reprlib


class FleetError(Exception):
    """Base class for every error fleet reports to the user."""


class InputError(FleetError):
    """Bad user input: names the file and line, and says what was expected."""

    def __init__(self, message: str, path: str | None = None, line: int | None = None):
        self.message = message
        self.path = path
        self.line = line
        super().__init__(str(self))

    def __str__(self) -> str:
        where = ""
        if self.path:
            where = f"{self.path}:{self.line}: " if self.line else f"{self.path}: "
        return f"{where}{self.message}"


_BRIEF = reprlib.Repr()
_BRIEF.maxlevel, _BRIEF.maxlist, _BRIEF.maxdict, _BRIEF.maxtuple = 2, 4, 4, 4
_BRIEF.maxstring = _BRIEF.maxother = _BRIEF.maxlong = 40
BRIEF_CHARS = 48


def brief(value: object) -> str:
    """A value for an error message: its repr cut to a few dozen characters.

    Bounded in time too: a structure built by YAML aliases is never expanded.
    """
    try:
        text = _BRIEF.repr(value)
    except ValueError:  # an int past Python's digit limit
        return "a number too long to show"
    return text if len(text) <= BRIEF_CHARS else text[: BRIEF_CHARS - 3] + "..."


class SpellingWarning(FutureWarning):
    """An old spelling that still works (a job schema key renamed, a form merged)."""


def warn_spelling(message: str, path: str | None, line: int | None) -> None:
    """Warn, naming file:line, that an old spelling was read; it still works."""
    import warnings

    where = f"{path}:{line}: " if path and line else (f"{path}: " if path else "")
    warnings.warn(SpellingWarning(f"{where}{message}"), stacklevel=3)
