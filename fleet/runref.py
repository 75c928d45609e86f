"""A RUN argument: a run id, a run folder, ``last`` or ``last~K``, resolved once.

Every command that takes a RUN (``fleet history show``, ``fleet diff``, ``fleet
export openmetrics``, ``fleet report``) resolves it here, so they all accept
the same spellings:

- a run folder (or its results.json): read from the folder, no history needed;
- ``last``: the newest recorded run; ``last~K``: K runs before it (``last~0``
  is ``last``), optionally among the runs of one playbook;
- anything else: a run id recorded in the history (the run folder's name).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fleet.errors import InputError
from fleet.history import History, HistoryError
from fleet.runrecord import load_folder, results_path

__all__ = ["RunRef", "load_record", "resolve_run"]

_LAST = re.compile(r"last(?:~(\d+))?")


@dataclass
class RunRef:
    """Where a RUN argument points: its run id, and its folder when known."""

    text: str
    run_id: str
    run_dir: str | None
    from_folder: bool

    @property
    def results_path(self) -> str | None:
        """The run's results.json, if its folder still has one."""
        return results_path(self.run_dir) if self.run_dir else None


def resolve_run(text: str, history_path: str | Path | None,
                playbook: str | None = None) -> RunRef:
    """Resolve a RUN argument; bad or unknown ones raise InputError."""
    folder = results_path(text)
    if folder is not None:
        record = load_folder(text)
        return RunRef(text, record["run"]["id"], record["run"]["run_dir"], True)
    if history_path is None:
        raise InputError(f"RUN {text!r}: no such run folder, and history is off")
    with _open(history_path) as history:
        summary = _find(history, text, playbook)
    return RunRef(text, summary["id"], summary.get("run_dir"), False)


def load_record(text: str, history_path: str | Path | None,
                playbook: str | None = None, with_stacks: bool = True) -> dict:
    """Resolve a RUN argument and return its run record (runrecord.py)."""
    ref = resolve_run(text, history_path, playbook)
    if ref.from_folder:
        return load_folder(text)
    with _open(history_path) as history:
        return history.load(ref.run_id, with_stacks)


def _open(history_path: str | Path) -> History:
    """Open an existing history; a missing one is bad input, not a new file."""
    try:
        return History(history_path, create=False)
    except HistoryError as error:
        raise InputError(str(error)) from None


def _find(history: History, text: str, playbook: str | None) -> dict[str, Any]:
    """The summary of the run a RUN argument names in the history."""
    last = _LAST.fullmatch(text.strip())
    if last:
        back = int(last.group(1) or 0)
        runs = history.runs(playbook=playbook, limit=back + 1)
        if len(runs) <= back:
            among = f" of playbook {playbook!r}" if playbook else ""
            raise InputError(
                f"RUN {text!r}: the history has {len(runs)} run(s){among}, so "
                f"there is no {text}; see 'fleet history'", str(history.path))
        return runs[back]
    summary = history.find(text)
    if summary is None:
        raise InputError(
            f"RUN {text!r} is not a run folder, 'last', 'last~K' or a recorded "
            "run id; see 'fleet history' for the recorded runs", str(history.path))
    return summary
