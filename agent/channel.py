"""The agent's process plumbing: message channel, log, bcc import, watchdog."""

import importlib.util
import os
import queue
import re
import resource
import sys
import threading
import time

import wire

REEXEC_FLAG = "FLEET_AGENT_REEXEC"
PYTHON_CANDIDATES = (
    "/usr/bin/python3",
    "/usr/local/bin/python3",
    "/usr/bin/python3.11",
    "/usr/bin/python3.12",
    "/usr/bin/python3.13",
    "/usr/libexec/platform-python",
)


class Outbox:
    """Writes protocol messages to a private copy of fd 1; fd 1 then points at stderr.

    Stray prints from libbcc or Python can never corrupt the message stream.
    """

    def __init__(self):
        self._fd = os.dup(1)
        os.dup2(2, 1)
        sys.stdout = sys.stderr
        self._lock = threading.Lock()

    def restore_stdout(self):
        """Point fd 1 back at the channel (before an exec, which drops the copy)."""
        os.dup2(self._fd, 1)

    def send(self, kind, **fields):
        """Send one message to the controller (ignore a closed channel)."""
        data = wire.encode(wire.message(kind, **fields))
        with self._lock:
            try:
                while data:
                    data = data[os.write(self._fd, data) :]
            except OSError:
                pass


class Inbox:
    """Reads controller messages on a thread; EOF arrives as a None message."""

    def __init__(self, stream):
        self.queue = queue.Queue()
        thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        thread.start()

    def _read(self, stream):
        for line in stream:
            try:
                self.queue.put(wire.decode(line))
            except wire.ProtocolError as err:
                log("ignoring bad message: %s" % err)
        self.queue.put(None)

    def get(self, timeout):
        """Next message, None on EOF, or raise queue.Empty after timeout."""
        return self.queue.get(timeout=max(0.0, timeout))


def log(text):
    """A free-text line for the host log (stderr)."""
    sys.stderr.write("fleet-agent: %s\n" % text)
    sys.stderr.flush()


def import_bcc(out):
    """Import bcc, re-executing under another Python that has it if needed.

    The re-exec goes through the verifying loader again, with fd 1 pointed
    back at the channel first, so the protocol continues in the new process.
    """
    try:
        import bcc

        return bcc
    except ImportError:
        pass
    if not os.environ.get(REEXEC_FLAG):
        me = os.path.realpath(sys.executable)
        for python in PYTHON_CANDIDATES:
            if os.path.exists(python) and os.path.realpath(python) != me:
                os.environ[REEXEC_FLAG] = sys.executable
                out.restore_stdout()
                try:
                    os.execv(python, reexec_argv(python))
                except OSError:
                    continue
    return None


def reexec_argv(python):
    """argv running this agent again under python (via the loader when it ran us)."""
    if len(sys.argv) == 2 and re.fullmatch("[0-9a-f]{64}", sys.argv[1]):
        spec = importlib.util.find_spec("agent.loader")
        loader = spec.loader.get_source("agent.loader")
        return [python, "-I", "-c", loader] + sys.argv
    return [python] + sys.argv


def fallback_from():
    """The interpreter the agent was started with, when it re-executed; else None."""
    return os.environ.get(REEXEC_FLAG) or None


def start_watchdog(deadline):
    """Hard stop: exit the process (the kernel then detaches every probe)."""

    def watch():
        while time.monotonic() < deadline[0]:
            time.sleep(0.5)
        log("deadline passed: exiting")
        os._exit(3)

    threading.Thread(target=watch, daemon=True).start()


def peak_rss_kb():
    """Peak resident memory of this process (includes clang's compile)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
