"""Benchmark: plan-time cost of resolving every host's SSH settings.

fleet resolves each host's user, address, port, keys and jumps from its vars
and ssh_config (asyncssh's parser) before contacting any host, and again at
connect. Prints the time per host for N hosts against an ssh_config with a
few Host blocks and an Include, and against the machine's own config files.
No network, no root. Figures, not pass/fail.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO)]

from fleet.inventory.model import Host  # noqa: E402
from fleet.transport.base import TransportOptions  # noqa: E402
from fleet.transport.sshconfig import (  # noqa: E402
    default_config_files,
    resolve_target,
)

CONFIG = """\
Include {include}
Host bastion
  HostName 10.9.0.1
  User ops
Host web*
  User deploy
  ProxyJump bastion
  IdentityFile ~/.ssh/web_ed25519
Host db*
  Port 2222
Host *
  ServerAliveInterval 30
  IdentitiesOnly yes
"""


def measure(hosts: list[Host], files: list[str] | None) -> float:
    """Seconds per host for resolve_target over all hosts."""
    options = TransportOptions()
    start = time.perf_counter()
    for host in hosts:
        resolve_target(host, options, files)
    return (time.perf_counter() - start) / len(hosts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=2000, help="hosts (default 2000)")
    n = parser.parse_args().n
    hosts = [Host(f"{'web' if i % 2 else 'db'}{i}",
                  {"ansible_host": f"10.{i // 65536}.{i // 256 % 256}.{i % 256}"})
             for i in range(n)]
    with tempfile.TemporaryDirectory() as tmp:
        include = Path(tmp) / "extra.conf"
        include.write_text("Host legacy*\n  User root\n")
        config = Path(tmp) / "ssh_config"
        config.write_text(CONFIG.format(include=include))
        per_host = measure(hosts, [str(config)])
    print(f"resolve_target, {n} hosts, 12-line ssh_config + Include: "
          f"{per_host * 1e3:.3f} ms/host, {per_host * n:.2f} s in all")
    own = default_config_files()
    per_host = measure(hosts, own)
    print(f"resolve_target, {n} hosts, this machine's {', '.join(own) or 'none'}: "
          f"{per_host * 1e3:.3f} ms/host, {per_host * n:.2f} s in all")


if __name__ == "__main__":
    main()
