"""Unit tests for agent.headers: finding kernel headers, merging Debian's split trees.

Every test builds a fake /usr/src in tmp_path. Releases are made-up names with no
/lib/modules/<release>/build on a real machine, so the src tree is what is used.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
for _p in (str(REPO), str(REPO / "fleet")):
    if _p not in sys.path:
        sys.path.append(_p)

from agent import headers  # noqa: E402
from agent.headers import _link_tree, _version_key, find_headers  # noqa: E402

RELEASE = "6.1.0-9-cloud-amd64"
COMMON = "linux-headers-6.1.0-9-common"
ARCH = "linux-headers-6.1.0-9-cloud-amd64"


@pytest.fixture(autouse=True)
def no_kernel_source(monkeypatch):
    """Unset BCC_KERNEL_SOURCE, and restore it after the test (find_headers sets it).

    setenv first: delenv of an unset variable records nothing to undo.
    """
    monkeypatch.setenv("BCC_KERNEL_SOURCE", "placeholder")
    monkeypatch.delenv("BCC_KERNEL_SOURCE")


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def common_tree(src: Path, name: str = COMMON) -> Path:
    root = src / name
    write(root / "include/linux/types.h", "common types\n")
    write(root / "include/uapi/linux/bpf.h", "uapi bpf\n")
    write(root / "arch/x86/include/asm/ptrace.h", "common ptrace\n")
    write(root / "arch/x86/include/uapi/asm/ptrace.h", "uapi ptrace\n")
    write(root / "Makefile", "VERSION = 6\n")
    os.symlink("../../lib/linux-kbuild-6.1/scripts", root / "scripts")
    return root


def arch_tree(
    src: Path,
    name: str = ARCH,
    common: Path | None = None,
    config: str = "CONFIG_BPF=y\n",
) -> Path:
    root = src / name
    write(root / ".config", config)
    makefile = f"include {common}/Makefile\n" if common else "# no common tree\n"
    write(root / "Makefile", makefile)
    write(root / "include/generated/autoconf.h", "#define CONFIG_BPF 1\n")
    write(root / "include/config/auto.conf", "CONFIG_BPF=y\n")
    write(root / "arch/x86/include/generated/asm/cpufeatures.h", "gen cpufeatures\n")
    os.symlink("../../lib/linux-kbuild-6.1/scripts", root / "scripts")
    return root


@pytest.fixture
def debian(tmp_path):
    """A fake /usr/src with Debian's common + cloud-amd64 split, and a cache dir."""
    src = tmp_path / "usr-src"
    common = common_tree(src)
    arch = arch_tree(src, common=common)
    cache = tmp_path / "cache"
    cache.mkdir()
    return src, common, arch, cache


def test_merges_the_split_trees(debian):
    src, common, arch, cache = debian
    found = find_headers(str(cache), release=RELEASE, src_root=str(src))
    merged = cache / "kheaders" / f"{COMMON}-{ARCH}"
    assert found == {
        "path": str(merged),
        "how": f"merged {COMMON} + {ARCH}",
        "matches_kernel": True,
        "release": RELEASE,
    }
    assert os.environ["BCC_KERNEL_SOURCE"] == str(merged)
    # common's include/linux beside arch's include/generated and include/config
    assert (merged / "include/linux/types.h").read_text() == "common types\n"
    assert (merged / "include/uapi/linux/bpf.h").read_text() == "uapi bpf\n"
    assert (
        merged / "include/generated/autoconf.h"
    ).read_text() == "#define CONFIG_BPF 1\n"
    assert (merged / "include/config/auto.conf").read_text() == "CONFIG_BPF=y\n"
    assert (merged / "arch/x86/include/asm/ptrace.h").read_text() == "common ptrace\n"
    assert (
        merged / "arch/x86/include/uapi/asm/ptrace.h"
    ).read_text() == "uapi ptrace\n"
    assert (
        merged / "arch/x86/include/generated/asm/cpufeatures.h"
    ).read_text() == "gen cpufeatures\n"
    assert (merged / ".config").read_text() == "CONFIG_BPF=y\n"
    # the arch layer wins where both have a file: its Makefile includes common's
    assert os.readlink(merged / "Makefile") == str(arch / "Makefile")
    assert os.readlink(merged / "scripts") == str(arch / "scripts")
    assert sorted(os.listdir(merged)) == [
        ".config",
        "Makefile",
        "arch",
        "include",
        "scripts",
    ]
    assert sorted(os.listdir(merged / "include")) == [
        "config",
        "generated",
        "linux",
        "uapi",
    ]
    assert sorted(os.listdir(merged / "arch/x86/include")) == [
        "asm",
        "generated",
        "uapi",
    ]
    # directories present in both layers are real dirs; the rest are symlinks
    for d in ("include", "arch", "arch/x86", "arch/x86/include"):
        assert (merged / d).is_dir() and not (merged / d).is_symlink(), d
    assert os.readlink(merged / "include/linux") == str(common / "include/linux")
    assert os.readlink(merged / "include/generated") == str(arch / "include/generated")
    assert os.readlink(merged / "arch/x86/include/asm") == str(
        common / "arch/x86/include/asm"
    )
    # the cache holds only the finished tree (the temp dir was renamed)
    assert os.listdir(cache / "kheaders") == [f"{COMMON}-{ARCH}"]
    assert oct((cache / "kheaders").stat().st_mode & 0o777) == "0o700"


def test_second_call_reuses_the_tree(debian, monkeypatch):
    src, _, _, cache = debian
    first = find_headers(str(cache), release=RELEASE, src_root=str(src))
    marker = Path(first["path"]) / "marker"
    marker.write_text("still here")
    monkeypatch.delenv("BCC_KERNEL_SOURCE")
    second = find_headers(str(cache), release=RELEASE, src_root=str(src))
    assert second == first
    assert marker.read_text() == "still here"  # not rebuilt
    assert os.listdir(cache / "kheaders") == [f"{COMMON}-{ARCH}"]
    assert os.environ["BCC_KERNEL_SOURCE"] == first["path"]


def test_given_kernel_source_is_respected(debian, monkeypatch):
    src, _, _, cache = debian
    monkeypatch.setenv("BCC_KERNEL_SOURCE", "/opt/my-headers")
    found = find_headers(str(cache), release=RELEASE, src_root=str(src))
    assert found == {
        "path": "/opt/my-headers",
        "how": "BCC_KERNEL_SOURCE given",
        "matches_kernel": None,
    }
    assert os.environ["BCC_KERNEL_SOURCE"] == "/opt/my-headers"
    assert os.listdir(cache) == []  # nothing built


def test_empty_kernel_source_is_not_respected(debian, monkeypatch):
    src, _, _, cache = debian
    monkeypatch.setenv("BCC_KERNEL_SOURCE", "")
    found = find_headers(str(cache), release=RELEASE, src_root=str(src))
    assert found["how"] == f"merged {COMMON} + {ARCH}"


def test_exact_release_wins_over_newer(tmp_path):
    src = tmp_path / "src"
    c9 = common_tree(src, "linux-headers-6.1.0-9-common")
    c10 = common_tree(src, "linux-headers-6.1.0-10-common")
    arch_tree(src, "linux-headers-6.1.0-9-cloud-amd64", c9, config="nine\n")
    arch_tree(src, "linux-headers-6.1.0-10-cloud-amd64", c10, config="ten\n")
    found = find_headers(
        str(tmp_path / "cache"), release="6.1.0-9-cloud-amd64", src_root=str(src)
    )
    assert found["how"] == (
        "merged linux-headers-6.1.0-9-common + linux-headers-6.1.0-9-cloud-amd64"
    )
    assert found["matches_kernel"] is True
    assert found["release"] == "6.1.0-9-cloud-amd64"
    assert (Path(found["path"]) / ".config").read_text() == "nine\n"


def test_other_release_takes_the_numerically_newest_tree(tmp_path):
    src = tmp_path / "src"
    c9 = common_tree(src, "linux-headers-6.1.0-9-common")
    c10 = common_tree(src, "linux-headers-6.1.0-10-common")
    arch_tree(src, "linux-headers-6.1.0-9-cloud-amd64", c9, config="nine\n")
    arch_tree(src, "linux-headers-6.1.0-10-cloud-amd64", c10, config="ten\n")
    found = find_headers(
        str(tmp_path / "cache"), release="6.18.44-test-fleet", src_root=str(src)
    )
    assert found == {
        "path": str(
            tmp_path / "cache/kheaders/linux-headers-6.1.0-10-common"
            "-linux-headers-6.1.0-10-cloud-amd64"
        ),
        "how": "merged linux-headers-6.1.0-10-common"
        " + linux-headers-6.1.0-10-cloud-amd64",
        "matches_kernel": False,
        "release": "6.1.0-10-cloud-amd64",
    }
    assert (Path(found["path"]) / ".config").read_text() == "ten\n"


@pytest.mark.parametrize(
    "names, newest",
    [
        (
            ["linux-headers-6.1.0-9-amd64", "linux-headers-6.1.0-10-amd64"],
            "linux-headers-6.1.0-10-amd64",
        ),
        (
            ["linux-headers-5.10.0-28-amd64", "linux-headers-6.1.0-2-amd64"],
            "linux-headers-6.1.0-2-amd64",
        ),
        (
            ["linux-headers-6.10.1-1-amd64", "linux-headers-6.9.12-1-amd64"],
            "linux-headers-6.10.1-1-amd64",
        ),
    ],
)
def test_version_key_orders_numbers_numerically(names, newest):
    assert sorted(names, key=_version_key)[-1] == newest
    assert sorted(reversed(names), key=_version_key)[-1] == newest


def test_trees_without_config_or_generated_are_not_candidates(tmp_path):
    src = tmp_path / "src"
    common_tree(src)  # the common tree alone: no .config, no include/generated
    write(src / "linux-headers-6.1.0-11-amd64/.config", "x")  # no include/generated
    (src / "linux-headers-6.1.0-12-amd64/include/generated").mkdir(
        parents=True
    )  # no .config
    write(src / "linux-kbuild-6.1/.config", "x")
    (src / "linux-kbuild-6.1/include/generated").mkdir(parents=True)
    found = find_headers(str(tmp_path / "cache"), release=RELEASE, src_root=str(src))
    assert found == {
        "path": None,
        "how": f"no linux-headers found in {src}",
        "matches_kernel": False,
    }
    assert "BCC_KERNEL_SOURCE" not in os.environ
    assert not (tmp_path / "cache").exists()


def test_missing_src_root(tmp_path):
    found = find_headers(
        str(tmp_path), release=RELEASE, src_root=str(tmp_path / "nope")
    )
    assert found == {
        "path": None,
        "how": f"no linux-headers found in {tmp_path / 'nope'}",
        "matches_kernel": False,
    }
    assert "BCC_KERNEL_SOURCE" not in os.environ


@pytest.mark.parametrize(
    "makefile",
    [
        "# generated\n",
        "include /nonexistent/linux-headers-common/Makefile\n",  # not a tree
        "include {common}/Makefile.inc\n",
    ],
)
def test_arch_tree_alone_when_no_common_tree_is_named(tmp_path, makefile):
    src = tmp_path / "src"
    common = common_tree(src)
    arch = arch_tree(src)
    (arch / "Makefile").write_text(makefile.format(common=common))
    found = find_headers(str(tmp_path / "cache"), release=RELEASE, src_root=str(src))
    merged = tmp_path / "cache" / "kheaders" / ARCH
    assert found["path"] == str(merged)
    assert found["how"] == f"merged {ARCH}"
    assert sorted(os.listdir(merged)) == [
        ".config",
        "Makefile",
        "arch",
        "include",
        "scripts",
    ]
    assert os.readlink(merged / "include") == str(arch / "include")
    assert not (merged / "include/linux").exists()


def test_common_include_line_among_other_lines(tmp_path):
    src = tmp_path / "src"
    common = common_tree(src)
    arch = arch_tree(src)
    (arch / "Makefile").write_text(
        f"# auto\nMAKEFLAGS += --no-print-directory\ninclude {common}/Makefile  \n"
        "KBUILD_EXTMOD ?=\n"
    )
    found = find_headers(str(tmp_path / "cache"), release=RELEASE, src_root=str(src))
    assert found["how"] == f"merged {COMMON} + {ARCH}"


def test_link_tree_later_layers_win(tmp_path):
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    write(a / "f.h", "a")
    write(b / "f.h", "b")
    write(a / "only_a.h", "A")
    write(a / "d/x.h", "ax")
    write(b / "d/y.h", "by")
    write(c / "d/x.h", "cx")
    write(a / "mixed/inner.h", "dir in a")
    write(c / "mixed", "file in c")
    os.symlink(str(a / "d"), b / "linked")
    write(c / "linked/z.h", "cz")
    dest = tmp_path / "dest"
    _link_tree(str(dest), [str(a), str(b), str(c)])
    assert sorted(os.listdir(dest)) == ["d", "f.h", "linked", "mixed", "only_a.h"]
    assert (dest / "f.h").read_text() == "b"
    assert (dest / "only_a.h").read_text() == "A"
    assert not (dest / "d").is_symlink()
    assert sorted(os.listdir(dest / "d")) == ["x.h", "y.h"]
    assert (dest / "d/x.h").read_text() == "cx"
    assert (dest / "d/y.h").read_text() == "by"
    # a dir in one layer, a file in a later one: the later one, as a link
    assert os.readlink(dest / "mixed") == str(c / "mixed")
    # a symlinked dir is not merged into: the last layer's entry is linked
    assert os.readlink(dest / "linked") == str(c / "linked")


def test_src_root_default():
    assert headers.SRC_ROOT == "/usr/src"
