"""--trusted-proxy (the client address from X-Forwarded-For, counted per
client by --max-conn-per-ip), --reuse-port (several chatd on one port), and a bad
--redis URL refused at start."""

import socket
import subprocess

from conftest import CHATD_BIN, CLEAN_ENV, REPO
from helpers import Reader, WsClient, handshake_request, read_response, refused_answer, wait_closed, TIMEOUT


def ws_via_proxy(port, forwarded_for):
    """Opens a WebSocket from 127.0.0.1 as a proxy would, naming the client in
    X-Forwarded-For; returns the WsClient, or the refusal's status (503) or
    None when the server closed without a word."""
    s = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    extra = b"X-Forwarded-For: " + forwarded_for + b"\r\n" if forwarded_for else b""
    req, _ = handshake_request(port, extra=extra)
    try:
        s.sendall(req)
    except (BrokenPipeError, ConnectionResetError):
        s.close()
        return None
    reader = Reader(s)
    r = read_response(reader)
    if r.status == 101:
        return WsClient(s, reader)
    assert r.status == 503, r
    assert wait_closed(s) == b""
    s.close()
    return 503


def refused_at_accept(port, forwarded_for):
    """Like ws_via_proxy for a connection the server refuses at accept: a 503
    if it had read the request, else None. Anything else fails."""
    s = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    req, _ = handshake_request(port, extra=b"X-Forwarded-For: " + forwarded_for + b"\r\n")
    return refused_answer(s, req)


def close_and_wait(ws):
    ws.sock.shutdown(socket.SHUT_WR)
    wait_closed(ws.sock)
    ws.sock.close()


def test_trusted_proxy_counts_each_forwarded_client(start_chatd):
    srv = start_chatd("--trusted-proxy", "127.0.0.0/8", "--max-conn-per-ip", "2")
    a = [ws_via_proxy(srv.port, b"203.0.113.5") for _ in range(2)]
    assert all(isinstance(w, WsClient) for w in a)
    # The client's third connection is over its own limit, though the proxy
    # (127.0.0.1) already holds two: it is refused with a 503 at its head.
    assert ws_via_proxy(srv.port, b"203.0.113.5") == 503
    # Other clients behind the same proxy have their own allowance: five
    # connections from 127.0.0.1 in all, over a limit of two.
    b = [ws_via_proxy(srv.port, b"198.51.100.7") for _ in range(2)]
    c = ws_via_proxy(srv.port, b"192.0.2.1, 198.51.100.8")  # the right-most untrusted
    assert all(isinstance(w, WsClient) for w in b + [c])
    assert ws_via_proxy(srv.port, b"192.0.2.1, 198.51.100.7") == 503
    # A forged left part does not help: the proxy appended the real address.
    assert ws_via_proxy(srv.port, b"10.9.9.9, 203.0.113.5") == 503
    # Freeing one of the client's connections lets it in again.
    close_and_wait(a.pop())
    again = ws_via_proxy(srv.port, b"203.0.113.5")
    assert isinstance(again, WsClient)
    for w in a + b + [c, again]:
        w.sock.close()


def test_trusted_proxy_without_the_header_counts_the_proxy(start_chatd):
    srv = start_chatd("--trusted-proxy", "127.0.0.0/8", "--max-conn-per-ip", "1")
    first = ws_via_proxy(srv.port, None)
    assert isinstance(first, WsClient)
    assert ws_via_proxy(srv.port, None) == 503
    assert isinstance(ws_via_proxy(srv.port, b"203.0.113.9"), WsClient)
    first.sock.close()


def test_forwarded_for_is_ignored_from_an_untrusted_peer(start_chatd):
    srv = start_chatd("--max-conn-per-ip", "2")
    held = [ws_via_proxy(srv.port, b"203.0.113.1"), ws_via_proxy(srv.port, b"203.0.113.2")]
    assert all(isinstance(w, WsClient) for w in held)
    # Every connection is 127.0.0.1's, whatever the header says: refused at accept.
    assert refused_at_accept(srv.port, b"203.0.113.3") in (None, 503)
    for w in held:
        w.sock.close()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_reuse_port_lets_two_servers_share_a_port(start_chatd):
    port = free_port()
    one = start_chatd("--reuse-port", "--port", port)
    two = start_chatd("--reuse-port", "--port", port)
    assert one.port == two.port == port
    # Hold many connections: the kernel spreads them over both listeners by
    # a hash of the 4-tuple, so each server holds some (2^-39 odds against).
    held = []
    for _ in range(40):
        s = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        assert read_response(Reader(s)).status == 200
        held.append(s)
    # Stopping one server closes exactly its connections; the other's still answer.
    assert one.stop() == 0
    alive = 0
    for s in held:
        try:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            r = read_response(Reader(s))
            assert r.status == 200
            alive += 1
        except (ConnectionError, AssertionError, OSError, EOFError):
            pass
        s.close()
    assert 0 < alive < len(held), alive
    # And the survivor still accepts on the shared port.
    s = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    assert read_response(Reader(s)).status == 200
    s.close()


def test_without_reuse_port_a_second_server_cannot_bind(start_chatd):
    one = start_chatd("--reuse-port")
    r = subprocess.run(
        [CHATD_BIN, "--host", "127.0.0.1", "--port", str(one.port)],
        cwd=str(REPO), env=CLEAN_ENV, capture_output=True, timeout=TIMEOUT,
    )
    assert r.returncode == 1
    assert b"cannot listen on 127.0.0.1:%d" % one.port in r.stderr, r.stderr


def test_a_bad_redis_url_is_refused_at_start_with_one_clear_line():
    r = subprocess.run(
        [CHATD_BIN, "--redis", "localhost:6379"], cwd=str(REPO), env=CLEAN_ENV, capture_output=True, timeout=TIMEOUT
    )
    assert r.returncode == 2
    lines = r.stderr.decode().splitlines()
    assert len(lines) == 1, lines
    assert "is not a Redis URL" in lines[0]


def test_each_request_head_on_a_kept_alive_proxy_connection_is_recounted(start_chatd):
    srv = start_chatd("--trusted-proxy", "127.0.0.0/8", "--max-conn-per-ip", "1")
    held = ws_via_proxy(srv.port, b"203.0.113.5")  # 203.0.113.5 is at its limit
    assert isinstance(held, WsClient)
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=TIMEOUT)
    reader = Reader(s)
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 198.51.100.1\r\n\r\n")
    assert read_response(reader).status == 200
    # The same upstream connection now carries another client's request: it
    # moves to 198.51.100.2, so 198.51.100.1's allowance is free again.
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 198.51.100.2\r\n\r\n")
    assert read_response(reader).status == 200
    other = ws_via_proxy(srv.port, b"198.51.100.1")
    assert isinstance(other, WsClient)
    # A request for a client at its limit is refused, and that connection closes.
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 203.0.113.5\r\n\r\n")
    assert read_response(reader).status == 503
    assert wait_closed(s) == b""
    s.close()
    held.sock.close()
    other.sock.close()
