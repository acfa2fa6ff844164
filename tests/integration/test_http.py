"""HTTP side of chatd (PROTOCOL.md, Endpoints): static files, errors,
limits, keep-alive, origin checks, traversal, timeouts, metrics."""

import os
import re
import time

import pytest

from helpers import (
    OP_TEXT,
    Reader,
    WsClient,
    accept_for,
    assert_healthy,
    build_frame,
    connect,
    get,
    handshake_request,
    http_request,
    joined,
    read_response,
    wait_closed,
)
from conftest import REPO

CHAT_HTML = b"<!doctype html><title>chat</title><p>hello\n"
FILES = {
    "chat.html": CHAT_HTML,
    "style.css": b"body { color: black }\n",
    "app.js": b"console.log('hi');\n",
    "logo.svg": b'<svg xmlns="http://www.w3.org/2000/svg"/>\n',
    "img/icon.png": b"\x89PNG\r\n\x1a\n" + bytes(range(256)),
}
TYPES = {
    "style.css": r"^text/css",
    "app.js": r"^(text|application)/javascript",
    "logo.svg": r"^image/svg\+xml",
    "img/icon.png": r"^image/png$",
}


@pytest.fixture
def static(tmp_path):
    """A static dir with known files, a secret next to it, and symlinks out."""
    root = tmp_path / "static"
    for name, data in FILES.items():
        p = root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    (tmp_path / "secret.txt").write_bytes(b"TOP-SECRET\n")
    os.symlink(tmp_path / "secret.txt", root / "link-out.txt")
    os.symlink("../secret.txt", root / "rel-link-out.txt")
    os.symlink("/etc", root / "etc-dir")
    return root


@pytest.fixture
def srv(start_chatd, static):
    return start_chatd("--static", static)


def test_root_and_chat_html(srv):
    for target in (b"/", b"/chat.html", b"/chat.html?v=2"):
        st, h, body = get(srv.port, target)
        assert st == 200, target
        assert h["content-type"].replace(" ", "").lower() == "text/html;charset=utf-8"
        assert body == CHAT_HTML
        assert int(h["content-length"]) == len(CHAT_HTML)


def test_default_static_dir_serves_repo_client(chatd):
    st, h, body = get(chatd.port, b"/")
    assert st == 200
    assert h["content-type"].replace(" ", "").lower() == "text/html;charset=utf-8"
    assert body == (REPO / "static" / "chat.html").read_bytes()


@pytest.mark.parametrize("name", sorted(TYPES))
def test_other_static_files(srv, name):
    st, h, body = get(srv.port, b"/" + name.encode())
    assert st == 200
    assert re.search(TYPES[name], h["content-type"]), h
    assert body == FILES[name]


def test_head_same_headers_no_body(srv):
    for target in (b"/", b"/style.css", b"/healthz"):
        g = get(srv.port, target)
        with connect(srv.port) as s:
            s.sendall(b"HEAD " + target + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            rd = Reader(s)
            r = read_response(rd, head_only=True)
            rest = rd.rest() + wait_closed(s)
        assert r.status == g.status == 200
        assert rest == b"", "HEAD response carried a body"
        for k in ("content-type", "content-length", "etag", "last-modified"):
            assert r.headers.get(k) == g.headers.get(k), k


def test_conditional_get(srv):
    st, h, body = get(srv.port, b"/style.css")
    assert st == 200 and "etag" in h and "last-modified" in h, h
    etag, lm = h["etag"].encode(), h["last-modified"].encode()
    r = get(srv.port, b"/style.css", b"If-None-Match: " + etag + b"\r\n")
    assert r.status == 304 and r.body == b""
    assert r.headers.get("etag") == h["etag"]
    r = get(srv.port, b"/style.css", b'If-None-Match: "nope", ' + etag + b"\r\n")
    assert r.status == 304
    r = get(srv.port, b"/style.css", b"If-Modified-Since: " + lm + b"\r\n")
    assert r.status == 304 and r.body == b""
    r = get(srv.port, b"/style.css", b'If-None-Match: "other"\r\n')
    assert r.status == 200 and r.body == FILES["style.css"]
    r = get(srv.port, b"/style.css", b"If-Modified-Since: Thu, 01 Jan 1970 00:00:00 GMT\r\n")
    assert r.status == 200 and r.body == FILES["style.css"]


def test_304_on_keepalive_has_no_body(srv):
    etag = get(srv.port, b"/style.css").headers["etag"].encode()
    with connect(srv.port) as s:
        s.sendall(
            b"GET /style.css HTTP/1.1\r\nHost: x\r\nIf-None-Match: " + etag + b"\r\n\r\n"
            b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
        )
        rd = Reader(s)
        assert read_response(rd).status == 304
        r = read_response(rd)
        assert r.status == 200 and r.body == b"ok"


def test_not_found(srv):
    for target in (b"/nope.html", b"/img/", b"/img/nope.png", b"/chat.html/x"):
        assert get(srv.port, target).status == 404, target


@pytest.mark.parametrize("method", [b"POST", b"PUT", b"DELETE"])
def test_method_not_allowed(srv, method):
    for target in (b"/", b"/chat.html", b"/healthz"):
        r = http_request(
            srv.port,
            method + b" " + target + b" HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        )
        assert r.status == 405, (method, target)
    assert_healthy(srv.port)


@pytest.mark.parametrize(
    "raw",
    [
        b"GARBAGE\r\n\r\n",
        b"\x00\x01\x02\x03 / HTTP/1.1\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost x no colon\r\n\r\n",
        b"GET  HTTP/1.1\r\n\r\n",
        b"GET / FTP/1.0\r\n\r\n",
    ],
)
def test_bad_request(srv, raw):
    r = http_request(srv.port, raw)
    assert r.status == 400, r
    assert_healthy(srv.port)


def test_head_too_large(srv):
    big = b"".join(b"X-Fill-%d: %s\r\n" % (i, b"a" * 100) for i in range(90))  # ~9.5 KiB
    r = http_request(srv.port, b"GET / HTTP/1.1\r\nHost: x\r\n" + big + b"\r\n")
    assert r.status == 431
    r = http_request(srv.port, b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    assert r.status == 431
    # A head just under the limit is fine (the target counts, and is not 414).
    r = http_request(srv.port, b"GET /chat.html?" + b"q" * 7000 + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert r.status == 200
    assert_healthy(srv.port)


def test_head_too_large_without_end(srv):
    """An endless head is refused once past 8 KiB, before it ever ends."""
    with connect(srv.port) as s:
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX-Long: " + b"b" * 9000)
        r = read_response(Reader(s))
        assert r.status == 431
    assert_healthy(srv.port)


def test_wrong_websocket_version(srv):
    req, _ = handshake_request(srv.port, version=b"8")
    r = http_request(srv.port, req)
    assert r.status == 426
    assert r.headers.get("sec-websocket-version") == "13"
    assert_healthy(srv.port)


def upgrade_status(port, origin=None, host=None):
    extra = b"Origin: " + origin + b"\r\n" if origin else b""
    req, key = handshake_request(port, extra=extra, host=host)
    r = http_request(port, req)
    if r.status == 101:
        assert r.headers["sec-websocket-accept"] == accept_for(key)
    return r.status


def test_origin_checks(start_chatd):
    srv = start_chatd()
    p = srv.port
    assert upgrade_status(p) == 101  # no Origin: not a browser
    assert upgrade_status(p, b"http://127.0.0.1:%d" % p) == 101
    assert upgrade_status(p, b"http://localhost:%d" % p, host=b"localhost:%d" % p) == 101
    assert upgrade_status(p, b"http://evil.example") == 403
    assert upgrade_status(p, b"http://127.0.0.1:%d" % (p + 1)) == 403
    assert upgrade_status(p, b"null") == 403
    assert_healthy(p)


def test_allow_origin_listed(start_chatd):
    p = start_chatd("--allow-origin", "https://chat.example", "--allow-origin", "http://b.example:8080").port
    assert upgrade_status(p, b"https://chat.example") == 101
    assert upgrade_status(p, b"http://b.example:8080") == 101
    assert upgrade_status(p, b"http://127.0.0.1:%d" % p) == 101
    assert upgrade_status(p, b"https://evil.example") == 403
    assert upgrade_status(p, b"http://chat.example") == 403


def test_allow_origin_star(start_chatd):
    p = start_chatd("--allow-origin", "*").port
    assert upgrade_status(p, b"https://anything.example") == 101
    assert upgrade_status(p, b"http://evil.example:1234") == 101


@pytest.mark.parametrize(
    "headers",
    [
        b"",  # a plain GET /ws
        b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n",
        b"Upgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n",
        b"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n",
        b"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: c2hvcnQ=\r\nSec-WebSocket-Version: 13\r\n",
    ],
)
def test_ws_without_valid_upgrade_is_400(srv, headers):
    r = http_request(srv.port, b"GET /ws HTTP/1.1\r\nHost: x\r\n" + headers + b"\r\n")
    assert r.status == 400, r
    assert_healthy(srv.port)


def test_upgrade_on_other_path_is_404(srv):
    for path in (b"/", b"/chat.html", b"/wss", b"/ws/x"):
        req, _ = handshake_request(srv.port, path=path)
        assert http_request(srv.port, req).status == 404, path
    req, _ = handshake_request(srv.port, path=b"/ws?room=1")
    assert http_request(srv.port, req).status == 101


def test_healthz(srv):
    st, h, body = get(srv.port, b"/healthz")
    assert st == 200 and body == b"ok"


def metrics(port):
    st, h, body = get(port, b"/metrics")
    assert st == 200
    assert h["content-type"].startswith("text/plain"), h
    values = {}
    for line in body.decode().splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            values[name] = float(value)
    return values


def test_metrics(srv):
    p = srv.port
    m0 = metrics(p)
    for name in (
        "chatd_connections_open",
        "chatd_joined_users",
        "chatd_messages_in_total",
        "chatd_events_out_total",
        "chatd_frames_written_total",
        "chatd_bytes_written_total",
        "chatd_slow_consumers_dropped_total",
        "chatd_rejected_handshakes_total",
    ):
        assert name in m0, f"{name} missing from /metrics: {sorted(m0)}"
    a, _ = joined(p, "metric-a")
    b, _ = joined(p, "metric-b")
    a.recv_json()
    a.send_json({"type": "msg", "msg": "counted"})
    assert a.recv_json()["msg"] == b.next_event(lambda e: e["type"] == "msg")["msg"] == "counted"
    assert upgrade_status(p, b"http://evil.example") == 403
    m = metrics(p)
    assert m["chatd_connections_open"] >= 3  # two WebSockets and this request
    assert m["chatd_joined_users"] == 2
    assert m["chatd_messages_in_total"] - m0["chatd_messages_in_total"] >= 3  # 2 joins + 1 msg
    # join a -> a; join b -> a, b; msg -> a, b: 5 deliveries.
    assert m["chatd_events_out_total"] - m0["chatd_events_out_total"] == 5
    assert m["chatd_frames_written_total"] - m0["chatd_frames_written_total"] >= 7  # + 2 welcomes
    assert m["chatd_bytes_written_total"] > m0["chatd_bytes_written_total"]
    assert m["chatd_rejected_handshakes_total"] - m0["chatd_rejected_handshakes_total"] == 1
    assert m["chatd_slow_consumers_dropped_total"] == 0
    a.close()
    b.close()


def test_keepalive_sequential_and_pipelined(srv):
    with connect(srv.port) as s:
        rd = Reader(s)
        for target, want in ((b"/style.css", FILES["style.css"]), (b"/healthz", b"ok")):
            s.sendall(b"GET " + target + b" HTTP/1.1\r\nHost: x\r\n\r\n")
            r = read_response(rd)
            assert r.status == 200 and r.body == want
        # Three more in one write, including a HEAD, answered in order.
        s.sendall(
            b"GET /app.js HTTP/1.1\r\nHost: x\r\n\r\n"
            b"HEAD /style.css HTTP/1.1\r\nHost: x\r\n\r\n"
            b"GET /logo.svg HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        r1 = read_response(rd)
        r2 = read_response(rd, head_only=True)
        r3 = read_response(rd)
        assert (r1.status, r1.body) == (200, FILES["app.js"])
        assert r2.status == 200 and int(r2.headers["content-length"]) == len(FILES["style.css"])
        assert (r3.status, r3.body) == (200, FILES["logo.svg"])
        assert rd.rest() + wait_closed(s) == b"", "server kept talking after Connection: close"


def test_upgrade_after_keepalive_requests(srv):
    s = connect(srv.port)
    rd = Reader(s)
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /style.css HTTP/1.1\r\nHost: x\r\n\r\n")
    assert read_response(rd).body == b"ok"
    assert read_response(rd).body == FILES["style.css"]
    c = WsClient.open(srv.port, sock=s, reader=rd)
    w = c.join("keepalive-upgrader")
    assert w["users"] == ["keepalive-upgrader"]
    c.close()


def test_pipelined_requests_then_upgrade_in_one_write(srv):
    s = connect(srv.port)
    rd = Reader(s)
    req, key = handshake_request(srv.port)
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n" + req + build_frame(OP_TEXT, b'{"type":"join","nick":"pipe"}'))
    assert read_response(rd).body == b"ok"
    r = read_response(rd)
    assert r.status == 101 and r.headers["sec-websocket-accept"] == accept_for(key)
    c = WsClient(s, rd)
    assert c.recv_json() == {"type": "welcome", "nick": "pipe", "users": ["pipe"]}
    c.close()


def test_frames_right_behind_handshake(srv):
    frames = build_frame(OP_TEXT, b'{"type":"join","nick":"eager"}') + build_frame(
        OP_TEXT, b'{"type":"msg","msg":"first words"}'
    )
    c = WsClient.open(srv.port, trailing=frames)
    got = [c.recv_json() for _ in range(3)]
    assert got[0]["type"] == "welcome"
    assert got[1]["event"] == "join"
    assert got[2]["type"] == "msg" and got[2]["msg"] == "first words"
    c.close()


TRAVERSALS = [
    b"/../etc/passwd",
    b"/../../../../../../etc/passwd",
    b"/%2e%2e/%2e%2e/etc/passwd",
    b"/%2E%2E/%2E%2E/%2E%2E/etc/passwd",
    b"/..%2fetc%2fpasswd",
    b"/..%2Fsecret.txt",
    b"/../secret.txt",
    b"/%2e%2e/secret.txt",
    b"/img/../../secret.txt",
    b"/img/%2e%2e/%2e%2e/secret.txt",
    b"/%2E%2E/",
    b"/..",
    b"//etc/passwd",
    b"/%2fetc%2fpasswd",
    b"/link-out.txt",
    b"/rel-link-out.txt",
    b"/etc-dir/passwd",
    b"/etc-dir/../../secret.txt",
    b"/chat.html%00.png",
    b"/.\\..\\secret.txt",
]


@pytest.mark.parametrize("target", TRAVERSALS)
def test_traversal_is_404(srv, target):
    r = http_request(srv.port, b"GET " + target + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert r.status in (400, 404), r
    assert r.status == 404 or target.endswith(b"%00.png") or b"\\" in target, r
    assert b"root:" not in r.body and b"TOP-SECRET" not in r.body
    assert_healthy(srv.port)


def test_request_one_byte_at_a_time(srv):
    with connect(srv.port) as s:
        for b in b"GET /style.css HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n":
            s.send(bytes([b]))
        r = read_response(Reader(s))
        assert r.status == 200 and r.body == FILES["style.css"]
    # The handshake and a join frame too.
    s = connect(srv.port)
    req, key = handshake_request(srv.port)
    for b in req + build_frame(OP_TEXT, b'{"type":"join","nick":"slowpoke"}'):
        s.send(bytes([b]))
    rd = Reader(s)
    assert read_response(rd).status == 101
    assert WsClient(s, rd).recv_json()["type"] == "welcome"
    s.close()


def test_head_timeout(start_chatd, static):
    srv = start_chatd("--static", static, "--head-timeout", "1")
    silent = connect(srv.port)
    partial = connect(srv.port)
    partial.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
    t0 = time.monotonic()
    wait_closed(silent)  # bounded: fails with a timeout after 10 s
    wait_closed(partial)
    assert time.monotonic() - t0 > 0.5, "closed long before the head timeout"
    assert_healthy(srv.port)
    # A keep-alive connection that finished its request is not cut by it mid-use.
    with connect(srv.port) as s:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        assert read_response(Reader(s)).body == b"ok"
