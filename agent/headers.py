"""Find kernel headers for BCC, merging Debian's split header packages if needed.

BCC looks in /lib/modules/<release>/build. Many hosts lack it (or have only
headers for another kernel release); Debian splits headers into a
``linux-headers-<ver>-common`` tree and an arch tree holding the generated
files and .config. We build a merged tree of symlinks in the agent's cache and
point BCC_KERNEL_SOURCE at it. Tracepoint programs only need the helper headers
to parse, so headers of a nearby release work; struct reads would not, which is
why jobs never read kernel structs through headers.
"""

import os
import re
import shutil

SRC_ROOT = "/usr/src"


def find_headers(cache_dir, release=None, src_root=SRC_ROOT):
    """Return {"path", "how", "matches_kernel"} and set BCC_KERNEL_SOURCE if needed."""
    release = release or os.uname().release
    build = "/lib/modules/%s/build" % release
    if os.environ.get("BCC_KERNEL_SOURCE"):
        path = os.environ["BCC_KERNEL_SOURCE"]
        return {"path": path, "how": "BCC_KERNEL_SOURCE given", "matches_kernel": None}
    if os.path.isdir(os.path.join(build, "include")):
        return {"path": build, "how": "modules build dir", "matches_kernel": True}
    arch_tree = _pick_arch_tree(src_root, release)
    if arch_tree is None:
        return {
            "path": None,
            "how": "no linux-headers found in %s" % src_root,
            "matches_kernel": False,
        }
    common = _common_tree_of(arch_tree)
    layers = [common, arch_tree] if common else [arch_tree]
    merged = _merged_tree(cache_dir, layers)
    os.environ["BCC_KERNEL_SOURCE"] = merged
    name = os.path.basename(arch_tree)
    return {
        "path": merged,
        "how": "merged %s" % " + ".join(os.path.basename(p) for p in layers),
        "matches_kernel": name == "linux-headers-" + release,
        "release": name[len("linux-headers-") :],
    }


def _version_key(name):
    """Sort key for header dir names: numeric parts compare as numbers."""
    return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", name)]


def _pick_arch_tree(src_root, release):
    """Choose the headers tree for this release, else the newest arch tree."""
    try:
        names = os.listdir(src_root)
    except OSError:
        return None
    candidates = [
        n
        for n in names
        if n.startswith("linux-headers-")
        and os.path.isfile(os.path.join(src_root, n, ".config"))
        and os.path.isdir(os.path.join(src_root, n, "include", "generated"))
    ]
    if not candidates:
        return None
    exact = "linux-headers-" + release
    if exact in candidates:
        return os.path.join(src_root, exact)
    return os.path.join(src_root, sorted(candidates, key=_version_key)[-1])


def _common_tree_of(arch_tree):
    """Return the common tree an arch tree's Makefile includes, if any."""
    try:
        with open(os.path.join(arch_tree, "Makefile")) as f:
            text = f.read()
    except OSError:
        return None
    match = re.search(r"^include\s+(\S+)/Makefile\s*$", text, re.M)
    if match and os.path.isdir(os.path.join(match.group(1), "include")):
        return match.group(1)
    return None


def _merged_tree(cache_dir, layers):
    """Build (once) a symlink tree overlaying ``layers``; return its path."""
    tag = "-".join(os.path.basename(p) for p in layers)
    dest = os.path.join(cache_dir, "kheaders", tag)
    if os.path.isdir(dest):
        return dest
    tmp = "%s.tmp%d" % (dest, os.getpid())
    os.makedirs(os.path.dirname(dest), mode=0o700, exist_ok=True)
    shutil.rmtree(tmp, ignore_errors=True)  # left by a crashed agent with our pid
    _link_tree(tmp, layers)
    try:
        os.rename(tmp, dest)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)  # another agent won; same tree
    return dest


def _link_tree(dest, layers):
    """Symlink every entry of the layers into dest; later layers win.

    Where every layer has a directory of the same name, recurse, so that
    e.g. include/ holds common's include/linux beside arch's include/generated.
    """
    os.makedirs(dest, exist_ok=True)
    entries = {}
    for layer in layers:
        for name in os.listdir(layer):
            entries.setdefault(name, []).append(os.path.join(layer, name))
    for name, paths in entries.items():
        real_dirs = [p for p in paths if os.path.isdir(p) and not os.path.islink(p)]
        if len(paths) > 1 and len(real_dirs) == len(paths):
            _link_tree(os.path.join(dest, name), paths)
        else:
            os.symlink(paths[-1], os.path.join(dest, name))
