"""The known workload of the vm tests, run inside the guest (Python 3.11, stdlib).

Pushed to the guest and started over ssh before fleet's run:

    python3 -u guest_workload.py SCENARIO WORKDIR [PORTS...]

It prepares (files, binaries, waiting children whose pids the playbook's
filters need), prints one JSON line {"ready": {...}}, waits for a line on
stdin (the window is open), runs its steps one after another and prints one
JSON line {"done": {...}} with what the checks need: pids, sizes, timings.
Every process whose events are checked renames itself (prctl) to a name no
other process in the guest has, or is told apart by its pid.
"""

import ctypes
import json
import mmap
import os
import shutil
import socket
import subprocess
import sys
import threading
import time

LIBC = ctypes.CDLL(None, use_errno=True)
PAGE = 4096
CACHE_PAGES = 4096  # a 16 MiB file
DD_4K, DD_64K = 100, 50
EXECS = 20
SLEEPS = 100
ROUNDS = 100
SYNCS, SYNC_GAP_S = 3, 0.2
STRIDE_PAGES = 32  # fault-around maps 16 pages: touch one page in 32
URANDOM_READS, GETRANDOMS = 5, 2
SPINNER = "/root/fleetspinner"  # pushed by the test: the guest has no compiler


def rename(name):
    """Set this process's comm (what the jobs' comm filters compare)."""
    LIBC.prctl(15, name.encode(), 0, 0, 0)


def say(key, value):
    sys.stdout.write(json.dumps({key: value}) + "\n")
    sys.stdout.flush()


def run_then_exit(body):
    """In a forked child: run body(), exit 0, or 1 with the error on stderr."""
    try:
        body()
    except BaseException as err:
        sys.stderr.write(f"child {os.getpid()} failed: {err!r}\n")
        os._exit(1)
    os._exit(0)


def waiting_child(body):
    """Fork a child that runs body() once released; (pid, release function)."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(write_end)
        os.read(read_end, 1)
        run_then_exit(body)
    os.close(read_end)

    def release():
        os.write(write_end, b"g")
        os.close(write_end)
    return pid, release


def in_child(body):
    """Run body() in a forked child; return (its pid, the JSON it reported)."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        run_then_exit(lambda: os.write(write_end, json.dumps(body()).encode()))
    os.close(write_end)
    chunks = []
    while True:
        chunk = os.read(read_end, 65536)
        if not chunk:
            break
        chunks.append(chunk)
    os.close(read_end)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, "child failed"
    return pid, json.loads(b"".join(chunks) or b"null")


# --- page cache --------------------------------------------------------------

def make_cache_file(path):
    """A CACHE_PAGES file, written and synced, then dropped from the cache."""
    with open(path, "wb") as f:
        f.write(os.urandom(CACHE_PAGES * PAGE))
        f.flush()
        os.fsync(f.fileno())
    drop_cache(path)


def drop_cache(path):
    """Drop the file's pages; twice, as pages still in per-CPU LRU batches stay."""
    fd = os.open(path, os.O_RDONLY)
    for _ in range(2):
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        time.sleep(0.1)
    os.close(fd)


def resident_pages(path):
    """How many of the file's pages are in the page cache now (mincore)."""
    size = os.path.getsize(path)
    pages = (size + PAGE - 1) // PAGE
    LIBC.mmap.restype = ctypes.c_void_p
    LIBC.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int,
                          ctypes.c_int, ctypes.c_int, ctypes.c_long]
    fd = os.open(path, os.O_RDONLY)
    addr = LIBC.mmap(None, size, mmap.PROT_READ, mmap.MAP_SHARED, fd, 0)
    os.close(fd)
    assert addr not in (None, ctypes.c_void_p(-1).value)
    vec = (ctypes.c_ubyte * pages)()
    try:
        assert LIBC.mincore(ctypes.c_void_p(addr), ctypes.c_size_t(size), vec) == 0
    finally:
        LIBC.munmap(ctypes.c_void_p(addr), ctypes.c_size_t(size))
    return sum(v & 1 for v in vec)


def read_all(path):
    with open(path, "rb") as f:
        while f.read(1 << 20):
            pass


def cached_reads(path):
    """pread every page, 8 at a time: one page-cache batch per call."""
    fd = os.open(path, os.O_RDONLY)
    for offset in range(0, CACHE_PAGES * PAGE, 8 * PAGE):
        assert len(os.pread(fd, 8 * PAGE, offset)) == 8 * PAGE
    os.close(fd)
    return CACHE_PAGES


def strided_faults(path):
    """Touch one page in STRIDE_PAGES of a mapping: one filemap fault each."""
    touched = 0
    with open(path, "rb") as f:
        with mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ) as m:
            for page in range(0, CACHE_PAGES, STRIDE_PAGES):
                m[page * PAGE]
                touched += 1
    return touched


# --- small helpers of the steps -----------------------------------------------

def release_and_wait(release, pid):
    """Release a waiting child, wait for it; its CPU seconds (user + system)."""
    release()
    _, status, usage = os.wait4(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    return usage.ru_utime + usage.ru_stime


def execs(program):
    """Exec program EXECS times with arguments argI x; their pids."""
    pids = []
    for i in range(EXECS):
        child = subprocess.Popen([program, f"arg{i}", "x"])
        assert child.wait(30) == 0
        pids.append(child.pid)
    return pids


def dd(work, name, bs, count):
    argv = [os.path.join(work, "fleetdd"), "if=/dev/zero",
            "of=" + os.path.join(work, name), "bs=" + bs, f"count={count}",
            "oflag=direct"]
    child = subprocess.Popen(argv, stderr=subprocess.DEVNULL)
    assert child.wait(120) == 0
    return child.pid


def opens(work):
    """3 failed opens, 2 openat(O_CREAT), 1 openat2(O_CREAT), 1 plain open."""
    rename("fleetopen")
    how = (ctypes.c_uint64 * 3)(os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o600, 0)
    LIBC.syscall.restype = ctypes.c_long
    missing = os.path.join(work, "missing-dir", "file")
    created = [os.path.join(work, f"c{i}") for i in range(3)]
    for _ in range(3):
        try:
            os.open(missing, os.O_RDONLY)
        except FileNotFoundError:
            pass
    fds = [os.open(created[0], os.O_WRONLY | os.O_CREAT, 0o600),
           os.open(created[1], os.O_WRONLY | os.O_CREAT, 0o600)]
    fds.append(LIBC.syscall(437, -100, created[2].encode(), ctypes.byref(how), 24))
    plain = os.open(created[0], os.O_RDONLY)
    return {"missing": missing, "created": created, "fds": fds, "plain": plain}


def urandom_reads():
    rename("fleeturand")
    urandom = os.open("/dev/urandom", os.O_RDONLY)
    high = os.dup2(urandom, 200)  # past the first fdtable
    got = [len(os.read(fd, PAGE)) for fd in (urandom, urandom, urandom, high, high)]
    got += [len(os.getrandom(16)) for _ in range(GETRANDOMS)]
    zero = os.open("/dev/zero", os.O_RDONLY)
    os.read(zero, PAGE)  # a decoy: not urandom
    return {"bytes": sum(got)}


def blocked_pipe_read():
    """A read blocked 50 ms, then one that finds its byte waiting."""
    data_r, data_w = os.pipe()
    ready_r, ready_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        rename("fleetpipe")
        os.write(ready_w, b"r")
        first = os.read(data_r, 1)
        second = os.read(data_r, 1)
        os.write(ready_w, first + second)
        os._exit(0)
    assert os.read(ready_r, 1) == b"r"
    time.sleep(0.05)
    os.write(data_w, b"ab")
    assert os.read(ready_r, 2) == b"ab"
    os.waitpid(pid, 0)
    return pid


def ping_pong(cpu):
    """A and B hand the CPU to each other ROUNDS times, SCHED_FIFO on one CPU."""
    def body():
        os.sched_setaffinity(0, {cpu})
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(1))
        rename("fleetpong")
        to_b_r, to_b_w = os.pipe()
        to_a_r, to_a_w = os.pipe()
        child = os.fork()
        if child == 0:
            for _ in range(ROUNDS):
                os.read(to_b_r, 1)
                os.write(to_a_w, b"y")
            os._exit(0)
        for _ in range(ROUNDS):
            os.write(to_b_w, b"x")
            os.read(to_a_r, 1)
        os.waitpid(child, 0)
        return {"a": os.getpid(), "b": child}
    return in_child(body)[1]


def syncs():
    children, t0 = [], time.monotonic()
    for i in range(SYNCS):
        time.sleep(max(0.0, t0 + i * SYNC_GAP_S - time.monotonic()))
        children.append(subprocess.Popen(["sync"]))
    assert all(c.wait(60) == 0 for c in children)
    return [c.pid for c in children]


def accepts(port):
    """Accept one IPv4 and one IPv6 connection; leave a third unaccepted."""
    seen, keep = {}, []
    s4 = socket.socket(socket.AF_INET)
    s4.bind(("127.0.0.1", port))
    s4.listen(8)
    s6 = socket.socket(socket.AF_INET6)
    s6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    s6.bind(("::1", port))
    s6.listen(8)
    for name, server, host in (("v4", s4, "127.0.0.1"), ("v6", s6, "::1")):
        client = socket.create_connection((host, port))
        conn, peer = server.accept()
        seen[name] = peer[1]
        keep += [client, conn]
    keep.append(socket.create_connection(("127.0.0.1", port)))
    time.sleep(0.05)
    for s in keep + [s4, s6]:
        s.close()
    return seen


def connect_child(host, port):
    def body():
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        s = socket.socket(family)
        try:
            s.connect((host, port))
            return {"sport": s.getsockname()[1], "result": "ok"}
        except ConnectionRefusedError:
            return {"sport": 0, "result": "refused"}
    pid, out = in_child(body)
    out["pid"] = pid
    return out


def connects(port):
    """A refused connect, then an IPv4 and an IPv6 one, each from a new process."""
    seen = {"refused": connect_child("127.0.0.1", port)}
    s4 = socket.socket(socket.AF_INET)
    s4.bind(("127.0.0.1", port))
    s4.listen(8)
    s6 = socket.socket(socket.AF_INET6)
    s6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    s6.bind(("::1", port))
    s6.listen(8)
    seen["v4"] = connect_child("127.0.0.1", port)
    seen["v6"] = connect_child("::1", port)
    s4.close()
    s6.close()
    return seen


def retransmits(port):
    """A dropped SYN (full accept queue) and a resent SYN-ACK (deferred accept)."""
    deferred = socket.socket()
    deferred.setsockopt(socket.IPPROTO_TCP, socket.TCP_DEFER_ACCEPT, 1)
    deferred.bind(("127.0.0.1", port))
    deferred.listen(8)
    quiet = socket.create_connection(("127.0.0.1", port))  # never sends data
    full = socket.socket()
    full.bind(("127.0.0.2", port))
    full.listen(0)
    filler = socket.create_connection(("127.0.0.2", port))  # fills the queue
    dropped = socket.socket()
    dropped.settimeout(2.5)
    try:
        dropped.connect(("127.0.0.2", port))
        raise AssertionError("connected although the accept queue was full")
    except socket.timeout:
        pass
    out = {"quiet": quiet.getsockname()[1], "dropped": dropped.getsockname()[1]}
    for s in (deferred, quiet, full, filler, dropped):
        s.close()
    return out


# --- scenarios -----------------------------------------------------------------

def catalog(work, ports):
    """Every catalog job's workload, in one window."""
    accept_port, connect_port, retrans_port = ports
    shutil.copy("/bin/dd", os.path.join(work, "fleetdd"))
    shutil.copy("/bin/true", os.path.join(work, "fleettrue"))
    cache_file = os.path.join(work, "cachefile")
    make_cache_file(cache_file)
    fsio_file = os.path.join(work, "datafile")
    fsio_fd = os.open(fsio_file, os.O_CREAT | os.O_RDWR, 0o600)

    def fsio():
        for _ in range(5):
            os.write(fsio_fd, b"x" * 8192)
        for _ in range(3):
            os.fsync(fsio_fd)
        for _ in range(2):
            os.pread(fsio_fd, 4096, 4096)

    def sleeper():
        os.sched_setaffinity(0, {1})
        for _ in range(SLEEPS):
            time.sleep(0.01)

    spinner = SPINNER
    fsio_pid, fsio_go = waiting_child(fsio)
    spin_pid, spin_go = waiting_child(lambda: os.execv(spinner, [spinner]))
    sleep_pid, sleep_go = waiting_child(sleeper)
    say("ready", {"fsio": fsio_pid, "spinner": spin_pid, "sleeper": sleep_pid,
                  "director": os.getpid()})
    sys.stdin.readline()

    done, t0 = {"t0_ns": time.time_ns()}, time.monotonic()
    steps = {}

    def step(name, fn, *args):
        began = time.monotonic()
        done[name] = fn(*args)
        steps[name] = round(time.monotonic() - began, 3)

    step("retrans", retransmits, retrans_port)
    step("dd4k", dd, work, "dd4k", "4k", DD_4K)
    step("dd64k", dd, work, "dd64k", "64k", DD_64K)
    step("cache_resident", resident_pages, cache_file)
    step("cache_miss", read_all, cache_file)
    step("cache_hit", read_all, cache_file)
    step("execs", execs, os.path.join(work, "fleettrue"))
    step("fsio", release_and_wait, fsio_go, fsio_pid)
    step("opens", in_child, lambda: opens(work))
    step("spinner", release_and_wait, spin_go, spin_pid)
    step("sleeper", release_and_wait, sleep_go, sleep_pid)
    step("syncs", syncs)
    step("pingpong", ping_pong, 1)
    step("accepts", accepts, accept_port)
    step("connects", connects, connect_port)
    step("urandom", lambda: in_child(urandom_reads))
    step("pipe", blocked_pipe_read)
    done["steps"] = steps
    done["took_s"] = round(time.monotonic() - t0, 3)
    done["t1_ns"] = time.time_ns()
    say("done", done)


FAULT_AROUND = "/sys/kernel/debug/fault_around_bytes"


def set_fault_around(value):
    """Set fault-around (bytes); return the value it had."""
    with open(FAULT_AROUND) as f:
        before = f.read().strip()
    with open(FAULT_AROUND, "w") as f:
        f.write(str(value))
    return before


def fallbacks(work, ports):
    """Known page-cache reads and faults, and a blocked pipe read, alone.

    Fault-around is off (one page) while the mapping is touched: a fault on a
    cached page is then one call of the mapping's ->fault (filemap_fault), not
    a batch mapped around it. The pipe reader is a thread, not a process: a
    forked child would fault in Python's own pages, one filemap fault each.
    """
    cache_file = os.path.join(work, "cachefile")
    make_cache_file(cache_file)
    read_all(cache_file)  # into the cache: the window's reads all hit
    # The same code once before the window, so that no first-time fault on
    # Python's own pages lands in it.
    before = set_fault_around(PAGE)
    try:
        cached_reads(cache_file)
        strided_faults(cache_file)
    finally:
        set_fault_around(before)
    say("ready", {"director": os.getpid()})
    sys.stdin.readline()
    done = {"t0_ns": time.time_ns()}
    set_fault_around(PAGE)
    try:
        done["reads"] = cached_reads(cache_file)
        done["faults"] = strided_faults(cache_file)
    finally:
        set_fault_around(before)
    done["pipe"] = blocked_pipe_read_thread()
    done["t1_ns"] = time.time_ns()
    say("done", done)


def blocked_pipe_read_thread():
    """blocked_pipe_read's reads, from a thread named fleetpipe; its tid."""
    data_r, data_w = os.pipe()
    ready = threading.Event()
    got = {}

    def reader():
        rename("fleetpipe")  # the thread's own comm
        got["tid"] = threading.get_native_id()
        ready.set()
        got["bytes"] = os.read(data_r, 1) + os.read(data_r, 1)

    thread = threading.Thread(target=reader)
    thread.start()
    ready.wait()
    time.sleep(0.05)
    os.write(data_w, b"ab")
    thread.join()
    assert got["bytes"] == b"ab"
    return got["tid"]


def main():
    scenario, work = sys.argv[1], sys.argv[2]
    ports = [int(p) for p in sys.argv[3:]]
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    {"catalog": catalog, "fallbacks": fallbacks}[scenario](work, ports)


if __name__ == "__main__":
    main()
