"""Transports: how the controller reaches a host (ssh, or local for localhost)."""

from .base import AgentProcess, HostFailure, Transport
from .local import LocalTransport
from .ssh import SSHTransport

__all__ = [
    "AgentProcess",
    "HostFailure",
    "LocalTransport",
    "SSHTransport",
    "Transport",
    "transport_for",
]


def transport_for(host, options) -> Transport:
    """Pick the transport a host asks for (ansible_connection=local, else ssh)."""
    if host.connection == "local":
        return LocalTransport(host, options)
    return SSHTransport(host, options)
