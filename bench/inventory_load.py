"""Benchmark: loading a large Ansible inventory folder, fleet against
ansible-inventory.

Writes an inventory folder of N hosts (INI files of 100 hosts each, a group
tree, group_vars/ files and folders, one host_vars file per 10 hosts), then
times `fleet inventory --list` and `ansible-inventory --list` on it (wall
seconds and peak RSS), and checks both JSON documents are equal.
Figures, not pass/fail. Needs ansible-core (the test extra).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def write_inventory(folder: Path, hosts: int) -> None:
    """The benchmark's inventory folder with `hosts` hosts."""
    (folder / "group_vars" / "web").mkdir(parents=True)
    (folder / "host_vars").mkdir()
    for part in range(0, hosts, 100):
        group = f"rack{part // 100:03d}"
        names = [f"h{n:06d}" for n in range(part, min(part + 100, hosts))]
        lines = [f"[{group}]"] + [f"{n} ansible_host=10.{n[1:3]}.{n[3:5]}.{n[5:]}"
                                  for n in names]
        lines += [f"[{'web' if part % 200 else 'db'}:children]", group,
                  f"[{group}:vars]", f"rack={group}"]
        (folder / f"{group}.ini").write_text("\n".join(lines) + "\n")
        for name in names[::10]:
            (folder / "host_vars" / f"{name}.yml").write_text(f"serial: {name}\n")
    (folder / "zz-prod.ini").write_text("[web]\n[db]\n[prod:children]\nweb\ndb\n")
    (folder / "group_vars" / "all.yml").write_text("ansible_user: fleet\n")
    (folder / "group_vars" / "web" / "main.yml").write_text("tier: web\n")
    (folder / "group_vars" / "db.yaml").write_text("tier: db\n")


# Runs a command as a child and prints its peak RSS (KiB) on stderr's last line.
PEAK = ("import resource, subprocess, sys; "
        "code = subprocess.call(sys.argv[1:]); "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, "
        "file=sys.stderr); sys.exit(code)")


def timed(argv: list[str], env: dict) -> tuple[float, str, int]:
    """Wall seconds, stdout and peak RSS (KiB) of one command."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", PEAK, *argv], capture_output=True,
                          text=True, env=env, check=True)
    wall = time.perf_counter() - start
    return wall, done.stdout, int(done.stderr.split()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, nargs="+", default=[100, 1000, 5000])
    args = parser.parse_args()
    ansible = Path(sys.executable).parent / "ansible-inventory"
    print(f"{'hosts':>6} {'fleet s':>8} {'fleet MiB':>9} {'ansible s':>9} "
          f"{'ansible MiB':>11} same")
    for count in args.hosts:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp) / "inventory"
            write_inventory(folder, count)
            (Path(tmp) / "empty.cfg").write_text("")
            env = {**os.environ, "ANSIBLE_CONFIG": str(Path(tmp) / "empty.cfg"),
                   "PYTHONPATH": str(REPO)}
            ours_s, ours, rss = timed([sys.executable, "-m", "fleet", "inventory",
                                       "--list", "-i", str(folder)], env)
            theirs_s, theirs, their_rss = timed(
                [str(ansible), "--list", "-i", str(folder)], env)
            same = json.loads(ours) == json.loads(theirs)
            print(f"{count:>6} {ours_s:>8.2f} {rss / 1024:>9.0f} {theirs_s:>9.2f} "
                  f"{their_rss / 1024:>11.0f} {'yes' if same else 'NO'}")


if __name__ == "__main__":
    main()
