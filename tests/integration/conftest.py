"""Starts the real build/chatd for each test on an ephemeral port.

`start_chatd(*args, **popen_kw)` (fixture) starts one server with extra
flags and returns a Chatd; `chatd` is one server with the default flags.
On teardown each server still running gets SIGTERM and must exit 0 within
a bounded wait; a test that ends the server itself sets `expect_exit`.
"""

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import helpers  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
CHATD_BIN = os.environ.get("CHATD_BIN", str(REPO / "build" / "chatd"))
LISTEN_RE = re.compile(rb"listening on http://127\.0\.0\.1:(\d+)")
START_TIMEOUT = 10.0
# chatd reads CHATD_<NAME> and PORT as defaults: keep the tests' own out.
CLEAN_ENV = {k: v for k, v in os.environ.items() if not k.startswith("CHATD_") and k != "PORT"}
EXIT_TIMEOUT = 10.0


class Chatd:
    """One running server: its process, port and every stderr line so far
    (a thread keeps reading stderr so the pipe never fills)."""

    def __init__(self, args, **popen_kw):
        if not os.access(CHATD_BIN, os.X_OK):
            pytest.fail(f"{CHATD_BIN} is not built (make build/chatd, or set CHATD_BIN)")
        args = [str(a) for a in args]
        # Tests share the working directory: each keeps its events in memory
        # unless it names a database of its own.
        if "--db" not in args:
            args = ["--db", ":memory:", *args]
        self.args = [CHATD_BIN, "--host", "127.0.0.1", "--port", "0", *args]
        self.expect_exit = False
        self.lines = []
        self._cond = threading.Condition()
        self._eof = False
        popen_kw.setdefault("cwd", str(REPO))
        popen_kw.setdefault("env", CLEAN_ENV)
        self.proc = subprocess.Popen(
            self.args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, **popen_kw
        )
        self._thread = threading.Thread(target=self._pump, daemon=True)
        self._thread.start()
        m = self.wait_stderr(LISTEN_RE, START_TIMEOUT)
        if m is None:
            self.proc.kill()
            self.proc.wait(EXIT_TIMEOUT)
            pytest.fail(f"chatd did not report listening: {self.args} rc={self.proc.returncode}\n{self.stderr()}")
        self.port = int(m.group(1))

    def _pump(self):
        for line in iter(self.proc.stderr.readline, b""):
            with self._cond:
                self.lines.append(line)
                self._cond.notify_all()
        with self._cond:
            self._eof = True
            self._cond.notify_all()

    @property
    def pid(self):
        return self.proc.pid

    def stderr(self):
        with self._cond:
            return b"".join(self.lines).decode(errors="replace")

    def wait_stderr(self, regex, timeout=START_TIMEOUT):
        """Waits (bounded) for a stderr line matching regex (bytes); returns
        the match, or None on timeout or when stderr ends first."""
        regex = re.compile(regex) if isinstance(regex, bytes) else regex
        deadline = time.monotonic() + timeout
        seen = 0
        with self._cond:
            while True:
                for line in self.lines[seen:]:
                    m = regex.search(line)
                    if m:
                        return m
                seen = len(self.lines)
                left = deadline - time.monotonic()
                if self._eof or left <= 0:
                    return None
                self._cond.wait(left)

    def send_signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, sig=signal.SIGTERM):
        """Sends sig and returns the exit code (bounded wait)."""
        self.expect_exit = True
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        return self.wait_exit()

    def wait_exit(self):
        """Waits (bounded) for the process to end; returns its exit code."""
        self.expect_exit = True
        try:
            return self.proc.wait(EXIT_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(EXIT_TIMEOUT)
            pytest.fail(f"chatd did not exit within {EXIT_TIMEOUT}s\n{self.stderr()}")

    def kill(self):
        self.expect_exit = True
        self.proc.kill()
        self.proc.wait(EXIT_TIMEOUT)

    def cpu_seconds(self):
        """utime + stime of the server process, from /proc/PID/stat."""
        with open(f"/proc/{self.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss_kib(self):
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def teardown(self):
        if self.expect_exit:
            if self.proc.poll() is None:
                self.kill()
            return
        alive = self.proc.poll() is None
        rc = self.stop()
        assert alive, f"chatd died during the test, rc={rc}\n{self.stderr()}"
        assert rc == 0, f"chatd exited {rc} on SIGTERM\n{self.stderr()}"


@pytest.fixture
def start_chatd():
    servers = []

    def start(*args, **popen_kw):
        s = Chatd(args, **popen_kw)
        servers.append(s)
        return s

    yield start
    helpers.close_all()  # clients first, so no server waits out its close grace
    errors = []
    for s in servers:
        try:
            s.teardown()
        except BaseException as e:  # report every server, not only the first
            errors.append(e)
    if errors:
        raise errors[0]


@pytest.fixture
def chatd(start_chatd):
    return start_chatd()


@pytest.fixture
def port(chatd):
    return chatd.port


@pytest.fixture
def chatd_exit():
    """Runs chatd with args that must make it exit at start; returns (exit
    code, stderr text)."""

    def run(*args):
        import subprocess as sp

        p = sp.run([CHATD_BIN, "--host", "127.0.0.1", "--port", "0", *map(str, args)], env=CLEAN_ENV,
                   cwd=str(REPO), stdin=sp.DEVNULL, capture_output=True, timeout=EXIT_TIMEOUT)
        return p.returncode, p.stderr.decode(errors="replace")

    return run
