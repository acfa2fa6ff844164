"""Raw-socket clients for the integration tests: byte-exact HTTP and a
minimal WebSocket client that can send any frame, valid or not.

Every blocking call is bounded by a socket timeout (TIMEOUT seconds): a
server that does not answer fails the test instead of hanging the suite.
"""

import base64
import hashlib
import json
import os
import socket
import struct

TIMEOUT = 10.0
WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

OP_CONT, OP_TEXT, OP_BINARY = 0x0, 0x1, 0x2
OP_CLOSE, OP_PING, OP_PONG = 0x8, 0x9, 0xA


# Every socket a test opened, so teardown can close them before stopping the
# server (a server shutting down waits a grace period for open WebSockets).
OPEN_SOCKETS = []


def close_all():
    while OPEN_SOCKETS:
        try:
            OPEN_SOCKETS.pop().close()
        except OSError:
            pass


def connect(port, timeout=TIMEOUT, rcvbuf=None):
    """Opens a TCP connection to 127.0.0.1:port (rcvbuf set before connect)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    OPEN_SOCKETS.append(s)
    if rcvbuf is not None:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.settimeout(timeout)
    s.connect(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def reset(sock):
    """Closes sock with a TCP RST (SO_LINGER 0) instead of a FIN."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def wait_closed(sock, timeout=TIMEOUT):
    """Reads and discards until the peer ends the connection (EOF or RST);
    returns the bytes discarded. Fails (socket.timeout) if it never ends."""
    sock.settimeout(timeout)
    got = bytearray()
    while True:
        try:
            chunk = sock.recv(65536)
        except (ConnectionResetError, BrokenPipeError):
            return bytes(got)
        if not chunk:
            return bytes(got)
        got += chunk


class Reader:
    """Buffered reads of exact byte counts and lines from a socket."""

    def __init__(self, sock, initial=b""):
        self.sock = sock
        self.buf = bytearray(initial)
        self.pos = 0

    def _fill(self):
        chunk = self.sock.recv(1 << 20)
        if not chunk:
            raise EOFError("connection closed by peer")
        if self.pos > 0 and self.pos == len(self.buf):
            self.buf = bytearray(chunk)
            self.pos = 0
        else:
            if self.pos > (1 << 20):
                del self.buf[: self.pos]
                self.pos = 0
            self.buf += chunk

    def exact(self, n):
        while len(self.buf) - self.pos < n:
            self._fill()
        out = bytes(self.buf[self.pos : self.pos + n])
        self.pos += n
        return out

    def until(self, marker):
        """Returns the bytes up to and including marker."""
        while True:
            i = self.buf.find(marker, self.pos)
            if i >= 0:
                out = bytes(self.buf[self.pos : i + len(marker)])
                self.pos = i + len(marker)
                return out
            self._fill()

    def rest(self):
        """Returns what is buffered but not yet consumed."""
        out = bytes(self.buf[self.pos :])
        self.pos = len(self.buf)
        return out

    def read_to_eof(self):
        out = bytearray(self.rest())
        while True:
            try:
                chunk = self.sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            out += chunk
        return bytes(out)


# ---------------------------------------------------------------- HTTP


class Response:
    def __init__(self, status, reason, headers, body, raw_head):
        self.status = status
        self.reason = reason
        self.headers = headers  # lower-case name -> value (last wins)
        self.body = body
        self.raw_head = raw_head

    def __iter__(self):  # (status, headers, body) unpacking
        return iter((self.status, self.headers, self.body))

    def __repr__(self):
        return f"<Response {self.status} {self.headers} {self.body[:80]!r}>"


def read_response(reader, head_only=False):
    """Reads one HTTP/1.1 response: the head, then Content-Length bytes of
    body (none for HEAD, 1xx, 204, 304); without Content-Length, to EOF."""
    head = reader.until(b"\r\n\r\n")
    lines = head[:-4].decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    assert parts[0] in ("HTTP/1.1", "HTTP/1.0"), f"bad status line {lines[0]!r}"
    status = int(parts[1])
    reason = parts[2] if len(parts) > 2 else ""
    headers = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        assert sep, f"bad header line {line!r}"
        headers[name.strip().lower()] = value.strip()
    if head_only or status in (101, 204, 304) or 100 <= status < 200:
        body = b""
    elif "content-length" in headers:
        body = reader.exact(int(headers["content-length"]))
    else:
        body = reader.read_to_eof()
    return Response(status, reason, headers, body, head)


def http_request(port, data, timeout=TIMEOUT):
    """Sends data (raw request bytes) on a new connection and returns the
    first response as a Response, which unpacks as (status, headers, body)."""
    with connect(port, timeout) as s:
        s.sendall(data)
        return read_response(Reader(s), head_only=data.startswith(b"HEAD "))


def get(port, target, extra=b"", method=b"GET", timeout=TIMEOUT):
    req = method + b" " + target + b" HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n" % port + extra
    return http_request(port, req + b"Connection: close\r\n\r\n", timeout)


def assert_healthy(port):
    """The server still answers a fresh client: GET /healthz -> 200 ok."""
    r = get(port, b"/healthz")
    assert r.status == 200 and r.body.strip() == b"ok", r


# ---------------------------------------------------------------- WebSocket


def build_frame(opcode, payload=b"", fin=True, mask=True, rsv=0, mask_key=None, length=None):
    """Encodes one frame; rsv is the 3 reserved bits (0..7); length overrides
    the encoded payload length (for lying headers)."""
    if isinstance(payload, str):
        payload = payload.encode()
    b0 = (0x80 if fin else 0) | ((rsv & 7) << 4) | (opcode & 0xF)
    n = len(payload) if length is None else length
    if n < 126:
        head = struct.pack("!BB", b0, n | (0x80 if mask else 0))
    elif n < 65536:
        head = struct.pack("!BBH", b0, 126 | (0x80 if mask else 0), n)
    else:
        head = struct.pack("!BBQ", b0, 127 | (0x80 if mask else 0), n)
    if not mask:
        return head + payload
    key = mask_key if mask_key is not None else os.urandom(4)
    return head + key + mask_bytes(payload, key)


def mask_bytes(payload, key):
    if not payload:
        return b""
    n = len(payload)
    k = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(payload, "big") ^ int.from_bytes(k, "big")).to_bytes(n, "big")


def text_frames(data, sizes):
    """Splits data into a fragmented text message with fragment sizes taken
    cyclically from sizes; returns the list of frames."""
    if isinstance(data, str):
        data = data.encode()
    frames, pos, i = [], 0, 0
    while True:
        n = sizes[i % len(sizes)]
        chunk = data[pos : pos + n]
        pos += n
        last = pos >= len(data)
        frames.append(build_frame(OP_TEXT if i == 0 else OP_CONT, chunk, fin=last))
        i += 1
        if last:
            return frames


def close_payload(code, reason=b""):
    return struct.pack("!H", code) + reason


class Frame:
    def __init__(self, fin, rsv, opcode, masked, payload):
        self.fin, self.rsv, self.opcode, self.masked, self.payload = fin, rsv, opcode, masked, payload

    @property
    def close_code(self):
        assert self.opcode == OP_CLOSE
        if len(self.payload) < 2:
            return None
        return struct.unpack("!H", self.payload[:2])[0]

    @property
    def close_reason(self):
        return self.payload[2:]

    def json(self):
        assert self.opcode == OP_TEXT, f"expected text, got {self}"
        return json.loads(self.payload.decode("utf-8"))

    def __repr__(self):
        p = self.payload if len(self.payload) < 120 else self.payload[:120] + b"..."
        return f"<Frame op={self.opcode:#x} fin={self.fin} rsv={self.rsv} {p!r}>"


def handshake_request(port, path=b"/ws", key=None, extra=b"", host=None, version=b"13"):
    key = key or base64.b64encode(os.urandom(16))
    host = host if host is not None else b"127.0.0.1:%d" % port
    return (
        b"GET " + path + b" HTTP/1.1\r\nHost: " + host + b"\r\n"
        b"Upgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: " + key + b"\r\nSec-WebSocket-Version: " + version + b"\r\n" + extra + b"\r\n"
    ), key


def accept_for(key):
    return base64.b64encode(hashlib.sha1(key + WS_GUID).digest()).decode()


class WsClient:
    """A client WebSocket over a raw socket. Reads and sends frames exactly
    as asked; the chat helpers on top assume a well-behaved server."""

    def __init__(self, sock, reader):
        self.sock = sock
        self.reader = reader
        self.nick = None
        self.fragments = 0  # frames of the last message recv_json returned

    @classmethod
    def open(cls, port, extra=b"", trailing=b"", rcvbuf=None, sock=None, reader=None):
        """Connects (or reuses sock), sends the handshake (plus trailing bytes
        in the same write) and checks the 101 and its accept key."""
        if sock is None:
            sock = connect(port, rcvbuf=rcvbuf)
            reader = Reader(sock)
        req, key = handshake_request(port, extra=extra)
        sock.sendall(req + trailing)
        r = read_response(reader)
        assert r.status == 101, r
        assert r.headers.get("upgrade", "").lower() == "websocket", r
        assert "upgrade" in r.headers.get("connection", "").lower(), r
        assert r.headers.get("sec-websocket-accept") == accept_for(key), r
        return cls(sock, reader)

    # -- frames

    def send_raw(self, data):
        self.sock.sendall(data)

    def send_frame(self, opcode, payload=b"", **kw):
        self.sock.sendall(build_frame(opcode, payload, **kw))

    def send_text(self, text, **kw):
        self.send_frame(OP_TEXT, text, **kw)

    def send_close(self, code=1000, reason=b""):
        self.send_frame(OP_CLOSE, close_payload(code, reason))

    def recv_frame(self):
        """Reads one frame; asserts what RFC 6455 requires of a server frame
        (unmasked, no reserved bits) and returns it."""
        r = self.reader
        b0, b1 = r.exact(2)
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack("!H", r.exact(2))[0]
        elif n == 127:
            n = struct.unpack("!Q", r.exact(8))[0]
        masked = bool(b1 & 0x80)
        key = r.exact(4) if masked else None
        payload = r.exact(n)
        if masked:
            payload = mask_bytes(payload, key)
        f = Frame(bool(b0 & 0x80), (b0 >> 4) & 7, b0 & 0xF, masked, payload)
        assert not masked, f"server frame is masked: {f}"
        assert f.rsv == 0, f"server frame has reserved bits: {f}"
        return f

    def recv_json(self):
        """The next text message as JSON, skipping pings (answered) and pongs
        and reassembling a fragmented message (RFC 6455 section 5.4: a text
        frame without FIN, continuations, the last with FIN; control frames
        may come between them): a history answer arrives so."""
        parts = None
        while True:
            f = self.recv_frame()
            if f.opcode == OP_PING:
                self.send_frame(OP_PONG, f.payload)
                continue
            if f.opcode == OP_PONG:
                continue
            if parts is None:
                assert f.opcode == OP_TEXT, f"expected a text message, got {f}"
                parts = [f.payload]
            else:
                assert f.opcode == OP_CONT, f"expected a continuation, got {f}"
                parts.append(f.payload)
            if f.fin:
                self.fragments = len(parts)
                return json.loads(b"".join(parts).decode("utf-8"))

    def expect_close(self, code=None, skip_text=True, reply=False):
        """Reads until a close frame (skipping text messages, fragmented or
        not, when skip_text), asserts its code when given, answers it with a
        close when reply (a server-initiated close), checks that the TCP
        connection ends, and closes the socket.
        Returns (code, reason, skipped_messages)."""
        skipped = []
        parts = None  # the fragments of a message under way
        while True:
            f = self.recv_frame()
            if f.opcode == OP_CLOSE:
                break
            ok = (OP_TEXT, OP_CONT, OP_PING, OP_PONG)
            assert skip_text and f.opcode in ok, f"expected close, got {f}"
            if f.opcode == OP_TEXT:
                assert parts is None, f"a text frame inside a fragmented message: {f}"
                parts = [f.payload]
            elif f.opcode == OP_CONT:
                assert parts is not None, f"a continuation outside a message: {f}"
                parts.append(f.payload)
            if f.opcode in (OP_TEXT, OP_CONT) and f.fin:
                skipped.append(json.loads(b"".join(parts).decode("utf-8")))
                parts = None
        # A close may come between fragments (RFC 6455 section 5.4), but
        # this server finishes a started message first (drop_unstarted).
        assert parts is None, f"close inside a fragmented message after {len(parts)} fragments"
        got = f.close_code
        if code is not None:
            assert got == code, f"close code {got}, want {code} (reason {f.close_reason!r}); before it: {skipped}"
        if reply:
            try:
                self.send_frame(OP_CLOSE, f.payload[:2])
            except OSError:
                pass  # the server may already have gone
        rest = self.reader.rest() + wait_closed(self.sock)
        assert rest == b"", f"bytes after the close frame: {rest[:100]!r}"
        self.close()  # as a browser does once the server has ended TCP
        return got, f.close_reason, skipped

    # -- chat

    def send_json(self, obj):
        self.send_text(json.dumps(obj, ensure_ascii=False))

    def join(self, nick):
        """Joins and returns the welcome (asserting it names nick)."""
        self.send_json({"type": "join", "nick": nick})
        w = self.recv_json()
        assert w.get("type") == "welcome", w
        self.nick = w["nick"]
        return w

    def next_event(self, pred=None):
        """The next event (skipping those pred rejects)."""
        while True:
            m = self.recv_json()
            if pred is None or pred(m):
                return m

    def reset(self):
        reset(self.sock)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def msg_frame(text, **kw):
    return build_frame(OP_TEXT, json.dumps({"type": "msg", "msg": text}, ensure_ascii=False).encode(), **kw)


def joined(port, nick, **kw):
    """Opens a WebSocket, joins as nick, reads the welcome and then its own
    join event (the welcome comes first: the join succeeded, then events);
    returns (client, join_event)."""
    c = WsClient.open(port, **kw)
    c.join(nick)
    ev = c.recv_json()
    assert ev.get("type") == "system" and ev.get("event") == "join" and ev.get("nick") == c.nick, ev
    return c, ev


def refused_answer(sock, request):
    """Sends request on sock, which the server is expected to refuse at
    accept, and closes it: 503 if the server read the request first and
    answered it so, None if it closed without a word. Anything else fails."""
    try:
        sock.sendall(request)
    except (BrokenPipeError, ConnectionResetError):
        sock.close()
        return None
    data = wait_closed(sock)
    sock.close()
    if not data:
        return None
    assert data.startswith(b"HTTP/1.1 503 "), data[:200]
    return 503

