"""Compile several jobs in one BCC module: clang's fixed cost is paid once.

Each BCC compile costs a few tenths of a second before the job's own code
(clang parsing BCC's helpers and the kernel headers they pull in). Jobs are
merged into one module where that is possible:

- every job's top-level names (maps, functions, struct tags, globals) get a
  job prefix by renaming tokens in its text, since BCC refuses map calls
  through a macro (``#define counts fj0_counts`` does not work);
- ``TRACEPOINT_PROBE(cat, name)`` becomes an ordinary function attached
  explicitly, since two jobs cannot both use the auto-attach name;
- BCC generates a tracepoint's argument struct at each function taking it as
  a parameter, so only the first probe on a tracepoint in a module takes it;
  later ones take ``void *`` and cast (jobs that declare such a parameter
  by hand go to different modules);
- each job's ``-D`` flags become ``#define``/``#undef`` around its text.

Any failure of a merged compile falls back to compiling each job alone, so the
merge can only save time, never change a result.
"""

import re

TOKEN = re.compile(
    r'//[^\n]*|/\*.*?\*/|"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\'|'
    r"[A-Za-z_]\w*|->|\S",
    re.S,
)
TP_PROBE = re.compile(r"\bTRACEPOINT_PROBE\s*\(\s*(\w+)\s*,\s*(\w+)\s*\)")
TP_STRUCT = re.compile(r"\btracepoint__(\w+?)__(\w+)\b")
MAP_DECL = re.compile(r"\bBPF_([A-Z_]+)\s*\(([^;]*?)\)\s*;")
STRUCT_TAG = re.compile(r"\bstruct\s+([A-Za-z_]\w*)\s*\{")
FUNC_DEF = re.compile(
    r"^[A-Za-z_][\w \t\*]*?\b([A-Za-z_]\w*)\s*\([^;{}]*\)\s*\{", re.M
)
GLOBAL_DEF = re.compile(
    r"^static\s+[\w \t\*]*?\b([A-Za-z_]\w*)\s*(?:\[[^\]]*\])?\s*=", re.M
)
MACRO_DEF = re.compile(r"^\s*#\s*define\s+([A-Za-z_]\w*)", re.M)
# Auto-attach prefixes BCC acts on by name: such jobs compile alone.
AUTO_NAMES = re.compile(
    r"\b(kprobe__|kretprobe__|raw_tracepoint__|kfunc__|lsm__)\w+"
)
CAST_MARK = "/*FLEET_CAST %s*/"
CAST = re.compile(r"/\*FLEET_CAST ([^*]+)\*/(\s*(?:#line[^\n]*\n\s*)?)\{")
KEYWORDS = {"int", "char", "void", "struct", "static", "const", "return", "if",
            "else", "for", "while", "sizeof", "unsigned", "long", "u32", "u64",
            "s32", "s64", "u8", "u16", "args", "ctx"}


def _insert_casts(text):
    """Open each cast-marked probe body with ``struct ... *args = fleet_tp_ctx;``."""
    return CAST.sub(lambda m: "%s{ %s *args = fleet_tp_ctx;" % (m.group(2), m.group(1)),
                    text)


def tracepoints(text):
    """Tracepoints whose args struct a job declares itself, not via TRACEPOINT_PROBE.

    TRACEPOINT_PROBE uses are rewritten so that only the first one in a module
    makes BCC generate the struct; a hand-written ``struct tracepoint__x__y``
    parameter always does, so two such jobs must not share a module.
    """
    without_macros = TP_PROBE.sub("", text)
    return {"%s:%s" % m for m in TP_STRUCT.findall(without_macros)}


def mergeable(job):
    """Whether a job can share a module: no USDT/uprobes, no by-name auto-attach."""
    if "attach" not in job.plan or "source" not in job.plan:
        return False  # nothing to check against: compile it alone
    kinds = {p["kind"] for slot in job.plan["attach"] for p in slot["points"]}
    if kinds & {"usdt", "uprobe", "uretprobe"}:
        return False
    return not AUTO_NAMES.search(job.plan["source"])


def groups(jobs):
    """Split jobs into groups whose tracepoints do not overlap (first fit)."""
    result = []
    for job in jobs:
        used = tracepoints(job.plan["source"])
        for group in result:
            if not (group["tracepoints"] & used):
                group["jobs"].append(job)
                group["tracepoints"] |= used
                break
        else:
            result.append({"jobs": [job], "tracepoints": set(used)})
    return [g["jobs"] for g in result]


def declared_names(text):
    """Top-level names a job declares: maps, functions, struct tags, globals."""
    names = set(STRUCT_TAG.findall(text)) | set(FUNC_DEF.findall(text))
    names |= set(GLOBAL_DEF.findall(text))
    for kind, args in MAP_DECL.findall(text):
        parts = [a.strip() for a in args.split(",")]
        index = 3 if kind.startswith("TABLE") else 0
        if len(parts) > index and re.fullmatch(r"[A-Za-z_]\w*", parts[index]):
            names.add(parts[index])
    return names - KEYWORDS


def _is_comment(token):
    return token.startswith("//") or token.startswith("/*")


def _next_significant(tokens, i):
    for token in tokens[i + 1:]:
        if not _is_comment(token):
            return token
    return ""


def rename(text, names, prefix):
    """Prefix every use of ``names`` that is not a member or a struct field."""
    matches = list(TOKEN.finditer(text))
    tokens = [m.group(0) for m in matches]
    # Keep the original spacing: copy the gaps between tokens as they are.
    out, pos, prev, struct_depth, depth, pending_struct = [], 0, "", [], 0, False
    for i, match in enumerate(matches):
        token = tokens[i]
        out.append(text[pos:match.start()])
        pos = match.end()
        if token == "{":
            depth += 1
            if pending_struct:
                struct_depth.append(depth)
            pending_struct = False
        elif token == "}":
            if struct_depth and struct_depth[-1] == depth:
                struct_depth.pop()
            depth -= 1
        elif token == "struct":
            pending_struct = True
        elif token in (";", "(", ")", "="):
            pending_struct = False
        generated = prev == "struct" and token.startswith("tracepoint__")
        if token in names and prev not in (".", "->") and not generated:
            after = _next_significant(tokens, i)
            field = struct_depth and after in (";", "[", ":", ",")
            if not field:
                token = prefix + token
        out.append(token)
        if not _is_comment(token):
            prev = token
    out.append(text[pos:])
    return "".join(out)


def compile_group(jobs):
    """Compile jobs in one module; give each its view. Raises if BCC refuses."""
    from bcc import BPF, lib

    from agent import include
    from agent.backend import _CapturedStderr

    parts, attach, generated = [], [], set()
    for index, job in enumerate(jobs):
        job.prefix = "fj%d_" % index
        text, points = namespaced(job, job.prefix, generated)
        parts.append(text)
        attach.append(points)
    try:
        with _CapturedStderr():
            bpf = BPF(text="\n".join(parts),
                      cflags=include.cflags(jobs[0].cache_dir))
    except Exception:
        _release(jobs, None)
        raise
    shared = list(jobs)
    try:
        for job, points in zip(jobs, attach):
            job.bpf, job.shared = bpf, shared
            for name, target in points:
                if lib.bpf_function_start(bpf.module, name.encode()):
                    _attach_tracepoint(bpf, lib, target, name)
            job.attach_chosen()
    except Exception:
        _release(jobs, bpf)
        raise
    return bpf


def _release(jobs, bpf):
    """After a failed group compile: free the module, leave each job as new."""
    for job in jobs:
        job.bpf, job.shared, job.prefix = None, None, ""
    if bpf is not None:
        try:
            bpf.cleanup()
        except Exception:  # half-attached: what is left goes with the process
            pass


def _attach_tracepoint(bpf, lib, target, name):
    """Attach one function; several functions of a module may share a tracepoint.

    (BCC's attach_tracepoint keeps one fd per tracepoint name.)
    """
    from bcc import BPF

    fn = bpf.load_func(name.encode(), BPF.TRACEPOINT)
    category, event = target.encode().split(b":")
    fd = lib.bpf_attach_tracepoint(fn.fd, category, event)
    if fd < 0:
        raise OSError("cannot attach %s to tracepoint %s" % (name, target))
    bpf.tracepoint_fds[target.encode() + b"#" + name.encode()] = fd


def namespaced(job, prefix, generated=None):
    """A job's text for a shared module, and the tracepoint functions to attach.

    ``generated`` holds the tracepoints whose args struct an earlier job of the
    module already made BCC generate: later probes on them take ``void *``
    and cast, so the struct is not generated (and defined) twice.
    """
    generated = set() if generated is None else generated
    text = job.source_text()
    attach = []

    def probe(match):
        category, event = match.group(1), match.group(2)
        name = "%stp__%s__%s" % (prefix, category, event)
        attach.append((name, "%s:%s" % (category, event)))
        struct = "struct tracepoint__%s__%s" % (category, event)
        if (category, event) in generated:
            return "int %s(void *fleet_tp_ctx)%s" % (name, CAST_MARK % struct)
        generated.add((category, event))
        return "int %s(%s *args)" % (name, struct)

    names = declared_names(job.plan["source"])
    text = _insert_casts(TP_PROBE.sub(probe, rename(text, names, prefix)))
    for name in sorted(n for n in names if n.startswith("tracepoint__")):
        category, event = TP_STRUCT.match(name).groups()
        attach.append((prefix + name, "%s:%s" % (category, event)))
    defines = job.defines
    head = "".join("#define %s %s\n" % (k, v) for k, v in defines)
    tail = "".join("#undef %s\n" % k for k, _ in defines)
    tail += "".join("#undef %s\n" % m for m in sorted(set(MACRO_DEF.findall(text))))
    if job.trace:
        tail += "#undef bpf_trace_printk\n"
    return head + text + "\n" + tail, attach
