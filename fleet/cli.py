"""The `fleet` CLI: parse arguments, call the library, map outcomes to exit codes.

The arguments, their help and examples live in cliargs.py; what each
subcommand does lives in commands.py.
"""

from __future__ import annotations

import signal
import sys
import warnings

from rich.console import Console

from .cliargs import EXIT_BAD_INPUT, build_parser, parse_args
from .errors import FleetError, SpellingWarning

EXIT_INTERRUPTED = 99


def version_text() -> str:
    """What --version prints: fleet's version, the config file, Python."""
    from . import __version__
    from .ansible_config import find_config_file

    path, _ = find_config_file()
    python = sys.version.split()[0]
    return (f"fleet {__version__}\n  config file = {path}\n"
            f"  python version = {python} ({sys.executable})")


def _handler(command: str):
    """The cmd_* function of a subcommand; history's need no SSH or BPF imports."""
    from . import histcommands

    handler = getattr(histcommands, f"cmd_{command}", None)
    if handler is None:
        from . import commands

        handler = getattr(commands, f"cmd_{command}")
    return handler


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script."""
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(build_parser(version_text), argv)
    err = Console(stderr=True, emoji=False,
                  width=80 if not sys.stderr.isatty() else None)
    _show_spelling_warnings(err)
    try:
        return _handler(args.command)(args, err)
    except FleetError as error:
        err.print(f"fleet: {error}", markup=False, highlight=False)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        err.print("fleet: interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # `fleet jobs | head`: the reader left; not an error
        sys.stderr.close()
        return 0


def _show_spelling_warnings(err: Console) -> None:
    """Print old-spelling warnings as one `fleet: warning:` paragraph each."""
    def show(message, category, filename, lineno, file=None, line=None):
        if issubclass(category, SpellingWarning):
            err.print(f"fleet: warning: {message}", markup=False, highlight=False)
        else:
            _SHOW_WARNING(message, category, filename, lineno, file, line)

    warnings.showwarning = show


_SHOW_WARNING = warnings.showwarning


def run() -> None:
    """The program `fleet`: main(), then exit with its code.

    Once main has returned, the results are written and the report printed: a
    late Ctrl-C (a second one right after the first) must not kill the process
    while Python shuts down, where SIGINT is back to its default action.
    """
    code = main()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    sys.exit(code)


if __name__ == "__main__":
    run()
