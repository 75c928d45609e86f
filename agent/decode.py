"""Turn BPF map keys/values and perf events (ctypes objects) into JSON values."""

import ctypes
import os
import sys

import wire


def block_devices(sys_block="/sys/class/block"):
    """Map block-tracepoint dev numbers (major << 20 | minor) to device names."""
    names = {}
    try:
        entries = os.listdir(sys_block)
    except OSError:
        return names
    for name in entries:
        try:
            with open(os.path.join(sys_block, name, "dev")) as f:
                major, minor = f.read().strip().split(":")
        except (OSError, ValueError):
            continue
        names[(int(major) << 20) | int(minor)] = name
    return names


def disk_dev(name, sys_block="/sys/class/block"):
    """Return the block-tracepoint dev number of a disk name, or None."""
    for dev, dev_name in block_devices(sys_block).items():
        if dev_name == name:
            return dev
    return None


def ip_text(value):
    """An IPv4/IPv6 address (bytes list, or a u32 in network byte order) as text."""
    import ipaddress
    import socket

    if isinstance(value, int):
        # a u32 holding network-order bytes, read in host byte order
        return socket.inet_ntoa(value.to_bytes(4, sys.byteorder))
    raw = bytes(value) if isinstance(value, list) else value
    if isinstance(raw, (bytes, bytearray)) and len(raw) in (4, 16):
        addr = ipaddress.ip_address(bytes(raw))
        # IPv4 carried as IPv4-mapped IPv6 (one field for both families)
        mapped = getattr(addr, "ipv4_mapped", None)
        return str(mapped or addr)
    return str(value)


# Decoders that give the field a new name (dev -> disk); the others keep it.
RENAMING = ("disk",)


class Decoders:
    """Named field decoders from job.yaml (``decode: {field: decoder}``)."""

    @staticmethod
    def ip(value):
        """IPv4 or IPv6 address bytes (or a network-order u32) -> text."""
        return ip_text(value)

    ipv4 = ip
    ipv6 = ip

    def __init__(self):
        self._disks = None

    def disk(self, dev):
        """Block dev number -> disk name ("major:minor" when unknown)."""
        if self._disks is None or dev not in self._disks:
            self._disks = block_devices()
        name = self._disks.get(dev)
        return name if name else "%d:%d" % (dev >> 20, dev & 0xFFFFF)

    def apply(self, record, decode):
        """Decode fields in place; a renaming decoder D turns field F into field D.

        Decoded fields move to the end; usym consumes the ``pid`` beside its
        address (an address means something in its process only).
        """
        from agent import names

        for field, decoder in (decode or {}).items():
            if field in record:
                if decoder not in wire.DECODERS:
                    continue  # the catalog refuses unknown decoders; be safe anyway
                if decoder == "usym":
                    value = names.usym(record.pop(field), record.pop("pid", -1))
                elif decoder in NAMED:
                    value = getattr(names, NAMED[decoder])(record.pop(field))
                else:
                    value = getattr(self, decoder)(record.pop(field))
                record[decoder if decoder in RENAMING else field] = value
        return record


# Decoders that turn a number into a name (agent/names.py).
NAMED = {"ksym": "ksym", "syscall": "syscall", "signal": "signal_name",
         "capability": "capability", "softirq": "softirq",
         "drop_reason": "drop_reason", "tcp_flags": "tcp_flags",
         "open_flags": "open_flags"}


def plain(value):
    """Convert a ctypes value (int, char array, struct) to a JSON value."""
    if isinstance(value, bytes):
        return value.split(b"\0", 1)[0].decode("utf-8", "replace")
    if isinstance(value, ctypes.Array):
        if value._type_ is ctypes.c_char:  # char[]: text; u8[]: numbers
            return bytes(value).split(b"\0", 1)[0].decode("utf-8", "replace")
        return [plain(v) for v in value]
    if isinstance(value, (ctypes.Structure, ctypes.Union)):
        return struct_dict(value)
    if hasattr(value, "value"):
        return value.value
    return value


def struct_dict(obj):
    """Return a dict of a ctypes Structure's (or Union's) fields, via plain().

    BCC's padding members (``__pad_N``, ``__pad_end``) are not fields of the C.
    """
    return {name: plain(getattr(obj, name)) for name, *_ in obj._fields_
            if not name.startswith("__pad")}
