"""RFC 6455 framing against chatd, with PROTOCOL.md's close codes.

Every bad input is checked for its close code, for the end of the TCP
connection after the close frame, and that the server still serves others.
"""

import json
import signal
import socket
import struct

import pytest

from helpers import (
    OP_BINARY,
    OP_CLOSE,
    OP_CONT,
    OP_PING,
    OP_PONG,
    OP_TEXT,
    assert_healthy,
    build_frame,
    close_payload,
    joined,
    msg_frame,
    text_frames,
    WsClient,
)


def msg_json(text, **extra):
    return json.dumps({"type": "msg", "msg": text, **extra}, ensure_ascii=False).encode()


@pytest.fixture
def pair(chatd):
    """Two joined clients: (a, b), b's join already read by a."""
    a, _ = joined(chatd.port, "alice")
    b, _ = joined(chatd.port, "bob")
    assert a.recv_json()["nick"] == "bob"
    yield a, b
    a.close()
    b.close()


def fail_with(port, a, b, data, code):
    """b sends data; b gets a close with code then EOF; a sees b leave;
    the server still serves a new client."""
    b.send_raw(data)
    b.expect_close(code)
    ev = a.recv_json()
    assert (ev["type"], ev["event"], ev["nick"]) == ("system", "leave", b.nick), ev
    assert_healthy(port)
    c, _ = joined(port, "carol-after")
    c.close()


@pytest.mark.parametrize("sizes", [[1], [2, 1, 3], [7], [64]])
def test_fragmented_text_message(chatd, pair, sizes):
    a, b = pair
    body = msg_json("fragmented héllo wörld " * 4)
    for f in text_frames(body, sizes):
        b.send_raw(f)
    ma, mb = a.recv_json(), b.recv_json()
    assert ma == mb and ma["msg"] == "fragmented héllo wörld " * 4


def test_ping_between_fragments_is_answered_before_message_completes(pair):
    a, b = pair
    frames = text_frames(msg_json("split by a ping"), [3])
    for i, f in enumerate(frames[:-1]):
        b.send_raw(f)
        if i in (0, len(frames) // 2):
            payload = b"mid-%d" % i
            b.send_frame(OP_PING, payload)
            pong = b.recv_frame()
            assert pong.opcode == OP_PONG and pong.payload == payload, pong
    b.send_raw(frames[-1])
    assert b.recv_json()["msg"] == "split by a ping"
    assert a.recv_json()["msg"] == "split by a ping"


@pytest.mark.parametrize("payload", [b"", b"x", bytes(range(125)), "ping ü".encode()])
def test_ping_pong_echo(pair, payload):
    a, b = pair
    b.send_frame(OP_PING, payload)
    f = b.recv_frame()
    assert f.opcode == OP_PONG and f.fin and f.payload == payload


def test_unsolicited_pong_ignored(pair):
    a, b = pair
    b.send_frame(OP_PONG, b"unasked")
    b.send_frame(OP_PONG, b"")
    b.send_raw(msg_frame("still here"))
    assert b.recv_json()["msg"] == "still here"  # no frame came before it
    assert a.recv_json()["msg"] == "still here"


def sized_msg(total):
    """A msg JSON of exactly total bytes, padded in an unknown field."""
    base = len(msg_json("x", pad=""))
    out = msg_json("x", pad="p" * (total - base))
    assert len(out) == total
    return out


@pytest.mark.parametrize("limit", [None, 1024])
def test_max_message(start_chatd, limit):
    srv = start_chatd(*(["--max-message", limit] if limit else []))
    limit = limit or 65536
    a, _ = joined(srv.port, "alice")
    b, _ = joined(srv.port, "bob")
    a.recv_json()
    b.send_text(sized_msg(limit))
    assert b.recv_json()["msg"] == "x"
    assert a.recv_json()["msg"] == "x"
    # Exactly at the limit again, in fragments.
    for f in text_frames(sized_msg(limit), [limit // 3]):
        b.send_raw(f)
    assert b.recv_json()["msg"] == "x"
    assert a.recv_json()["msg"] == "x"
    # One byte over, fragmented: fails once reassembly passes the limit.
    c, _ = joined(srv.port, "carol")
    assert a.recv_json()["nick"] == "carol" and b.recv_json()["nick"] == "carol"
    for f in text_frames(sized_msg(2 * limit), [limit // 4])[:5]:
        c.send_raw(f)
    c.expect_close(1009)
    assert a.recv_json()["event"] == "leave" and b.recv_json()["event"] == "leave"
    # One byte over in one frame.
    fail_with(srv.port, a, b, build_frame(OP_TEXT, sized_msg(limit + 1)), 1009)


def test_oversized_frame_header_alone_fails(pair, chatd):
    """A header announcing more than the limit fails without the payload."""
    a, b = pair
    fail_with(chatd.port, a, b, build_frame(OP_TEXT, b"", length=1 << 40), 1009)


PROTOCOL_ERRORS = {
    "unmasked": build_frame(OP_TEXT, b'{"type":"msg","msg":"x"}', mask=False),
    "rsv1": build_frame(OP_TEXT, b'{"type":"msg","msg":"x"}', rsv=4),
    "rsv2": build_frame(OP_TEXT, b'{"type":"msg","msg":"x"}', rsv=2),
    "rsv3": build_frame(OP_TEXT, b'{"type":"msg","msg":"x"}', rsv=1),
    "rsv-on-ping": build_frame(OP_PING, b"x", rsv=4),
    "fragmented-ping": build_frame(OP_PING, b"x", fin=False),
    "fragmented-close": build_frame(OP_CLOSE, close_payload(1000), fin=False),
    "ping-126": build_frame(OP_PING, b"p" * 126),
    "pong-126": build_frame(OP_PONG, b"p" * 126),
    "close-126": build_frame(OP_CLOSE, close_payload(1000, b"r" * 124)),
    "ping-length-64bit": build_frame(OP_PING, b"", length=65536),
    "continuation-first": build_frame(OP_CONT, b'{"type":"msg","msg":"x"}'),
    "continuation-first-unfinished": build_frame(OP_CONT, b"{", fin=False),
    "text-inside-fragmented": build_frame(OP_TEXT, b'{"type":', fin=False) + build_frame(OP_TEXT, b"{}"),
    "binary-inside-fragmented": build_frame(OP_TEXT, b'{"type":', fin=False) + build_frame(OP_BINARY, b"{}"),
    "close-1-byte": build_frame(OP_CLOSE, b"\x03"),
    "unmasked-ping": build_frame(OP_PING, b"x", mask=False),
    "unmasked-close": build_frame(OP_CLOSE, close_payload(1000), mask=False),
}
for op in (0x3, 0x4, 0x5, 0x6, 0x7, 0xB, 0xC, 0xD, 0xE, 0xF):
    PROTOCOL_ERRORS[f"opcode-{op:#x}"] = build_frame(op, b"x")
for code in (0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535):
    PROTOCOL_ERRORS[f"close-code-{code}"] = build_frame(OP_CLOSE, close_payload(code))


@pytest.mark.parametrize("name", sorted(PROTOCOL_ERRORS))
def test_protocol_error_1002(chatd, pair, name):
    a, b = pair
    fail_with(chatd.port, a, b, PROTOCOL_ERRORS[name], 1002)


def test_length_with_msb_set(chatd, pair):
    """RFC 6455 5.2: the most significant bit of a 64-bit length must be 0;
    either a protocol error or too big is a fair answer."""
    a, b = pair
    b.send_raw(b"\x81\xff" + struct.pack("!Q", 1 << 63) + b"\0\0\0\0")
    code, _, _ = b.expect_close()
    assert code in (1002, 1009)
    assert a.recv_json()["event"] == "leave"
    assert_healthy(chatd.port)


def test_binary_message_1003(chatd, pair):
    a, b = pair
    fail_with(chatd.port, a, b, build_frame(OP_BINARY, b'{"type":"msg","msg":"x"}'), 1003)


def test_fragmented_binary_message_1003(chatd, pair):
    a, b = pair
    data = build_frame(OP_BINARY, b"\x00\x01", fin=False) + build_frame(OP_CONT, b"\x02")
    fail_with(chatd.port, a, b, data, 1003)


BAD_UTF8 = {
    "ff": b"\xff",
    "lone-continuation": b"\x80",
    "overlong-nul": b"\xc0\x80",
    "overlong-3": b"\xe0\x80\xaf",
    "surrogate": b"\xed\xa0\x80",
    "above-max": b"\xf4\x90\x80\x80",
    "f5": b"\xf5\x80\x80\x80",
    "truncated-at-end": b"\xe2\x82",
}


@pytest.mark.parametrize("name", sorted(BAD_UTF8))
def test_invalid_utf8_1007(chatd, pair, name):
    a, b = pair
    bad = BAD_UTF8[name]
    body = b'{"type":"msg","msg":"a' + bad + (b"" if name == "truncated-at-end" else b'"}')
    fail_with(chatd.port, a, b, build_frame(OP_TEXT, body), 1007)


def test_invalid_utf8_fails_at_first_bad_fragment(chatd, pair):
    """The message never completes: the bad fragment alone must fail it."""
    a, b = pair
    data = build_frame(OP_TEXT, b'{"type":"msg","msg":"ok so far', fin=False) + build_frame(
        OP_CONT, b" then \xc3\x28 bad", fin=False
    )
    fail_with(chatd.port, a, b, data, 1007)


def test_utf8_sequence_split_across_fragments_is_fine(pair):
    a, b = pair
    body = msg_json("€uro 😀")
    i = body.index("€".encode()) + 1
    j = body.index("😀".encode()) + 2
    b.send_raw(build_frame(OP_TEXT, body[:i], fin=False))
    b.send_raw(build_frame(OP_CONT, body[i:j], fin=False))
    b.send_raw(build_frame(OP_CONT, body[j:], fin=True))
    assert b.recv_json()["msg"] == "€uro 😀"
    assert a.recv_json()["msg"] == "€uro 😀"


def test_truncated_utf8_at_fragment_end_then_bad_continuation(chatd, pair):
    a, b = pair
    data = build_frame(OP_TEXT, b'{"type":"msg","msg":"\xe2\x82', fin=False) + build_frame(OP_CONT, b'("}', fin=True)
    fail_with(chatd.port, a, b, data, 1007)


def test_invalid_utf8_close_reason_1007(chatd, pair):
    a, b = pair
    fail_with(chatd.port, a, b, build_frame(OP_CLOSE, close_payload(1000, b"bye \xff")), 1007)


@pytest.mark.parametrize("code", [1000, 1001, 1003, 1008, 1011, 3000, 4999])
def test_client_close_valid_codes(chatd, pair, code):
    a, b = pair
    b.send_close(code, "ciao ✓".encode())
    got, reason, _ = b.expect_close()
    assert got is not None and got not in (1002, 1007), got
    if code == 1000:
        assert got == 1000
    ev = a.recv_json()
    assert (ev["event"], ev["nick"]) == ("leave", "bob")
    assert_healthy(chatd.port)


def test_clean_close_from_client(chatd, pair):
    a, b = pair
    b.send_close(1000)
    got, _, skipped = b.expect_close(1000)  # then TCP ends (checked inside)
    assert skipped == []
    assert a.recv_json()["event"] == "leave"


def test_empty_close_from_client(chatd, pair):
    a, b = pair
    b.send_frame(OP_CLOSE, b"")
    got, _, _ = b.expect_close()
    assert got in (None, 1000)
    assert a.recv_json()["event"] == "leave"


def test_clean_close_from_server_on_sigterm(chatd, pair):
    a, b = pair
    chatd.send_signal(signal.SIGTERM)
    for c in (a, b):
        c.expect_close(1001, reply=True)
    assert chatd.wait_exit() == 0


def test_abrupt_close_gives_leave(chatd, pair):
    a, b = pair
    b.reset()
    ev = a.recv_json()
    assert (ev["type"], ev["event"], ev["nick"]) == ("system", "leave", "bob")
    assert_healthy(chatd.port)


def test_abrupt_close_mid_frame_gives_leave(chatd, pair):
    a, b = pair
    b.send_raw(build_frame(OP_TEXT, msg_json("never finished"))[:10])
    b.reset()
    ev = a.recv_json()
    assert (ev["event"], ev["nick"]) == ("leave", "bob")


def test_messages_before_protocol_error_are_processed(chatd, pair):
    a, b = pair
    data = msg_frame("one") + msg_frame("two") + build_frame(OP_TEXT, msg_json("three"), mask=False)
    b.send_raw(data)
    got, _, before = b.expect_close(1002)
    assert [m["msg"] for m in before if m["type"] == "msg"] == ["one", "two"]
    evs = [a.recv_json() for _ in range(3)]
    assert [e.get("msg", e.get("event")) for e in evs] == ["one", "two", "leave"]
    assert evs[1]["id"] == evs[0]["id"] + 1 and evs[2]["id"] == evs[1]["id"] + 1
    assert_healthy(chatd.port)


def test_messages_before_close_frame_are_processed(chatd, pair):
    a, b = pair
    b.send_raw(msg_frame("alpha") + msg_frame("beta") + build_frame(OP_CLOSE, close_payload(1000)) + msg_frame("after"))
    got, _, before = b.expect_close(1000)
    assert [m["msg"] for m in before] == ["alpha", "beta"]
    evs = [a.recv_json() for _ in range(3)]
    assert [e.get("msg", e.get("event")) for e in evs] == ["alpha", "beta", "leave"]


def test_messages_before_utf8_error_in_same_write(chatd, pair):
    a, b = pair
    b.send_raw(msg_frame("fine") + build_frame(OP_TEXT, b'{"type":"msg","msg":"\xff"}'))
    _, _, before = b.expect_close(1007)
    assert [m["msg"] for m in before] == ["fine"]
    assert a.recv_json()["msg"] == "fine"
    assert a.recv_json()["event"] == "leave"


def test_unjoined_connection_protocol_error(chatd):
    c = WsClient.open(chatd.port)
    c.send_raw(build_frame(OP_TEXT, b"{}", mask=False))
    c.expect_close(1002)
    assert_healthy(chatd.port)


def test_bytes_after_close_are_ignored(chatd, pair):
    a, b = pair
    b.send_raw(build_frame(OP_CLOSE, close_payload(1000)) + b"\xff\xff garbage after close")
    b.expect_close(1000)
    assert a.recv_json()["event"] == "leave"
    assert_healthy(chatd.port)


def test_client_half_close_after_close_frame(chatd, pair):
    """A client that sends close and shuts down its write side still gets the echo."""
    a, b = pair
    b.send_close(1000)
    b.sock.shutdown(socket.SHUT_WR)
    b.expect_close(1000)
    assert a.recv_json()["event"] == "leave"
