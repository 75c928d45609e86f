#!/usr/bin/env bash
# Install what fleet's development, tests and demo need on a Debian 12 machine.
# Idempotent and quick when everything is already in place; run as root.
#
#   - apt: python3-bpfcc (BCC for the system python), openssh-server (the test
#     fleet's sshd), linux-headers-cloud-amd64, bpftool (tests check that no BPF
#     program outlives a run), chromium and chromium-driver (the HTML report is
#     tested in a real headless browser through Playwright), sudo (become tests:
#     -b, -K), prometheus (promtool checks fleet's OpenMetrics) and
#     prometheus-node-exporter (a test reads fleet's textfile through it);
#     neither daemon is started (policy-rc.d below)
#   - debugfs at /sys/kernel/debug and tracefs at /sys/kernel/tracing (BCC 0.26
#     reads tracepoint formats from /sys/kernel/debug/tracing)
#   - .venv (with the python3 on PATH): `pip install -e '.[test]'` when
#     pyproject.toml changed since the last install, and ruff
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"

APT_PACKAGES=(python3-bpfcc openssh-server linux-headers-cloud-amd64 bpftool
              chromium chromium-driver sudo prometheus prometheus-node-exporter)
# The Debian 12 / kernel 6.1 test guest (scripts/vmfleet.py): qemu boots it,
# mmdebstrap and mkfs.ext4 build its image, qemu-img makes its throwaway overlay.
APT_PACKAGES+=(qemu-system-x86 qemu-utils mmdebstrap e2fsprogs)
SYSTEM_PYTHON=/usr/bin/python3
VENV="$REPO/.venv"
STAMP="$VENV/.fleet-install-stamp"

log() { printf 'install-deps: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
is_root() { [ "$(id -u)" -eq 0 ]; }

# One run at a time (make test and make demo may start together).
exec 9<"${BASH_SOURCE[0]}"
flock 9

# --- apt packages -------------------------------------------------------------
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
    status="$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)"
    [ "$status" = "install ok installed" ] || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
    is_root || die "need root to install: ${missing[*]}"
    log "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    # Keep the packages' services (a system sshd on *:22 would take the test
    # fleet's port) from starting, unless a policy is already in place.
    policy_added=0
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        policy_added=1
    fi
    trap 'if [ "$policy_added" = 1 ]; then rm -f /usr/sbin/policy-rc.d; fi' EXIT
    # Wait for another apt (a parallel install) instead of failing at once.
    apt_wait=(-o DPkg::Lock::Timeout=600)
    apt-get "${apt_wait[@]}" update -qq
    apt-get "${apt_wait[@]}" install -y -qq --no-install-recommends "${missing[@]}" \
        >/dev/null
    if [ "$policy_added" = 1 ]; then rm -f /usr/sbin/policy-rc.d; fi
    trap - EXIT
fi

"$SYSTEM_PYTHON" -c 'import bcc' 2>/dev/null \
    || die "$SYSTEM_PYTHON -c 'import bcc' fails (python3-bpfcc installed?)"

# --- debugfs / tracefs ----------------------------------------------------------
mount_fs() {  # type dir
    local type="$1" dir="$2"
    if mountpoint -q "$dir" 2>/dev/null; then return 0; fi
    if ! is_root; then log "warning: $dir not mounted (need root)"; return 0; fi
    mkdir -p "$dir" 2>/dev/null || true
    mount -t "$type" "$type" "$dir" \
        || log "warning: could not mount $type at $dir (kernel tests will fail)"
}
mount_fs debugfs /sys/kernel/debug
mount_fs tracefs /sys/kernel/tracing
# debugfs normally auto-mounts tracefs at debug/tracing; make sure it is there.
if [ -d /sys/kernel/debug ] && [ ! -e /sys/kernel/debug/tracing/events ]; then
    mount_fs tracefs /sys/kernel/debug/tracing
fi

# --- the project's virtualenv -----------------------------------------------------
if ! "$VENV/bin/python" -c 'import sys' >/dev/null 2>&1; then
    py="$(command -v python3 || true)"
    [ -n "$py" ] || die "no python3 on PATH"
    if ! "$py" -c 'import venv, ensurepip' >/dev/null 2>&1; then
        # Debian's python3 lacks ensurepip without python3-venv; try pyenv's.
        for cand in "${PYENV_ROOT:-$HOME/.pyenv}/shims/python3" /root/.pyenv/shims/python3; do
            if [ -x "$cand" ] && "$cand" -c 'import venv, ensurepip' >/dev/null 2>&1; then
                py="$cand"; break
            fi
        done
    fi
    log "creating .venv with $py ($("$py" --version 2>&1))"
    rm -rf "$VENV"
    "$py" -m venv "$VENV"
    rm -f "$STAMP"
fi

PIP=("$VENV/bin/python" -m pip -q --disable-pip-version-check)
want="$(sha256sum pyproject.toml | cut -d' ' -f1)"
have="$(cat "$STAMP" 2>/dev/null || true)"
if [ "$want" != "$have" ]; then
    log "pip install -e '.[test]' (pyproject.toml changed)"
    "${PIP[@]}" install -e '.[test]'
    printf '%s\n' "$want" >"$STAMP"
fi

if ! "$VENV/bin/ruff" --version >/dev/null 2>&1; then
    log "pip install ruff"
    "${PIP[@]}" install ruff
fi

log "ok"
