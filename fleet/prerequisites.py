"""What a traced host needs, and the command that installs what it lacks.

A host needs a Python >= 3.8 that can import bcc, and root (a root login, or
passwordless sudo with become). The install command for bcc's Python module
is chosen from the host's os-release (ID, then ID_LIKE), which the agent sends
in its hello facts.
"""

from __future__ import annotations

from collections.abc import Mapping

# os-release ID (or an ID_LIKE word) -> the command installing bcc for Python 3.
BCC_INSTALL = {
    "debian": "apt-get install python3-bpfcc",
    "ubuntu": "apt-get install python3-bpfcc",
    "rhel": "dnf install python3-bcc",
    "centos": "dnf install python3-bcc",
    "rocky": "dnf install python3-bcc",
    "almalinux": "dnf install python3-bcc",
    "fedora": "dnf install python3-bcc",
    "amzn": "dnf install python3-bcc",
    "ol": "dnf install python3-bcc",
    "opensuse": "zypper install python3-bcc",
    "sles": "zypper install python3-bcc",
    "suse": "zypper install python3-bcc",
    "arch": "pacman -S python-bcc",
    "alpine": "apk add py3-bcc",
}
BCC_GUIDE = "https://github.com/iovisor/bcc/blob/master/INSTALL.md"


def bcc_install_command(os_facts: Mapping | None) -> str | None:
    """The install command for the host's distribution, or None if unknown."""
    os_facts = os_facts or {}
    for word in [os_facts.get("id", ""), *str(os_facts.get("id_like", "")).split()]:
        if word in BCC_INSTALL:
            return BCC_INSTALL[word]
    return None


def distribution(os_facts: Mapping | None) -> str:
    """'debian 12' from os-release facts ('' when unknown)."""
    os_facts = os_facts or {}
    return " ".join(p for p in (os_facts.get("id"), os_facts.get("version_id")) if p)


def bcc_remedy(facts: Mapping | None) -> str:
    """How to give a host bcc, for the no-bcc reason and `fleet check`."""
    os_facts = (facts or {}).get("os")
    command = bcc_install_command(os_facts)
    where = distribution(os_facts)
    if command:
        return f"install it with: {command} ({where})"
    where = where or "unknown distribution"
    return f"install BCC's Python module ({where}): {BCC_GUIDE}"


def root_remedy(facts: Mapping | None) -> str | None:
    """What to do when the agent did not run as root, or None when it did."""
    euid = (facts or {}).get("euid")
    if euid in (None, 0):
        return None
    return (f"the agent ran as uid {euid}, not root: log in as root, or use "
            "become (-b or ansible_become) with sudo for this user")


def with_remedy(outcome: str, reason: str, facts: Mapping | None) -> str:
    """A host failure's reason, followed by what would fix it when fleet knows."""
    if outcome == "no-bcc":
        return f"{reason}; {bcc_remedy(facts)}"
    return reason
