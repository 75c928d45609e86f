#!/usr/bin/env bash
# The quick-start demo: a 3-host fleet of real sshd on loopback, a disk
# workload, and `fleet run playbooks/disk-latency.yaml` across it.
set -euo pipefail
cd "$(dirname "$0")/.."
DEMO_DIR="${FLEET_DEMO_DIR:-/tmp/fleet-demo}"
PY=.venv/bin/python

"$PY" scripts/sshfleet.py start --dir "$DEMO_DIR" -n 3 >/dev/null
trap '"$PY" scripts/sshfleet.py stop --dir "$DEMO_DIR" >/dev/null' EXIT

# A known disk workload during the window: direct (uncached) writes with dd,
# so every block reaches the disk and shows in biolatency and biosnoop.
(
  sleep 3
  for i in 1 2 3 4 5; do
    dd if=/dev/zero of="$DEMO_DIR/ddfile" bs=64k count=200 oflag=direct 2>/dev/null
    sleep 0.5
  done
  rm -f "$DEMO_DIR/ddfile"
) &

set +e
.venv/bin/fleet run playbooks/disk-latency.yaml -i "$DEMO_DIR/inventory.yaml" --duration 8s
code=$?
set -e
wait
echo "fleet exited with $code"
exit "$code"
