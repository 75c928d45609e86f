"""The C headers fleet ships for jobs (``#include <fleet.h>``), made visible to BCC.

The headers travel inside the agent's bundle (bundle.py puts bpf/include/*.h
at agent/include/), so they are pushed and verified with it. Clang needs real
files: the agent writes them once into its cache dir, in a folder named by
their content, and compiles with ``-I`` on it.
"""

import hashlib
import os
import pkgutil

HEADERS = ("fleet.h",)
_CHECKOUT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                         "bpf", "include")


def header_bytes(name):
    """A header's bytes: from the bundle, else (a checkout) from bpf/include/."""
    try:
        data = pkgutil.get_data("agent", "include/" + name)
    except OSError:
        data = None
    if data is None:
        with open(os.path.join(_CHECKOUT, name), "rb") as f:
            data = f.read()
    return data


def include_dir(cache_dir):
    """The folder holding this bundle's headers, written there if missing."""
    files = {name: header_bytes(name) for name in HEADERS}
    digest = hashlib.sha256(b"".join(files[n] for n in HEADERS)).hexdigest()[:16]
    folder = os.path.join(cache_dir, "include-" + digest)
    for name, data in files.items():
        path = os.path.join(folder, name)
        if _same(path, data):
            continue
        os.makedirs(folder, mode=0o700, exist_ok=True)
        tmp = "%s.%d" % (path, os.getpid())
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    return folder


def _same(path, data):
    try:
        with open(path, "rb") as f:
            return f.read() == data
    except OSError:
        return False


def cflags(cache_dir):
    """The clang flags that make <fleet.h> found: ``-I<cache>/include-<hash>``.

    Without a cache dir (the agent's modules used from a checkout), the
    checkout's bpf/include/ itself.
    """
    return ["-I%s" % (include_dir(cache_dir) if cache_dir else _CHECKOUT)]
