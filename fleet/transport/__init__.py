"""Transports: how the controller reaches a host (ssh, or local for localhost)."""

from .base import AgentProcess, HostFailure, Transport
from .become import resolve_become
from .local import LocalTransport
from .ssh import SSHTransport
from .sshconfig import resolve_target

__all__ = [
    "AgentProcess",
    "HostFailure",
    "LocalTransport",
    "SSHTransport",
    "Transport",
    "check_hosts",
    "transport_for",
]


def transport_for(host, options, log=None, note=None) -> Transport:
    """Pick the transport a host asks for (ansible_connection=local, else ssh).

    log gets the connection steps (the host log); note what the user should
    hear about the host (e.g. a newly recorded host key).
    """
    if host.connection == "local":
        return LocalTransport(host, options, log, note)
    return SSHTransport(host, options, log, note)


def check_hosts(hosts, options) -> None:
    """Resolve every host's SSH and become settings; bad ones raise InputError.

    Nothing is contacted: this reads ssh_config and checks that named key files
    can be read, so such mistakes stop a run before it starts.
    """
    for host in hosts:
        if host.connection != "local":
            resolve_target(host, options)
        resolve_become(host, options)
