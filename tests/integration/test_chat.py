"""The chat protocol of PROTOCOL.md (Messages): join, events, ids, every
error code, rate limits, ordering across clients, leave events."""

import json
import threading
import time

import pytest

from helpers import (
    OP_CLOSE,
    OP_TEXT,
    WsClient,
    assert_healthy,
    build_frame,
    joined,
    msg_frame,
    wait_closed,
)


def now_ms():
    return int(time.time() * 1000)


def test_join_welcome_and_users_in_join_order(chatd):
    p = chatd.port
    a = WsClient.open(p)
    assert a.join("  alice\t") == {"type": "welcome", "nick": "alice", "users": ["alice"]}
    b = WsClient.open(p)
    assert b.join("\u3000bob\u00a0") == {"type": "welcome", "nick": "bob", "users": ["alice", "bob"]}
    c = WsClient.open(p)
    assert c.join("Carol Ann") == {"type": "welcome", "nick": "Carol Ann", "users": ["alice", "bob", "Carol Ann"]}
    b.close()  # bob leaves; a newcomer sees the rest in join order
    d = WsClient.open(p)
    w = d.join("dave")
    assert w["users"] == ["alice", "Carol Ann", "dave"]
    for x in (a, c, d):
        x.close()


def test_events_reach_everyone_with_consecutive_ids(chatd):
    p = chatd.port
    t0 = now_ms()
    a, ja = joined(p, "alice")
    b, jb = joined(p, "bob")
    assert a.recv_json() == jb
    assert jb["id"] == ja["id"] + 1
    assert jb["text"] == "bob joined" and ja["text"] == "alice joined"
    c, jc = joined(p, "carol")
    assert a.recv_json() == jc == b.recv_json()
    assert jc["id"] == jb["id"] + 1
    b.send_json({"type": "msg", "msg": "Olá!"})
    m = [x.recv_json() for x in (a, b, c)]
    assert m[0] == m[1] == m[2]
    assert m[0]["type"] == "msg" and m[0]["nick"] == "bob" and m[0]["msg"] == "Olá!" and m[0]["id"] == jc["id"] + 1
    t1 = now_ms()
    for ev in (ja, jb, jc, m[0]):
        assert isinstance(ev["ts"], int) and t0 - 2000 <= ev["ts"] <= t1 + 2000, (ev, t0, t1)
    assert ja["ts"] <= jb["ts"] <= jc["ts"] <= m[0]["ts"]
    c.send_close(1000)
    c.expect_close(1000)
    la, lb = a.recv_json(), b.recv_json()
    assert la == lb and la["event"] == "leave" and la["nick"] == "carol" and la["text"] == "carol left"
    assert la["id"] == m[0]["id"] + 1
    a.close()
    b.close()


def test_unjoined_connection_gets_no_events(chatd):
    p = chatd.port
    lurker = WsClient.open(p)
    a, _ = joined(p, "alice")
    a.send_json({"type": "msg", "msg": "anyone?"})
    a.recv_json()
    # The lurker's first message is its own welcome: nothing was sent before.
    w = lurker.join("lurker")
    assert w["users"] == ["alice", "lurker"]
    assert lurker.recv_json()["event"] == "join"


JOINED_ERRORS = [
    ("not json", "bad_json"),
    ("", "bad_json"),
    ("{", "bad_json"),
    ("[1, 2]", "bad_json"),
    ('"just a string"', "bad_json"),
    ("42", "bad_json"),
    ("null", "bad_json"),
    ('{"type":"msg","msg":"a"} {"type":"msg","msg":"b"}', "bad_json"),
    ('{"type":"msg","msg":"a"} trailing', "bad_json"),
    ("{}", "bad_type"),
    ('{"msg":"no type"}', "bad_type"),
    ('{"type":5,"msg":"x"}', "bad_type"),
    ('{"type":null}', "bad_type"),
    ('{"type":["msg"]}', "bad_type"),
    ('{"type":"hello"}', "bad_type"),
    ('{"type":"welcome","nick":"x","users":[]}', "bad_type"),
    ('{"type":"msg"}', "bad_field"),
    ('{"type":"msg","msg":5}', "bad_field"),
    ('{"type":"msg","msg":null}', "bad_field"),
    ('{"type":"msg","msg":{"text":"x"}}', "bad_field"),
    ('{"type":"join","nick":"alice"}', "already_joined"),
    ('{"type":"join","nick":"somebody-else"}', "already_joined"),
    ('{"type":"msg","msg":""}', "msg_invalid"),
    ('{"type":"msg","msg":" "}', "msg_invalid"),
    ('{"type":"msg","msg":"\\n\\t \\r"}', "msg_invalid"),
    ('{"type":"msg","msg":"\u3000"}', "msg_invalid"),
    ('{"type":"msg","msg":"\u00a0"}', "msg_invalid"),
    ('{"type":"msg","msg":"\\u3000\\u00a0\\u2003 "}', "msg_invalid"),
    (json.dumps({"type": "msg", "msg": "é" * 2001}), "msg_invalid"),
    (json.dumps({"type": "msg", "msg": "😀" * 2001}), "msg_invalid"),
]

UNJOINED_ERRORS = [
    ('{"type":"msg","msg":"hi"}', "not_joined"),
    ('{"type":"join"}', "bad_field"),
    ('{"type":"join","nick":7}', "bad_field"),
    ('{"type":"join","nick":null}', "bad_field"),
    ('{"type":"join","nick":""}', "nick_invalid"),
    ('{"type":"join","nick":"   "}', "nick_invalid"),
    ('{"type":"join","nick":"\u3000\u00a0"}', "nick_invalid"),
    (json.dumps({"type": "join", "nick": "é" * 33}), "nick_invalid"),
    (json.dumps({"type": "join", "nick": "a" * 33}), "nick_invalid"),
    ('{"type":"join","nick":"a\\u0001b"}', "nick_invalid"),
    ('{"type":"join","nick":"a\\u0000b"}', "nick_invalid"),
    ('{"type":"join","nick":"tab\\there"}', "nick_invalid"),
    ('{"type":"join","nick":"del\\u007f"}', "nick_invalid"),
    ('{"type":"join","nick":"c1\\u0085x"}', "nick_invalid"),
    ('{"type":"join","nick":"c1\\u009fx"}', "nick_invalid"),
    ('{"type":"join","nick":"alice"}', "nick_taken"),
    ('{"type":"join","nick":"ALICE"}', "nick_taken"),
    ('{"type":"join","nick":"  aLiCe  "}', "nick_taken"),
    ("not json", "bad_json"),
    ('{"nick":"x"}', "bad_type"),
]


@pytest.fixture
def room(chatd):
    """alice (joined) and a watcher that has seen alice's join."""
    watcher, _ = joined(chatd.port, "watcher")
    alice, ja = joined(chatd.port, "alice")
    assert watcher.recv_json() == ja
    return watcher, alice, ja["id"]


def check_error(reply, code):
    assert reply["type"] == "error" and reply["code"] == code, reply
    assert isinstance(reply["message"], str) and reply["message"], reply
    assert set(reply) == {"type", "code", "message"}, reply


@pytest.mark.parametrize("text,code", JOINED_ERRORS, ids=[f"{c}:{t[:30]}" for t, c in JOINED_ERRORS])
def test_error_from_joined_client(chatd, room, text, code):
    watcher, alice, last_id = room
    alice.send_text(text.encode())
    check_error(alice.recv_json(), code)
    # Still open, and nothing was broadcast: the next event has the next id.
    alice.send_json({"type": "msg", "msg": "after the error"})
    ev = alice.recv_json()
    assert ev["msg"] == "after the error" and ev["id"] == last_id + 1
    assert watcher.recv_json() == ev


@pytest.mark.parametrize("text,code", UNJOINED_ERRORS, ids=[f"{c}:{t[:30]}" for t, c in UNJOINED_ERRORS])
def test_error_from_unjoined_client(chatd, room, text, code):
    watcher, alice, last_id = room
    c = WsClient.open(chatd.port)
    c.send_text(text.encode())
    check_error(c.recv_json(), code)
    w = c.join("newcomer")
    assert w["users"] == ["watcher", "alice", "newcomer"]
    ev = watcher.recv_json()
    assert (ev["event"], ev["nick"], ev["id"]) == ("join", "newcomer", last_id + 1)
    assert c.recv_json() == ev


@pytest.mark.parametrize(
    "nick",
    ["é" * 32, "😀" * 32, "a" * 32, "  " + "b" * 32 + "  ", "Ölaf", "日本語", "x"],
)
def test_valid_nicks(chatd, nick):
    c = WsClient.open(chatd.port)
    assert c.join(nick)["nick"] == nick.strip()


def test_nick_taken_is_ascii_case_insensitive_only(chatd):
    a, _ = joined(chatd.port, "Äbc")
    b = WsClient.open(chatd.port)
    assert b.join("äbc")["nick"] == "äbc"  # not ASCII: different nicks
    c = WsClient.open(chatd.port)
    c.send_json({"type": "join", "nick": "äBC"})
    check_error(c.recv_json(), "nick_taken")
    # A nick frees up when its owner leaves.
    a.send_close(1000)
    a.expect_close(1000)
    assert c.join("Äbc")["nick"] == "Äbc"


def test_msg_limits_and_content_round_trip(room):
    watcher, alice, last_id = room
    cases = [
        "😀" * 2000,
        "é" * 2000,
        "ctl \u0000 \u0001 \u001f \u007f \u0085 end",
        "quote \" backslash \\ slash / </script> <b>x</b>",
        "  padded, not trimmed \t",
        "line1\nline2\r\n",
        "\u2028\u2029 separators",
        "x",
    ]
    for i, text in enumerate(cases):
        alice.send_json({"type": "msg", "msg": text})
        f = alice.recv_frame()
        assert f.opcode == OP_TEXT
        raw = f.payload
        assert not any(b < 0x20 for b in raw), f"unescaped control byte in {raw[:80]!r}"
        ev = json.loads(raw)
        assert ev["msg"] == text and ev["id"] == last_id + 1 + i
        assert watcher.recv_json() == ev


def test_unknown_fields_ignored(room):
    watcher, alice, last_id = room
    alice.send_json(
        {"type": "msg", "msg": "hi", "nick": "mallory", "id": 1, "ts": 0, "extra": {"deep": [1, {"x": None}]}}
    )
    ev = alice.recv_json()
    assert ev["nick"] == "alice" and ev["id"] == last_id + 1 and ev["ts"] > 1 and ev["msg"] == "hi"
    assert watcher.recv_json() == ev
    c = WsClient.open(peer_port(watcher))
    c.send_json({"nick": "zed", "color": "red", "type": "join", "users": ["x"]})
    assert c.recv_json() == {"type": "welcome", "nick": "zed", "users": ["watcher", "alice", "zed"]}


def peer_port(client):
    return client.sock.getpeername()[1]


def send_burst(client, n, prefix="m"):
    client.send_raw(b"".join(msg_frame(f"{prefix}{i}") for i in range(n)))


def collect_replies(client, n):
    return [client.recv_json() for _ in range(n)]


def test_rate_limited(start_chatd):
    srv = start_chatd("--rate", "1", "--burst", "3")
    w, _ = joined(srv.port, "w")
    a, _ = joined(srv.port, "a")
    w.recv_json()
    send_burst(a, 6)
    got = collect_replies(a, 6)
    assert [g["type"] for g in got] == ["msg"] * 3 + ["error"] * 3, got
    for g in got[3:]:
        check_error(g, "rate_limited")
    assert [g["msg"] for g in got[:3]] == ["m0", "m1", "m2"]
    # Dropped messages are not broadcast: the watcher's next event after m2
    # is the one below, with the next id.
    assert [w.recv_json()["msg"] for _ in range(3)] == ["m0", "m1", "m2"]
    w.send_json({"type": "msg", "msg": "from w"})
    ev = w.recv_json()
    assert ev["msg"] == "from w" and ev["id"] == got[2]["id"] + 1
    assert a.recv_json() == ev  # a was still connected


def test_default_rate_burst_40(chatd):
    a, _ = joined(chatd.port, "a")
    send_burst(a, 60)
    got = collect_replies(a, 60)
    ok = [g for g in got if g["type"] == "msg"]
    errs = [g for g in got if g["type"] == "error"]
    assert 40 <= len(ok) <= 45, len(ok)  # burst 40, plus a token or two of refill at 20/s
    for e in errs:
        check_error(e, "rate_limited")
    assert [g["msg"] for g in ok[:40]] == [f"m{i}" for i in range(40)]


def test_rate_zero_allows_burst_of_200(start_chatd):
    srv = start_chatd("--rate", "0")
    w, _ = joined(srv.port, "w")
    a, _ = joined(srv.port, "a")
    w.recv_json()
    send_burst(a, 200)
    got = collect_replies(a, 200)
    assert [g.get("msg") for g in got] == [f"m{i}" for i in range(200)]
    assert [g["id"] for g in got] == list(range(got[0]["id"], got[0]["id"] + 200))
    assert [w.recv_json() for _ in range(200)] == got


def test_three_clients_interleave_1000_messages_each(start_chatd):
    srv = start_chatd("--rate", "0")
    names = ["c0", "c1", "c2"]
    clients = []
    for n in names:
        c, _ = joined(srv.port, n)
        clients.append(c)
    clients[0].recv_json(), clients[0].recv_json(), clients[1].recv_json()
    n_each = 1000
    results = {}
    errors = []
    start = threading.Barrier(len(clients))

    def sender(c):
        start.wait(10)
        for lo in range(0, n_each, 25):  # chunks, so the three writers interleave
            c.send_raw(b"".join(msg_frame(f"{c.nick}-{k}") for k in range(lo, lo + 25)))

    def reader(c):
        try:
            results[c.nick] = [c.recv_json() for _ in range(n_each * len(clients))]
        except Exception as e:  # surfaced below
            errors.append(e)

    threads = [threading.Thread(target=f, args=(c,)) for c in clients for f in (sender, reader)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    seqs = [results[n] for n in names]
    assert seqs[0] == seqs[1] == seqs[2], "clients saw different event sequences"
    ids = [e["id"] for e in seqs[0]]
    assert ids == list(range(ids[0], ids[0] + len(ids))), "gap or duplicate in ids"
    for n in names:
        own = [e["msg"] for e in seqs[0] if e["nick"] == n]
        assert own == [f"{n}-{k}" for k in range(n_each)]
    senders = [e["nick"] for e in seqs[0]]
    switches = sum(1 for x, y in zip(senders, senders[1:]) if x != y)
    print(f"interleaving: {switches} sender switches in {len(senders)} events")


def test_leave_on_close_frame_and_on_reset(chatd):
    w, _ = joined(chatd.port, "w")
    a, _ = joined(chatd.port, "a")
    b, _ = joined(chatd.port, "b")
    w.recv_json(), w.recv_json()
    a.send_raw(build_frame(OP_CLOSE, b"\x03\xe8"))
    a.expect_close(1000)
    ev = w.recv_json()
    assert (ev["event"], ev["nick"]) == ("leave", "a")
    b.reset()
    ev2 = w.recv_json()
    assert (ev2["event"], ev2["nick"], ev2["id"]) == ("leave", "b", ev["id"] + 1)
    # Exactly one leave each: the next event is a fresh one.
    w.send_json({"type": "msg", "msg": "alone"})
    assert w.recv_json()["id"] == ev2["id"] + 1


def test_unjoined_close_gives_no_leave(chatd):
    w, _ = joined(chatd.port, "w")
    u = WsClient.open(chatd.port)
    u.reset()
    u2 = WsClient.open(chatd.port)
    u2.send_close(1000)
    u2.expect_close(1000)
    w.send_json({"type": "msg", "msg": "marker"})
    assert w.recv_json()["msg"] == "marker"


def test_leave_on_slow_consumer_drop(start_chatd):
    srv = start_chatd("--rate", "0", "--max-backlog", "65536")
    w, _ = joined(srv.port, "w")
    slow, _ = joined(srv.port, "slow", rcvbuf=4096)
    w.recv_json()
    text = "s" * 1900
    sent = 0
    leave = None
    while leave is None and sent < 40000:  # bound: ~76 MB
        w.send_raw(b"".join(msg_frame(text) for _ in range(20)))
        sent += 20
        got = 0
        while got < 20:
            ev = w.recv_json()
            if ev["type"] == "msg":
                assert ev["nick"] == "w"
                got += 1
            else:
                assert (ev["event"], ev["nick"]) == ("leave", "slow"), ev
                leave = ev
    assert leave is not None, f"slow consumer never dropped after {sent} messages"
    print(f"slow consumer dropped after {sent} messages of {len(text)} bytes")
    # Whatever it had buffered, its connection ends (maybe with a 1008 close).
    wait_closed(slow.sock)
    assert_healthy(srv.port)
