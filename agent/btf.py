"""Read struct member offsets from the kernel's BTF (/sys/kernel/btf/vmlinux).

Jobs never read kernel structs through headers (a host's headers may not match
its kernel). Where a struct walk is unavoidable, the job lists member paths such
as ``task_struct.real_parent`` and the agent defines
``FLEET_OFF_task_struct__real_parent`` (bytes) from this host's BTF before
compiling. Stdlib only: a small parser of the BTF type section.
"""

import json
import os
import struct

VMLINUX = "/sys/kernel/btf/vmlinux"
BTF_MAGIC = 0xEB9F

# kind -> size of the data that follows the 12-byte type header (per vlen item
# where the second value is True)
_EXTRA = {
    1: (4, False),
    2: (0, False),
    3: (12, False),
    4: (12, True),
    5: (12, True),
    6: (8, True),
    7: (0, False),
    8: (0, False),
    9: (0, False),
    10: (0, False),
    11: (0, False),
    12: (0, False),
    13: (8, True),
    14: (4, False),
    15: (12, True),
    16: (0, False),
    17: (4, False),
    18: (0, False),
    19: (12, True),
}
STRUCT, UNION, TYPEDEF, VOLATILE, CONST, RESTRICT, TYPE_TAG = 4, 5, 8, 9, 10, 11, 18
_QUALIFIERS = (TYPEDEF, VOLATILE, CONST, RESTRICT, TYPE_TAG)


class BTFError(Exception):
    """BTF missing, unreadable, or without a requested member."""


class BTF:
    """The types of one BTF blob, indexed enough to find struct members."""

    def __init__(self, data):
        magic, _version, _flags, hdr_len = struct.unpack_from("<HBBI", data, 0)
        if magic != BTF_MAGIC:
            raise BTFError("not BTF data (bad magic)")
        type_off, type_len, str_off, str_len = struct.unpack_from("<IIII", data, 8)
        self._data = data
        self._strings = hdr_len + str_off
        self._types = [None]  # type id 0 is void
        self._structs = {}
        self._scan(hdr_len + type_off, hdr_len + type_off + type_len)

    def _name(self, offset):
        end = self._data.index(b"\0", self._strings + offset)
        return self._data[self._strings + offset : end].decode()

    def _scan(self, pos, end):
        data = self._data
        while pos < end:
            name_off, info, size_or_type = struct.unpack_from("<III", data, pos)
            kind, vlen = (info >> 24) & 0x1F, info & 0xFFFF
            extra, per_item = _EXTRA.get(kind, (0, False))
            self._types.append((pos, kind, vlen, info >> 31, size_or_type, name_off))
            if kind == STRUCT and name_off:
                self._structs.setdefault(self._name(name_off), len(self._types) - 1)
            pos += 12 + (extra * vlen if per_item else extra)

    def _resolve(self, type_id):
        """Follow typedefs and qualifiers to the underlying type id."""
        while self._types[type_id] and self._types[type_id][1] in _QUALIFIERS:
            type_id = self._types[type_id][4]
        return type_id

    def _members(self, type_id):
        """Yield (name, type id, bit offset) of a struct or union's members."""
        pos, _kind, vlen, kflag, _size, _name = self._types[type_id]
        for i in range(vlen):
            name_off, mtype, offset = struct.unpack_from(
                "<III", self._data, pos + 12 + 12 * i
            )
            bits = offset & 0xFFFFFF if kflag else offset
            yield (self._name(name_off) if name_off else ""), mtype, bits

    def _find(self, type_id, member):
        """Bit offset and type of a member, searching anonymous structs/unions too."""
        for name, mtype, bits in self._members(type_id):
            if name == member:
                return bits, mtype
            inner = self._resolve(mtype)
            if not name and self._types[inner][1] in (STRUCT, UNION):
                found = self._find(inner, member)
                if found:
                    return bits + found[0], found[1]
        return None

    def offset(self, path):
        """Byte offset of a dotted member path from the start of its struct."""
        struct_name, *members = path.split(".")
        if struct_name not in self._structs:
            raise BTFError("no struct %s in BTF" % struct_name)
        type_id, total = self._structs[struct_name], 0
        for member in members:
            found = self._find(type_id, member)
            if found is None:
                raise BTFError("no member %s in %s" % (member, path))
            total += found[0]
            type_id = self._resolve(found[1])
        if total % 8:
            raise BTFError("%s is a bitfield" % path)
        return total // 8


def macro(path):
    """The C macro of a member path: a.b -> FLEET_OFF_a__b (bytes)."""
    return "FLEET_OFF_" + path.replace(".", "__")


def offsets(paths, cache_dir=None, vmlinux=VMLINUX):
    """Return {path: byte offset}; raise BTFError when BTF or a member is missing.

    Results are cached per kernel BTF (size + mtime) in the agent's cache dir,
    since parsing vmlinux BTF costs a few tenths of a second.
    """
    if not paths:
        return {}
    try:
        st = os.stat(vmlinux)
    except OSError:
        raise BTFError("no kernel BTF at %s" % vmlinux) from None
    cache = None
    if cache_dir:
        cache = os.path.join(
            cache_dir, "btf-%s-%d.json" % (os.uname().release, st.st_size)
        )
        known = _read_cache(cache)
        if all(p in known for p in paths):
            return {p: known[p] for p in paths}
    with open(vmlinux, "rb") as f:
        btf = BTF(f.read())
    found = {p: btf.offset(p) for p in paths}
    if cache:
        _write_cache(cache, dict(_read_cache(cache), **found))
    return found


def _read_cache(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def _write_cache(path, data):
    tmp = "%s.%d" % (path, os.getpid())
    try:
        with open(tmp, "w") as f:
            json.dump(data, f)
        os.replace(tmp, path)
    except OSError:
        pass
