"""User-space attach points: uprobes (with libc IFUNC resolution) and USDT probes."""

import ctypes
import os
import re
import struct

from agent.names import as_str

STT_GNU_IFUNC = 10


def glob_regex(glob):
    """A target glob (``vfs_*``, ``tcp_?et*``) as the anchored regex BCC matches."""
    return "^%s$" % "".join(
        ".*" if c == "*" else "." if c == "?" else re.escape(c) for c in glob
    )


def library_path(name):
    """Resolve "c" or "libc.so.6" or a path to a library file (via BCC's lookup)."""
    if "/" in name:
        return name
    from bcc import BPF

    path = BPF.find_library(name if name.startswith("lib") else "lib%s.so" % name)
    if not path and not name.startswith("lib"):
        path = BPF.find_library(name)
    return as_str(path)


def dynsym_type(path, symbol):
    """Return the ELF symbol type (STT_*) of a dynamic symbol, or None (ELF64 LE)."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] != b"\x7fELF" or data[4] != 2:
        return None
    (shoff,) = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum = struct.unpack_from("<HH", data, 0x3A)
    sections = [
        struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize)
        for i in range(shnum)
    ]
    for sec in sections:
        if sec[1] != 11:  # SHT_DYNSYM
            continue
        strtab = sections[sec[6]]
        for off in range(sec[4], sec[4] + sec[5], 24):
            name_off, info = struct.unpack_from("<IB", data, off)
            start = strtab[4] + name_off
            if data[start : data.index(b"\0", start)] == symbol.encode():
                return info & 0xF
    return None


def ifunc_offset(path, symbol):
    """Where an IFUNC symbol resolves on this CPU: its offset in the library.

    Loading the library here and asking the dynamic linker gives the same
    implementation every process on this host gets (the choice depends on the
    CPU's features), e.g. strlen -> __strlen_avx2.
    """
    lib = ctypes.CDLL(path)
    address = ctypes.cast(getattr(lib, symbol), ctypes.c_void_p).value
    real = os.path.realpath(path)
    with open("/proc/self/maps") as maps:
        for line in maps:
            fields = line.split()
            if (
                len(fields) >= 6
                and os.path.realpath(fields[5]) == real
                and int(fields[2], 16) == 0
            ):
                return address - int(fields[0].split("-")[0], 16)
    raise OSError("cannot find %s in this process's mappings" % path)


def attach_uprobe(bpf, point, notes):
    """Attach a uprobe/uretprobe point; an IFUNC symbol goes to its implementation."""
    path = library_path(point.get("library") or point["target"].split(":", 1)[0])
    if not path:
        raise OSError("library %s not found" % point.get("library"))
    symbol, addr = point.get("symbol"), point.get("addr")
    kwargs = {"name": path, "fn_name": point["fn"], "pid": point.get("pid") or -1}
    if addr is not None:
        kwargs["addr"] = int(addr)
    elif point.get("pattern"):  # a glob: every matching symbol of the library
        kwargs["sym_re"] = glob_regex(symbol)
    elif dynsym_type(path, symbol) == STT_GNU_IFUNC:
        kwargs["addr"] = ifunc_offset(path, symbol)
        notes.append(
            "%s is an IFUNC in %s: attached to the implementation it resolves "
            "to on this CPU (offset 0x%x)" % (symbol, path, kwargs["addr"])
        )
    else:
        kwargs["sym"] = symbol
    if point["kind"] == "uretprobe":
        bpf.attach_uretprobe(**kwargs)
    else:
        bpf.attach_uprobe(**kwargs)


def usdt_contexts(points):
    """USDT contexts for BCC, one per usdt point (they must exist before compiling)."""
    from bcc import USDT

    contexts = []
    for point in points:
        if point.get("pid"):
            usdt = USDT(pid=int(point["pid"]))
        else:
            usdt = USDT(path=point.get("binary") or point["target"].split(":", 1)[0])
        usdt.enable_probe(
            probe=point.get("probe") or point["target"].rsplit(":", 1)[1],
            fn_name=point["fn"],
        )
        contexts.append(usdt)
    return contexts
