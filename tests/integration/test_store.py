"""The SQLite event store under real faults (PROTOCOL.md, "Storage and
nodes"): chatd killed with SIGKILL while several clients chat in several
rooms, five rounds on one file; a full disk (RLIMIT_FSIZE lowered on the
running process); a corrupt, a locked and an unwritable database at start;
and `--db :memory:`, whose restart means a new epoch."""

import asyncio
import hashlib
import json
import os
import random
import resource
import signal
import sqlite3

import pytest
import websockets

from helpers import WsClient, get

ROOMS = ["alpha", "beta", "gamma"]


async def recv_json(ws, timeout=10):
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


class Recorder:
    """Everything any client received, by (room, id), and what each client
    saw last per room (for resuming)."""

    def __init__(self):
        self.events = {}
        self.epochs = {}
        self.last_seen = {}  # nick -> {room: id}

    def add(self, nick, m):
        key = (m["room"], m["id"])
        prev = self.events.setdefault(key, m)
        assert prev == m, ("one id, two events", prev, m)
        seen = self.last_seen.setdefault(nick, {})
        assert m["id"] == seen.get(m["room"], m["id"] - 1) + 1, ("gap or duplicate", nick, m, seen)
        seen[m["room"]] = m["id"]


async def chatter(port, nick, rec, joined, rng):
    """Joins every room (resuming where rec says it was), then sends and
    reads until the server dies."""
    try:
        async with websockets.connect(f"ws://127.0.0.1:{port}/ws", open_timeout=10, close_timeout=1) as ws:
            for i, room in enumerate(ROOMS):
                req = {"type": "join", "room": room}
                if i == 0:
                    req["nick"] = nick
                await ws.send(json.dumps(req))
                while True:
                    m = await recv_json(ws)
                    if m["type"] == "welcome":
                        assert rec.epochs.setdefault(room, m["epoch"]) == m["epoch"]
                        rec.last_seen.setdefault(nick, {})[room] = m["last_id"]
                        continue
                    rec.add(nick, m)
                    if m.get("event") == "join" and m["nick"] == nick:
                        break
            joined.set()
            k = 0
            while True:
                await ws.send(json.dumps({"type": "msg", "room": rng.choice(ROOMS), "msg": f"{nick} {k}"}))
                k += 1
                # Every fourth message waits for something to arrive, the
                # rest only take what is there: senders stay ahead of readers.
                wait = 10 if k % 4 == 0 else 0.001
                try:
                    while True:
                        m = await recv_json(ws, timeout=wait)
                        wait = 0.001
                        if m["type"] in ("msg", "system"):
                            rec.add(nick, m)
                except asyncio.TimeoutError:
                    pass
    except (websockets.exceptions.ConnectionClosed, ConnectionError, OSError):
        return


def history_of(port, room, nick):
    """Every stored event of room, paged back to id 1 by a fresh client."""
    c = WsClient.open(port)
    c.send_json({"type": "join", "room": room, "nick": nick})
    w = c.recv_json()
    assert w["type"] == "welcome", w
    own = c.recv_json()
    events, before = [], own["id"]
    while True:
        c.send_json({"type": "history", "room": room, "before": before, "limit": 200})
        h = c.next_event(lambda m: m["type"] == "history")
        events = h["events"] + events
        if not h["more"]:
            break
        before = h["events"][0]["id"]
    c.close()
    return w, events, own


async def chat_until_killed(srv, rec, rng, kill_after):
    joined = [asyncio.Event() for _ in range(4)]
    tasks = [asyncio.create_task(chatter(srv.port, f"u{i}", rec, joined[i], rng)) for i in range(4)]
    for j in joined:
        await asyncio.wait_for(j.wait(), 20)
    target = len(rec.events) + kill_after
    while len(rec.events) < target:
        await asyncio.sleep(0.005)
    srv.kill()  # SIGKILL at an arbitrary moment of the chat
    await asyncio.wait_for(asyncio.gather(*tasks), 20)


@pytest.mark.parametrize("mode", [[], ["--fsync"]], ids=["normal", "fsync"])
def test_kill9_loses_nothing_anyone_received(start_chatd, tmp_path, mode):
    db = tmp_path / "chat.db"
    rec = Recorder()
    rng = random.Random(7)
    for round_no in range(5):
        srv = start_chatd("--db", db, "--rate", "0", *mode)
        srv.expect_exit = True
        if round_no > 0:
            # A client resuming with since gets exactly what it missed: every
            # event after the last one it saw, as first sent, then its join.
            seen = rec.last_seen["u0"]["alpha"]
            c = WsClient.open(srv.port)
            c.send_json({"type": "join", "room": "alpha", "nick": f"resumer{round_no}", "since": seen,
                         "epoch": rec.epochs["alpha"]})
            w = c.recv_json()
            assert w["resumed"] is True and w["epoch"] == rec.epochs["alpha"]
            replay = [c.recv_json() for _ in range(w["last_id"] - seen)]
            assert [e["id"] for e in replay] == list(range(seen + 1, w["last_id"] + 1))
            for e in replay:
                assert rec.events.setdefault(("alpha", e["id"]), e) == e
            own = c.recv_json()
            assert own["event"] == "join" and own["id"] == w["last_id"] + 1
            c.close()
            # Every room's history has every event any client received,
            # unchanged, with the same epoch, and ids go on from there.
            for room in ROOMS:
                w, stored, own = history_of(srv.port, room, f"checker{round_no}")
                assert w["epoch"] == rec.epochs[room], "the epoch survives a restart"
                ids = [e["id"] for e in stored]
                assert ids == list(range(1, len(ids) + 1)), "ids stay consecutive"
                by_id = {e["id"]: e for e in stored}
                for (r, i), ev in rec.events.items():
                    if r == room:
                        assert by_id.get(i) == ev, ("received but not stored", ev)
                assert own["id"] == ids[-1] + 1, "ids continue after the restart"
                for e in stored:
                    rec.events.setdefault((room, e["id"]), e)
        asyncio.run(chat_until_killed(srv, rec, rng, kill_after=rng.randrange(20, 200)))
        assert srv.proc.wait(10) == -signal.SIGKILL


def test_full_disk_refuses_then_recovers(start_chatd, tmp_path):
    db = tmp_path / "chat.db"
    srv = start_chatd("--db", db, "--rate", "0", preexec_fn=lambda: signal.signal(signal.SIGXFSZ, signal.SIG_IGN))
    a = WsClient.open(srv.port)
    a.send_json({"type": "join", "room": "disk", "nick": "filler"})
    assert a.recv_json()["type"] == "welcome"
    acked = [a.recv_json()]
    size = max(os.path.getsize(p) for p in tmp_path.iterdir())
    hard = resource.prlimit(srv.pid, resource.RLIMIT_FSIZE)[1]
    # Only the soft limit moves: raising it again needs no privilege.
    resource.prlimit(srv.pid, resource.RLIMIT_FSIZE, (size + 8192, hard))
    big = "x" * 1500
    refused = 0
    for k in range(400):
        a.send_json({"type": "msg", "room": "disk", "msg": f"{k} {big}", "ref": str(k)})
        m = a.recv_json()
        if m["type"] == "error":
            assert m["code"] == "unavailable" and m["room"] == "disk" and m["ref"] == str(k), m
            refused += 1
            break
        acked.append(m)
    assert refused == 1, "the disk never filled"
    r = get(srv.port, b"/healthz")
    assert r.status == 503
    metrics = get(srv.port, b"/metrics").body.decode()
    assert "chatd_store_errors_total 0" not in metrics
    resource.prlimit(srv.pid, resource.RLIMIT_FSIZE, (hard, hard))
    # Service comes back by itself: the next message is stored and sent.
    while True:
        a.send_json({"type": "msg", "room": "disk", "msg": "after", "ref": "after"})
        m = a.recv_json()
        if m["type"] == "msg":
            acked.append(m)
            break
        assert m["code"] == "unavailable"
    assert get(srv.port, b"/healthz").status == 200
    ids = [m["id"] for m in acked]
    assert ids == list(range(1, len(ids) + 1)), "no gap in the ids the clients saw"
    a.close()
    srv.stop()
    srv2 = start_chatd("--db", db)
    _, stored, _ = history_of(srv2.port, "disk", "reader")
    by_id = {e["id"]: e for e in stored}
    for m in acked:
        assert by_id[m["id"]] == m, "an acknowledged message is missing"


def test_corrupt_file_is_refused_untouched(start_chatd, tmp_path, chatd_exit):
    db = tmp_path / "junk.db"
    db.write_bytes(b"this is not a database, just bytes " * 100)
    digest = hashlib.sha256(db.read_bytes()).hexdigest()
    rc, err = chatd_exit("--db", str(db))
    assert rc != 0 and len(err.strip().splitlines()) == 1 and str(db) in err, err
    assert hashlib.sha256(db.read_bytes()).hexdigest() == digest


def test_locked_file_is_refused(start_chatd, tmp_path, chatd_exit):
    db = tmp_path / "busy.db"
    first = start_chatd("--db", db)
    rc, err = chatd_exit("--db", str(db))
    assert rc != 0 and len(err.strip().splitlines()) == 1 and "lock" in err.lower(), err
    c = WsClient.open(first.port)  # the first one is unaffected
    c.join("still-here")
    c.close()


def test_unwritable_location_is_refused(chatd_exit, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    rc, err = chatd_exit("--db", str(blocker / "chat.db"))
    assert rc != 0 and len(err.strip().splitlines()) == 1, err


def test_memory_store_restart_is_a_new_epoch(start_chatd):
    epochs = []
    for _ in range(2):
        srv = start_chatd("--db", ":memory:")
        c = WsClient.open(srv.port)
        c.send_json({"type": "join", "room": "general", "nick": "m"})
        w = c.recv_json()
        assert w["last_id"] == 0
        epochs.append(w["epoch"])
        c.close()
        srv.stop()
    assert epochs[0] != epochs[1]


@pytest.mark.parametrize("mode", [[], ["--fsync"]], ids=["normal", "fsync"])
def test_history_survives_a_clean_restart(start_chatd, tmp_path, mode):
    db = tmp_path / "chat.db"
    srv = start_chatd("--db", db, "--rate", "0", *mode)
    a = WsClient.open(srv.port)
    a.send_json({"type": "join", "room": "keep", "nick": "a"})
    w1 = a.recv_json()
    a.recv_json()
    sent = []
    for k in range(30):
        a.send_json({"type": "msg", "room": "keep", "msg": f"m{k}"})
        sent.append(a.recv_json())
    a.close()
    srv.stop()
    srv = start_chatd("--db", db)
    b = WsClient.open(srv.port)
    b.send_json({"type": "join", "room": "keep", "nick": "b", "history": 200})
    w2 = b.recv_json()
    assert w2["epoch"] == w1["epoch"] and w2["last_id"] == 32  # join, 30 msgs, leave
    replay = [b.recv_json() for _ in range(32)]
    assert replay[1:31] == sent
    b.close()


def test_history_the_file_cannot_read_is_unavailable(start_chatd, tmp_path):
    """A history page whose rows sit on a corrupt page of the file is
    answered `unavailable`, never a short page passing for all there is;
    the store error is counted and pages it can read are still served."""
    db = tmp_path / "chat.db"
    srv = start_chatd("--db", db, "--rate", "0")
    a = WsClient.open(srv.port)
    a.send_json({"type": "join", "room": "deep", "nick": "a"})
    assert a.recv_json()["type"] == "welcome"
    a.recv_json()
    for k in range(3000):
        a.send_json({"type": "msg", "room": "deep", "msg": f"m{k}"})
    last = None
    while last is None or last["id"] < 3001:
        last = a.recv_json()
    a.close()
    srv.stop()  # a clean stop checkpoints: every row is in the file itself
    assert not os.path.exists(f"{db}-wal") or os.path.getsize(f"{db}-wal") == 0
    # The leaf pages of the events table in b-tree order hold the rows in
    # the order stored: damage the middle fifth of them (the middle events).
    # The rest stays intact: the rooms, the index (schema 3's runs, whose
    # pages are spread over the file as it grew, read at start) and the
    # newest events.
    con = sqlite3.connect(db)
    leaves = [n for (n,) in con.execute(
        "SELECT pageno FROM dbstat WHERE name = 'events' AND pagetype = 'leaf' ORDER BY path")]
    con.close()
    data = bytearray(db.read_bytes())
    for page in leaves[len(leaves) * 2 // 5:len(leaves) * 3 // 5]:
        for i in range((page - 1) * 4096, page * 4096):
            data[i] = 0xA5 ^ (i * 31 & 0xFF)
    db.write_bytes(bytes(data))

    srv = start_chatd("--db", db)
    b = WsClient.open(srv.port)
    b.send_json({"type": "join", "room": "deep", "nick": "b"})
    assert b.recv_json()["type"] == "welcome"
    b.recv_json()
    b.send_json({"type": "history", "room": "deep", "before": 1600, "limit": 200, "ref": "mid"})
    m = b.next_event(lambda m: m["type"] in ("history", "error"))
    assert (m["type"], m["code"], m["room"], m["ref"]) == ("error", "unavailable", "deep", "mid"), m
    metrics = get(srv.port, b"/metrics").body.decode()
    assert "chatd_store_errors_total 0" not in metrics
    b.send_json({"type": "history", "room": "deep", "before": 60, "limit": 50})
    h = b.next_event(lambda m: m["type"] in ("history", "error"))
    assert h["type"] == "history" and [e["id"] for e in h["events"]] == list(range(10, 60)), h
    b.close()
