"""Protocol v2 over real sockets (PROTOCOL.md, "Identity and rooms", "Events
and ids", "Join, history and resume"): rooms and their isolation, per-room id
sequences, resume after an abrupt disconnect, history paging, the limits,
and version 1 and version 2 clients in `general` together."""

import threading

import pytest

import json

from helpers import OP_TEXT, WsClient, assert_healthy, build_frame, get


def v2_join(c, room, nick=None, **fields):
    """Sends a v2 join and returns (welcome, replay events, own join event)."""
    req = {"type": "join", "room": room, **fields}
    if nick is not None:
        req["nick"] = nick
    c.send_json(req)
    w = c.recv_json()
    assert w.get("type") == "welcome" and w["room"] == room, w
    replay = []
    while True:
        ev = c.recv_json()
        assert ev.get("room") == room, (ev, room)
        if ev.get("type") == "system" and ev["event"] == "join" and ev["nick"] == w["nick"] and ev["id"] == w["last_id"] + 1:
            return w, replay, ev
        replay.append(ev)


def say(c, room, text):
    c.send_json({"type": "msg", "room": room, "msg": text})


def own_copy(c, room, text):
    """Reads until the client's own copy of text in room (the acknowledgement)."""
    return c.next_event(lambda m: m.get("type") == "msg" and m["room"] == room and m["msg"] == text)


def error_of(c):
    m = c.recv_json()
    assert m.get("type") == "error", m
    return m


def test_two_rooms_on_one_connection_are_isolated(chatd):
    p = chatd.port
    a = WsClient.open(p)
    wa, _, ja = v2_join(a, "dev", "alice")
    assert wa == {"type": "welcome", "room": "dev", "nick": "alice", "users": ["alice"],
                  "epoch": wa["epoch"], "last_id": 0, "resumed": False}
    assert ja["id"] == 1
    wg, _, jg = v2_join(a, "general")  # a later join may omit the nick
    assert wg["nick"] == "alice" and jg["id"] == 1 and wg["epoch"] != wa["epoch"]
    b = WsClient.open(p)
    v2_join(b, "general", "bob")
    assert a.recv_json()["nick"] == "bob"  # bob's join in general reaches alice
    say(b, "general", "only in general")
    mb = own_copy(b, "general", "only in general")
    ma = a.recv_json()
    assert ma == mb and ma["room"] == "general" and ma["id"] == 3
    say(a, "dev", "only in dev")
    md = own_copy(a, "dev", "only in dev")
    assert md["id"] == 2 and md["room"] == "dev"
    # bob is not in dev: he got nothing of it, and may not write there
    say(b, "dev", "intrusion")
    e = error_of(b)
    assert e["code"] == "not_joined" and e["room"] == "dev"
    # A msg without room from a connection in two rooms goes to general.
    a.send_json({"type": "msg", "msg": "no room named"})
    m = own_copy(a, "general", "no room named")
    assert b.recv_json() == m
    # Leaving one room: one leave event there, sent to the leaver too.
    a.send_json({"type": "leave", "room": "dev", "ref": "bye-dev"})
    lv = a.recv_json()
    assert lv["type"] == "system" and lv["event"] == "leave" and lv["room"] == "dev" and lv["id"] == 3
    say(a, "dev", "after leave")
    assert error_of(a)["code"] == "not_joined"
    # Now in exactly one room: a room-less msg goes there.
    a.send_json({"type": "msg", "msg": "the only room"})
    assert own_copy(a, "general", "the only room") == b.recv_json()
    a.close()
    b.close()
    assert_healthy(p)


def test_members_see_identical_per_room_sequences(chatd):
    p = chatd.port
    clients = []
    for i in range(4):
        c = WsClient.open(p)
        v2_join(c, "r1", f"m{i}")
        v2_join(c, "r2")
        clients.append(c)
    # Everyone drains the joins of those who came after them.
    for i, c in enumerate(clients):
        for _ in range(2 * (len(clients) - 1 - i)):
            c.recv_json()
    n = 30

    def sender(c, i):
        for k in range(n):
            say(c, "r1" if k % 2 else "r2", f"{i}-{k}")

    threads = [threading.Thread(target=sender, args=(c, i)) for i, c in enumerate(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seqs = []
    for c in clients:
        seen = {"r1": [], "r2": []}
        while len(seen["r1"]) + len(seen["r2"]) < n * len(clients):
            m = c.recv_json()
            assert m["type"] == "msg", m
            seen[m["room"]].append((m["id"], m["nick"], m["msg"]))
        for room, evs in seen.items():
            ids = [e[0] for e in evs]
            assert ids == list(range(ids[0], ids[0] + len(ids))), (room, ids)
        seqs.append(seen)
    assert all(s == seqs[0] for s in seqs)
    for c in clients:
        c.close()


def test_one_reads_worth_of_requests_keeps_its_order_for_every_member(chatd):
    """Requests that arrive in one read are handled in one loop turn, where a
    room's consecutive msgs are fanned out together: every member still gets
    them in the order sent, and the sender's error reply stays in its place."""
    p = chatd.port
    a, b = WsClient.open(p), WsClient.open(p)
    v2_join(a, "r1", "alice")
    v2_join(a, "r2")
    v2_join(b, "r1", "bob")
    v2_join(b, "r2")
    assert [a.recv_json()["nick"] for _ in range(2)] == ["bob", "bob"]
    sent = [("r1", "a1"), ("r1", "a2"), ("r3", "refused"), ("r1", "a3"), ("r2", "a4"),
            ("r1", "a5"), ("r1", "a6")]
    a.send_raw(b"".join(
        build_frame(OP_TEXT, json.dumps({"type": "msg", "room": r, "msg": t, "ref": t}))
        for r, t in sent))
    want = [(r, t) for r, t in sent if r != "r3"]
    got_a = [a.recv_json() for _ in sent]
    assert [(m.get("room"), m.get("msg", m.get("code"))) for m in got_a] == [
        (r, t) if r != "r3" else ("r3", "not_joined") for r, t in sent]
    got_b = [b.recv_json() for _ in want]
    assert [(m["room"], m["msg"]) for m in got_b] == want
    assert [m for m in got_a if m["type"] == "msg"] == got_b
    for room in ("r1", "r2"):
        ids = [m["id"] for m in got_b if m["room"] == room]
        assert ids == list(range(ids[0], ids[0] + len(ids))), (room, ids)
    a.close()
    b.close()


def test_resume_after_abrupt_disconnect_gets_exactly_the_missed_events(chatd):
    p = chatd.port
    a, b = WsClient.open(p), WsClient.open(p)
    v2_join(a, "ops", "alice")
    wb, _, jb = v2_join(b, "ops", "bob")
    a.recv_json()  # bob's join
    say(b, "ops", "before")
    last_seen = own_copy(b, "ops", "before")["id"]
    a.recv_json()
    epoch = wb["epoch"]
    b.reset()  # abrupt: a TCP reset, no close frame
    left = a.next_event(lambda m: m.get("event") == "leave")
    assert left["nick"] == "bob" and left["id"] == last_seen + 1
    missed = [left]
    for k in range(5):
        say(a, "ops", f"while away {k}")
        missed.append(own_copy(a, "ops", f"while away {k}"))
    b2 = WsClient.open(p)
    w, replay, j = v2_join(b2, "ops", "bob", since=last_seen, epoch=epoch, history=50)
    assert w["resumed"] is True and w["epoch"] == epoch and w["last_id"] == missed[-1]["id"]
    assert w["users"] == ["alice", "bob"]
    assert replay == missed  # exactly what it missed, as first sent, then its join
    assert j["id"] == missed[-1]["id"] + 1
    assert a.recv_json() == j
    # A wrong epoch or an id from the future is no resume: history instead.
    c = WsClient.open(p)
    w, replay, _ = v2_join(c, "ops", "carol", since=last_seen, epoch="nope", history=2)
    assert w["resumed"] is False and [e["id"] for e in replay] == [j["id"] - 1, j["id"]]
    d = WsClient.open(p)
    w, replay, _ = v2_join(d, "ops", "dan", since=10_000, epoch=epoch)
    assert w["resumed"] is False and replay == []
    for x in (a, b2, c, d):
        x.close()


def test_history_pages_a_room_back_to_id_1(start_chatd):
    p = start_chatd("--rate", "0").port
    a = WsClient.open(p)
    v2_join(a, "log", "alice")
    sent = []
    for k in range(120):
        say(a, "log", f"line {k}")
        sent.append(own_copy(a, "log", f"line {k}"))
    everything = []
    before = None
    pages = 0
    while True:
        req = {"type": "history", "room": "log", "limit": 50, "ref": f"page{pages}"}
        if before is not None:
            req["before"] = before
        a.send_json(req)
        h = a.recv_json()
        assert h["type"] == "history" and h["room"] == "log" and h["ref"] == f"page{pages}", h
        ids = [e["id"] for e in h["events"]]
        assert ids == sorted(ids) and len(ids) <= 50
        everything = h["events"] + everything
        pages += 1
        if not h["more"]:
            break
        before = ids[0]
    assert pages == 3
    assert [e["id"] for e in everything] == list(range(1, 122))
    assert everything[1:] == sent  # byte-for-byte the events first sent
    # Defaults and bounds.
    a.send_json({"type": "history", "room": "log"})
    h = a.recv_json()
    assert len(h["events"]) == 50 and h["events"][-1]["id"] == 121 and h["more"] is True
    a.send_json({"type": "history", "room": "log", "limit": 201})
    assert error_of(a)["code"] == "bad_field"
    a.send_json({"type": "history", "room": "elsewhere"})
    assert error_of(a)["code"] == "not_joined"
    a.close()


def test_join_with_history_gets_the_newest_events(chatd):
    p = chatd.port
    a = WsClient.open(p)
    v2_join(a, "lobby", "alice")
    for k in range(10):
        say(a, "lobby", f"m{k}")
        own_copy(a, "lobby", f"m{k}")
    b = WsClient.open(p)
    w, replay, j = v2_join(b, "lobby", "bob", history=4)
    assert w["resumed"] is False and w["last_id"] == 11
    assert [e["msg"] for e in replay] == ["m6", "m7", "m8", "m9"]
    c = WsClient.open(p)
    w, replay, _ = v2_join(c, "lobby", "carol", history=0)
    assert replay == []
    for x in (a, b, c):
        x.close()


def test_room_limits(start_chatd):
    srv = start_chatd("--max-rooms-per-conn", "2", "--max-rooms", "3")
    p = srv.port
    a = WsClient.open(p)
    v2_join(a, "one", "alice")
    v2_join(a, "two")
    a.send_json({"type": "join", "room": "three", "ref": "x"})
    e = error_of(a)
    assert e["code"] == "room_limit" and e["room"] == "three" and e["ref"] == "x"
    b = WsClient.open(p)
    v2_join(b, "three", "bob")
    c = WsClient.open(p)
    c.send_json({"type": "join", "room": "four", "nick": "carol"})
    assert error_of(c)["code"] == "room_limit"
    v2_join(c, "one", "carol")  # an existing room is fine
    a.close()
    b.close()
    c.close()
    assert_healthy(p)


@pytest.mark.parametrize(
    "req,code",
    [
        ({"type": "join", "room": "Dev", "nick": "x"}, "room_invalid"),
        ({"type": "join", "room": "a" * 65, "nick": "x"}, "room_invalid"),
        ({"type": "join", "room": "", "nick": "x"}, "room_invalid"),
        ({"type": "join", "room": "caf\u00e9", "nick": "x"}, "room_invalid"),
        ({"type": "join", "room": 7, "nick": "x"}, "bad_field"),
        ({"type": "join", "room": "ok", "nick": "x", "since": -1}, "bad_field"),
        ({"type": "join", "room": "ok", "nick": "x", "since": 1.5}, "bad_field"),
        ({"type": "join", "room": "ok", "nick": "x", "history": 201}, "bad_field"),
        ({"type": "join", "room": "ok", "nick": "x", "ref": "r" * 65}, "bad_field"),
        ({"type": "join", "room": "ok"}, "bad_field"),
        ({"type": "leave", "room": "ok"}, "not_joined"),
        ({"type": "history", "room": "ok"}, "not_joined"),
        ({"type": "history", "room": "ok", "before": "3"}, "bad_field"),
        ({"type": "nope"}, "bad_type"),
    ],
)
def test_v2_errors_echo_room_and_ref(chatd, req, code):
    c = WsClient.open(chatd.port)
    c.send_json({**req, "ref": req.get("ref", "q1")})
    e = error_of(c)
    assert e["code"] == code, (req, e)
    if isinstance(req.get("room"), str) and code != "bad_field":
        assert e["room"] == req["room"]
    if len(req.get("ref", "q1")) <= 64:
        assert e["ref"] == req.get("ref", "q1")
    assert_healthy(chatd.port)
    c.close()


def test_nicks_are_unique_across_rooms(chatd):
    p = chatd.port
    a = WsClient.open(p)
    v2_join(a, "x", "Alice")
    b = WsClient.open(p)
    b.send_json({"type": "join", "room": "y", "nick": "alice"})
    e = error_of(b)
    assert e["code"] == "nick_taken" and e["room"] == "y"
    a.send_json({"type": "join", "room": "y", "nick": "bob"})
    assert error_of(a)["code"] == "bad_field"  # a connection keeps its nick
    a.close()
    b.close()


def test_rooms_lists_rooms_with_members_busiest_first(chatd):
    p = chatd.port
    a, b = WsClient.open(p), WsClient.open(p)
    v2_join(a, "big", "alice")
    v2_join(b, "big", "bob")
    a.recv_json()
    v2_join(b, "small")
    b.send_json({"type": "rooms", "ref": "r"})
    r = b.recv_json()
    assert r == {"type": "rooms", "rooms": [{"room": "big", "users": 2, "last_id": 2},
                                            {"room": "small", "users": 1, "last_id": 1}], "ref": "r"}
    a.close()
    b.close()


def test_v1_and_v2_clients_in_general_together(chatd):
    p = chatd.port
    v1 = WsClient.open(p)
    assert v1.join("old") == {"type": "welcome", "nick": "old", "users": ["old"]}
    j1 = v1.recv_json()
    v2 = WsClient.open(p)
    w, replay, j2 = v2_join(v2, "general", "new", history=10)
    assert w["users"] == ["old", "new"] and replay == [j1]
    assert v1.recv_json() == j2
    v1.send_json({"type": "msg", "msg": "from v1"})
    m = own_copy(v1, "general", "from v1")
    assert v2.recv_json() == m and m["id"] == j2["id"] + 1
    say(v2, "general", "from v2")
    assert own_copy(v2, "general", "from v2") == v1.recv_json()
    v1.close()
    assert v2.recv_json()["event"] == "leave"
    v2.close()


def test_metrics_count_rooms_members_replays_and_history(chatd):
    p = chatd.port
    a = WsClient.open(p)
    v2_join(a, "m1", "alice")
    v2_join(a, "m2")
    b = WsClient.open(p)
    v2_join(b, "m1", "bob", history=5)
    a.send_json({"type": "history", "room": "m2"})
    a.next_event(lambda m: m["type"] == "history")
    body = get(p, b"/metrics").body.decode()
    values = dict(line.split(" ", 1) for line in body.splitlines() if line and not line.startswith("#"))
    assert values["chatd_rooms"] == "2" and values["chatd_rooms_occupied"] == "2"
    assert values["chatd_room_members"] == "3"
    assert values["chatd_replayed_events_total"] == "1"
    assert values["chatd_history_requests_total"] == "1"
    a.close()
    b.close()
