"""The `fleet` CLI: parse arguments, call the library, map outcomes to exit codes.

The arguments, their help and examples live in cliargs.py; what each
subcommand does lives in commands.py.
"""

from __future__ import annotations

import sys

from rich.console import Console

from .cliargs import EXIT_BAD_INPUT, build_parser, parse_args
from .errors import FleetError

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


if __name__ == "__main__":
    sys.exit(main())
