"""The host's content-addressed cache: shell commands that check it and fill it.

Nothing in the cache is trusted by name alone. The check command refuses a
cache dir that is a symlink, not a directory, owned by someone else or open
to others, and prints the sha256 of each wanted file it holds, so a file
swapped or emptied under its name is pushed again. Uploads go to a unique temp
name and are renamed into place, so two controllers pushing at once are safe.
"""

from __future__ import annotations

import hashlib
import secrets
import shlex

CACHE_DIR = ".cache/fleet"  # relative to the login user's home directory
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
PROBLEM = "problem: "
HOME_PROBLEM = "home: "  # a problem with the home directory, not the cache dir

# POSIX sh. $1 is the cache dir, the rest are the file names wanted. Every
# outcome is one line on stdout: "problem: ..." or "<sha256>  <name>".
_CHECK = r"""
if ! cd 2>/dev/null; then
  if [ -z "$HOME" ]; then echo "problem: home: HOME is not set"
  elif [ ! -e "$HOME" ]; then
    echo "problem: home: $HOME: No such file or directory (ENOENT)"
  elif [ ! -d "$HOME" ]; then echo "problem: home: $HOME: Not a directory (ENOTDIR)"
  else echo "problem: home: $HOME: Permission denied (EACCES)"; fi
  exit 0
fi
d=$1; shift
err=$(mkdir -p -- "$d" 2>&1 >/dev/null)
if [ -h "$d" ]; then echo "problem: is a symbolic link, not a directory"; exit 0; fi
if [ ! -d "$d" ]; then
  if [ -e "$d" ]; then echo "problem: is not a directory"
  else echo "problem: cannot be created: $err" | tr '\n' ' '; echo; fi
  exit 0
fi
set -- "$(id -u)" $(stat -c '%u %a' -- "$d") "$@"
if [ "$2" != "$1" ]; then
  echo "problem: is owned by uid $2, not by the login user (uid $1)"; exit 0
fi
if [ "$3" != 700 ]; then
  echo "problem: has mode $3, expected 700 (only its owner may use it)"; exit 0
fi
cd -- "$d" || { echo "problem: cannot be entered"; exit 0; }
shift 3
for f in "$@"; do [ -f "$f" ] && sha256sum -- "$f"; done
exit 0
"""


def check_command(cache_dir: str, names: list[str]) -> str:
    """Shell command: make and check the cache dir, hash the wanted files in it."""
    args = " ".join(shlex.quote(a) for a in [cache_dir, *names])
    return f"umask 077; sh -c {shlex.quote(_CHECK)} fleet-cache {args}"


def parse_check(output: bytes) -> tuple[str | None, dict[str, str]]:
    """(problem or None, {name: sha256}) from the check command's output."""
    digests: dict[str, str] = {}
    for line in output.decode("utf-8", "replace").splitlines():
        if line.startswith(PROBLEM):
            return line[len(PROBLEM) :].strip(), {}
        digest, _, name = line.partition("  ")
        if len(digest) == 64 and name:
            digests[name] = digest
    return None, digests


def problem_reason(cache_dir: str, problem: str, user: str | None) -> str:
    """The cache-error reason for a problem the check command printed."""
    who = f" of {user}" if user else ""
    if problem.startswith(HOME_PROBLEM):
        return (f"home directory{who} is unusable: {problem[len(HOME_PROBLEM):]}; "
                f"fleet keeps its cache in ~/{cache_dir}")
    return f"cache dir ~/{cache_dir}{who} {problem}"


def upload_command(cache_dir: str, name: str) -> str:
    """Shell command: stdin into the cache under name, via a unique temp file."""
    final = shlex.quote(f"{cache_dir}/{name}")
    tmp = shlex.quote(f"{cache_dir}/.tmp-{name}-{secrets.token_hex(6)}") + "-$$"
    return (
        f"cd && umask 077 && {{ cat > {tmp} && mv -f -- {tmp} {final}; }}"
        f" || {{ rm -f -- {tmp}; exit 1; }}"
    )


def stale_note(name: str, cached: str) -> str:
    """The host note for a cached file that had to be pushed again."""
    what = "was empty" if cached == EMPTY_SHA256 else "did not match its sha256"
    return f"cached {name} {what}: pushed again"


def sha256_hex(data: bytes) -> str:
    """Hex sha256 of bytes (the names and checks of the cache)."""
    return hashlib.sha256(data).hexdigest()
