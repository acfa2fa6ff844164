"""Connection limits (--max-conn, --max-conn-per-ip) and the 503 answers of
PROTOCOL.md / the hardening issue: a connection over a limit is closed at
once, with a 503 if its request was already readable, and never enters the
server's state; others are served as before."""

import re
import signal
import socket

from helpers import (
    refused_answer,
    Reader,
    assert_healthy,
    joined,
    read_response,
    wait_closed,
    TIMEOUT,
)


def open_keepalive(port, source="127.0.0.1"):
    """A connection the server has surely accepted: it answered a request."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(TIMEOUT)
    s.bind((source, 0))
    s.connect(("127.0.0.1", port))
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    assert read_response(Reader(s)).status == 200
    return s


def refused(port, source="127.0.0.1"):
    """Connects, sends a request at once, and returns what came back: a 503
    response if the server saw the request before refusing, else None (it
    closed without a word). Anything else fails the test."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(TIMEOUT)
    s.bind((source, 0))
    s.connect(("127.0.0.1", port))
    return refused_answer(s, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")


def close_and_wait(s):
    """Closes s after the server has seen it go: our FIN, then its."""
    s.shutdown(socket.SHUT_WR)
    assert wait_closed(s) == b""
    s.close()


def test_max_conn_refuses_new_connections_and_serves_the_rest(start_chatd):
    srv = start_chatd("--max-conn", "3")
    held = [open_keepalive(srv.port) for _ in range(3)]
    outcomes = [refused(srv.port) for _ in range(5)]
    assert all(o in (None, 503) for o in outcomes)
    for s in held:  # the connections inside the limit still work
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        assert read_response(Reader(s)).status == 200
    # Read the counter on a held connection: a new one would need a free slot.
    held[0].sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
    body = read_response(Reader(held[0])).body.decode()
    assert re.search(r"^chatd_connections_refused_total 5$", body, re.M), body
    close_and_wait(held.pop())  # one slot free again: a new client is served
    assert_healthy(srv.port)
    for s in held:
        s.close()


def test_max_conn_per_ip_counts_each_address(start_chatd):
    srv = start_chatd("--max-conn-per-ip", "2")
    a = [open_keepalive(srv.port, "127.0.0.1") for _ in range(2)]
    assert refused(srv.port, "127.0.0.1") in (None, 503)
    # Another address has its own allowance.
    b = open_keepalive(srv.port, "127.0.0.2")
    b.close()
    # Freeing one slot lets that address in again.
    close_and_wait(a[0])
    c = open_keepalive(srv.port, "127.0.0.1")
    c.close()
    a[1].close()


def test_shutdown_answers_an_unfinished_request_with_503(start_chatd):
    srv = start_chatd()
    ws, _ = joined(srv.port, "stays")
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(TIMEOUT)
    s.connect(("127.0.0.1", srv.port))
    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")  # the head is not finished
    # The server has read those bytes once it answers another request on a
    # later connection (it handles events in order within a turn or before).
    assert_healthy(srv.port)
    srv.send_signal(signal.SIGTERM)
    r = read_response(Reader(s))
    assert r.status == 503
    assert wait_closed(s) == b""
    s.close()
    ws.expect_close(1001, reply=True)
    assert srv.wait_exit() == 0
