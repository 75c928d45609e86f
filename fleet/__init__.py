"""fleet: run BCC/eBPF tracing jobs across a fleet of hosts and merge the results."""

__version__ = "0.1.0"
