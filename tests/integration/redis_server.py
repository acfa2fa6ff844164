"""A real redis-server for the cluster tests: on a free loopback port, with
its own temporary directory, stopped (SIGSTOP), killed and restarted on the
same port as a test asks. Readiness is waited for by PING, never by sleep."""

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import pytest

REDIS_BIN = shutil.which("redis-server") or "/usr/bin/redis-server"
WAIT = 10.0


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def command(port, *args, timeout=2.0):
    """Sends one command in RESP and returns the first reply line (bytes)."""
    parts = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(a), a))
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(b"".join(parts))
        data = b""
        while not data.endswith(b"\r\n"):
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        return data.split(b"\r\n", 1)[0]


def client_list(port):
    """CLIENT LIST as a list of {field: value} dicts, one per connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
        s.sendall(b"*2\r\n$6\r\nCLIENT\r\n$4\r\nLIST\r\n")
        data = b""
        while b"\r\n" not in data:
            data += s.recv(65536)
        size = int(data[1:data.index(b"\r\n")])
        body_at = data.index(b"\r\n") + 2
        while len(data) < body_at + size:
            data += s.recv(65536)
    lines = data[body_at:body_at + size].decode().splitlines()
    return [dict(f.split("=", 1) for f in line.split() if "=" in f) for line in lines]


class RedisServer:
    def __init__(self, persistent=False):
        if not os.access(REDIS_BIN, os.X_OK):
            pytest.fail("redis-server is not installed (scripts/install-deps.sh)")
        self.dir = tempfile.mkdtemp(prefix="chatd-redis-")
        self.persistent = persistent
        self.proc = None
        # A port free when picked may be a client's ephemeral port a moment
        # later: pick again when the bind fails.
        for attempt in range(5):
            self.port = free_port()
            if self.start(give_up=attempt == 4):
                break

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}"

    def start(self, give_up=True):
        """Starts redis-server on self.port and waits for its PONG; returns
        False (unless give_up) if the port turned out to be taken."""
        persistence = ["--appendonly", "yes", "--appendfsync", "always"] if self.persistent else ["--appendonly", "no"]
        self.proc = subprocess.Popen(
            [REDIS_BIN, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", self.dir, "--save", "",
             *persistence, "--daemonize", "no", "--logfile", os.path.join(self.dir, "redis.log")],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + WAIT
        while True:
            try:
                if command(self.port, "PING") == b"+PONG":
                    return True
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                path = os.path.join(self.dir, "redis.log")
                log = open(path).read() if os.path.exists(path) else ""
                if not give_up and "Address already in use" in log:
                    self.proc.wait(WAIT)
                    os.remove(path)
                    return False
                pytest.fail(f"redis-server did not start on {self.port}: {log[-2000:]}")
            time.sleep(0.02)  # polling the PING, bounded by the deadline

    def kill(self):
        self.proc.kill()
        self.proc.wait(WAIT)

    def pause(self):
        self.proc.send_signal(signal.SIGSTOP)

    def resume(self):
        self.proc.send_signal(signal.SIGCONT)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.kill()
            self.proc.wait(WAIT)
        shutil.rmtree(self.dir, ignore_errors=True)
