"""chat_load --ports: clients spread round-robin over several nodes of one
service, every check spanning all of them. Against one chatd named twice
the checks pass; against two chatd that share nothing they must fail (a
message reaches only its sender's node, the same id names different
events); against two nodes of the Node `ws` + Redis peer, which are one
service, they pass; and against two chatd on one Redis. No timing assertions: only
the integrity figures of chat_load's JSON line."""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time

import pytest

import helpers
from conftest import CHATD_BIN, CLEAN_ENV, REPO

CHAT_LOAD_BIN = os.environ.get("CHAT_LOAD_BIN")
NODE_PEER = REPO / "bench/peers/node/chat-ws-redis.js"
START_TIMEOUT = 15.0

pytestmark = pytest.mark.skipif(
    not CHAT_LOAD_BIN, reason="set CHAT_LOAD_BIN (absolute path), as `make integration` does"
)


def run_load(*args, expect_rc=(0, 1)):
    out = subprocess.run(
        [CHAT_LOAD_BIN, *map(str, args), "--json"], capture_output=True, text=True, timeout=90
    )
    assert out.returncode in expect_rc, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def ports_arg(*ports):
    return ",".join(str(p) for p in ports)


def assert_fanout_clean(r, clients, members=None):
    members = clients if members is None else members
    assert r["joined"] == clients
    assert r["sent_total"] > 0
    assert r["deliveries_total"] == r["expected_total"] == r["sent_total"] * members
    assert r["gaps"] == 0 and r["duplicates"] == 0 and r["errors"] == 0
    assert r["closes"] == 0 and r["setup_failures"] == 0
    assert r["mismatches"] == 0
    assert r["ok"] is True


class Service:
    """A helper process (redis-server, a Node peer) whose output a thread
    keeps reading; started, waited on until a line matches, and stopped."""

    def __init__(self, args, ready_re, cwd=None):
        self.lines = []
        self._cond = threading.Condition()
        self._eof = False
        self.args = [str(a) for a in args]
        self.proc = subprocess.Popen(
            self.args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            cwd=str(cwd or REPO), env=CLEAN_ENV, start_new_session=True,
        )
        threading.Thread(target=self._pump, daemon=True).start()
        self.match = self.wait_line(ready_re)

    def _pump(self):
        for line in iter(self.proc.stdout.readline, b""):
            with self._cond:
                self.lines.append(line.decode(errors="replace"))
                self._cond.notify_all()
        with self._cond:
            self._eof = True
            self._cond.notify_all()

    def wait_line(self, regex, timeout=START_TIMEOUT):
        """The first output line matching regex, or None once the output
        ended or timeout passed."""
        regex = re.compile(regex)
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for line in self.lines:
                    m = regex.search(line)
                    if m:
                        return m
                left = deadline - time.monotonic()
                if self._eof or left <= 0:
                    return None
                self._cond.wait(left)

    def output(self):
        with self._cond:
            return "".join(self.lines)

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def services():
    started = []

    def start(args, ready_re, cwd=None):
        s = Service(args, ready_re, cwd)
        started.append(s)
        if s.match is None:
            pytest.fail(f"{args[0]} did not start: {s.args}\n{s.output()}")
        return s

    yield start
    for s in reversed(started):
        s.stop()


@pytest.fixture
def redis_port(services, tmp_path):
    """A redis-server of its own on a free loopback port, nothing kept on disk."""
    if not shutil.which("redis-server"):
        pytest.skip("redis-server is not installed (scripts/install-deps.sh)")
    for _ in range(5):
        port = free_port()
        s = Service(
            ["redis-server", "--bind", "127.0.0.1", "--port", port, "--dir", tmp_path,
             "--save", "", "--appendonly", "no"],
            r"Ready to accept connections|Address already in use",
        )
        if s.match and "Ready" in s.match.group(0):
            yield port
            s.stop()
            return
        s.stop()
    pytest.fail("redis-server did not start on a free port")


@pytest.fixture
def chatd_port(start_chatd):
    yield start_chatd("--rate", "0").port


def test_one_node_named_twice_passes_every_check(chatd_port):
    r = run_load(
        "fanout", "--ports", ports_arg(chatd_port, chatd_port), "--clients", "20",
        "--senders", "3", "--duration", "1", "--window", "2",
    )
    assert_fanout_clean(r, 20)
    assert r["ports"] == [chatd_port, chatd_port] and r["nodes"] == 2
    # Round-robin: client k on port k mod 2, each receiving every message.
    assert r["port_joined"] == [10, 10]
    assert r["port_deliveries"] == [r["sent_total"] * 10] * 2
    assert len(r["port_p99_us"]) == 2


def test_rooms_over_ports_check_each_room(chatd_port):
    # Three rooms over two ports: room k's members sit on both ports.
    r = run_load(
        "fanout", "--ports", ports_arg(chatd_port, chatd_port), "--clients", "12",
        "--senders", "3", "--rooms", "3", "--duration", "1", "--window", "2",
    )
    assert_fanout_clean(r, 12, members=4)
    assert r["wrong_room"] == 0 and r["port_joined"] == [6, 6]


def test_two_nodes_sharing_nothing_fail_the_checks(start_chatd):
    # Two separate chatd are not one service: each delivers only its own
    # clients' messages, and each numbers its own events from 1, so the
    # same id names different events on the two.
    a, b = start_chatd("--rate", "0").port, start_chatd("--rate", "0").port
    r = run_load(
        "fanout", "--ports", ports_arg(a, b), "--clients", "20", "--senders", "4",
        "--duration", "1", "--window", "2", "--drain", "1",
    )
    assert r["joined"] == 20 and r["port_joined"] == [10, 10]
    assert r["deliveries_match"] is False
    assert r["deliveries_total"] == r["sent_total"] * 10
    assert r["mismatches"] > 0
    assert r["ok"] is False


def test_resume_over_one_node_named_twice(chatd_port):
    r = run_load(
        "resume", "--ports", ports_arg(chatd_port, chatd_port), "--clients", "12", "--rooms", "3",
        "--drop", "6", "--messages", "10",
    )
    assert r["dropped"] == 6 and r["caught_up"] == 6
    assert r["gaps"] == 0 and r["duplicates"] == 0 and r["not_resumed"] == 0
    assert r["ok"] is True


def test_churn_and_connect_over_ports(chatd_port):
    r = run_load(
        "churn", "--ports", ports_arg(chatd_port, chatd_port), "--clients", "8", "--duration", "1",
        "--hold", "0.5",
    )
    assert r["sessions_joined"] > 0 and r["order_mismatch"] == 0 and r["gaps"] == 0
    assert r["ok"] is True
    r = run_load("connect", "--ports", ports_arg(chatd_port, chatd_port), "--clients", "10", "--join")
    assert r["ready"] == r["held"] == 10 and r["ports"] == [chatd_port, chatd_port]
    assert r["ok"] is True


@pytest.mark.parametrize(
    "args, why",
    [
        (["--port", "9", "--ports", "9,10"], "exclude each other"),
        (["--ports", ""], "--ports"),
        (["--ports", "9,,10"], "--ports"),
        (["--ports", "9,"], "--ports"),
        (["--ports", "0,9"], "--ports"),
        (["--ports", "9,65536"], "--ports"),
        (["--ports", ",".join(["9"] * 17)], "--ports"),
    ],
)
def test_bad_port_lists_are_refused(args, why):
    out = subprocess.run([CHAT_LOAD_BIN, "fanout", *args], capture_output=True, text=True, timeout=10)
    assert out.returncode == 2
    assert why in out.stderr.splitlines()[0]


def test_sixteen_ports_are_accepted(chatd_port):
    r = run_load("connect", "--ports", ",".join([str(chatd_port)] * 16), "--clients", "16")
    assert r["ready"] == 16 and len(r["ports"]) == 16


def node_peer(services, redis_port):
    """One Node ws + Redis node (a single worker) on a port of its own."""
    if not (REPO / "bench/peers/node/node_modules/ws").is_dir():
        pytest.skip("the Node peer needs scripts/install-deps.sh --peers")
    s = services(
        ["node", NODE_PEER, "--port", "0", "--redis-port", redis_port, "--nodes", "1"],
        r"listening on 127\.0\.0\.1:(\d+)",
    )
    return int(s.match.group(1))


def test_two_nodes_of_one_service_pass_every_check(services, redis_port):
    # The Node peer's nodes number every event in Redis and share nicks:
    # one service, so every check holds across its two ports.
    a, b = node_peer(services, redis_port), node_peer(services, redis_port)
    r = run_load(
        "fanout", "--ports", ports_arg(a, b), "--clients", "20", "--senders", "4",
        "--duration", "1", "--window", "2", "--drain", "10",
    )
    assert_fanout_clean(r, 20)
    assert r["port_joined"] == [10, 10]


def chatd_cluster(services, redis_port, tmp_path, n):
    """n chatd nodes on one Redis (no --db: the nodes keep nothing on disk,
    and run in a directory of their own)."""
    url = f"redis://127.0.0.1:{redis_port}"
    ports = []
    for k in range(n):
        s = services(
            [CHATD_BIN, "--host", "127.0.0.1", "--port", "0", "--rate", "0", "--redis", url,
             "--node-id", f"node{k}", "--static", REPO / "static"],
            r"listening on http://127\.0\.0\.1:(\d+)", cwd=tmp_path,
        )
        ports.append(int(s.match.group(1)))
    # A node answers /healthz 503 until its Redis connection is ready.
    deadline = time.monotonic() + START_TIMEOUT
    for port in ports:
        while helpers.get(port, b"/healthz").status != 200:
            assert time.monotonic() < deadline, f"node on {port} never became healthy"
            time.sleep(0.05)
    return ports


def test_chatd_nodes_on_one_redis_pass_every_check(services, redis_port, tmp_path):
    a, b = chatd_cluster(services, redis_port, tmp_path, 2)
    r = run_load(
        "fanout", "--ports", ports_arg(a, b), "--clients", "20", "--senders", "4",
        "--duration", "1", "--window", "2", "--drain", "10",
    )
    assert_fanout_clean(r, 20)
    r = run_load(
        "resume", "--ports", ports_arg(a, b), "--clients", "12", "--rooms", "3", "--drop", "6",
        "--messages", "10",
    )
    assert r["caught_up"] == 6 and r["not_resumed"] == 0 and r["epoch_changed"] == 0
    assert r["gaps"] == 0 and r["duplicates"] == 0 and r["ok"] is True


def test_server_pids_of_a_service_are_summed(start_chatd):
    # Two processes named: the CPU of both is read (a service's nodes and
    # its Redis); one that cannot be read leaves the figure out.
    a, b = start_chatd("--rate", "0"), start_chatd("--rate", "0")
    r = run_load(
        "fanout", "--port", a.port, "--clients", "10", "--senders", "2", "--duration", "0.5",
        "--server-pid", f"{a.pid},{b.pid}",
    )
    assert r["ok"] is True and r["server_ns_per_delivery"] > 0
    r = run_load(
        "connect", "--port", a.port, "--clients", "10", "--server-pid", f"{a.pid},{b.pid}",
    )
    assert r["rss_before_kib"] >= a.rss_kib() + b.rss_kib() - 4096 > 0
    out = subprocess.run(
        [CHAT_LOAD_BIN, "fanout", "--server-pid", "1,x"], capture_output=True, text=True, timeout=10
    )
    assert out.returncode == 2 and "--server-pid" in out.stderr.splitlines()[0]
