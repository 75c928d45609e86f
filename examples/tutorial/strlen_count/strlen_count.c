/*
 * Lesson: strlen_count -- a uprobe on a user-space library function.
 *
 * What it shows: attaching to libc's strlen() in every process of a host,
 * reading the function's first argument (PT_REGS_PARM1) and copying the
 * string it points to out of the caller's memory with
 * bpf_probe_read_user_str(), then counting calls per string in a BPF_HASH.
 * The fleet sums the counts per string over the hosts.
 *
 * Adapted: the tutorial copies the string with a generic probe read; here
 * the user-memory helper is used, and the key keeps the first 31 bytes plus
 * the NUL (a longer string is counted under its 31-byte prefix). A probe
 * cannot fault a page in: a string on a page the process has not touched yet
 * (a literal in .rodata, the first time) cannot be read, and that call is
 * counted under the key "<unreadable>" instead of its string. In glibc,
 * strlen is an IFUNC: the symbol is a resolver that picks an implementation
 * (e.g. __strlen_avx2 or __strlen_evex) for the CPU. A uprobe on the symbol
 * would fire only when the resolver runs, so the agent asks the dynamic
 * linker what strlen resolves to on that host and attaches there; the job's
 * notes in results.json say so. Calls that the compiler inlined or replaced
 * by a builtin never reach libc and are not seen.
 */
#include <uapi/linux/ptrace.h>

struct text {
    char s[32];
};

BPF_HASH(calls, struct text, u64, 10240);

int on_strlen(struct pt_regs *ctx)
{
    const char *str = (const char *)PT_REGS_PARM1(ctx);
    if (str == 0)
        return 0;
    struct text key = {};
    if (bpf_probe_read_user_str(&key.s, sizeof(key.s), str) <= 0) {
        struct text unreadable = {.s = "<unreadable>"};
        calls.increment(unreadable);
        return 0;
    }
    calls.increment(key);
    return 0;
}
