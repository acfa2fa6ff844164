"""Several chatd nodes on one real Redis (docs/CLUSTER.md): one id order per
room across all nodes, nicks and users across nodes, resume on another node,
a node killed with SIGKILL, Redis paused with SIGSTOP, killed and restarted.
Every test starts its own redis-server on a free loopback port."""

import re
import signal
import time
import urllib.error
import urllib.request

import pytest

from helpers import WsClient
from redis_server import RedisServer, client_list, command

NODE_TIMEOUT = "2"  # seconds: a dead node's members leave within it
WAIT = 15.0


@pytest.fixture
def redis():
    r = RedisServer()
    yield r
    r.stop()


@pytest.fixture
def persistent_redis():
    r = RedisServer(persistent=True)
    yield r
    r.stop()


def start_node(start_chatd, redis, name, *extra):
    node = start_chatd("--redis", redis.url, "--node-id", name, "--node-timeout", NODE_TIMEOUT, "--rate", "0",
                       *extra)
    assert node.wait_stderr(rb"cluster: serving", WAIT), node.stderr()
    return node


def health(port):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def metric(port, name):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        text = r.read().decode()
    m = re.search(rf"^chatd_{name} (\d+)$", text, re.M)
    assert m, f"no metric {name}"
    return int(m.group(1))


def wait_for(predicate, what, *nodes, timeout=WAIT):
    """Polls a state (health, a metric) until it holds, bounded; on timeout
    the nodes' logs say why."""
    deadline = time.monotonic() + timeout
    while not predicate():
        logs = "\n".join(n.stderr() for n in nodes)
        assert time.monotonic() < deadline, f"timed out waiting for {what}\n{logs}"
        time.sleep(0.05)


def join(port, nick, room="lobby", **fields):
    """A client on `port` joined to room; returns (client, welcome, own join event)."""
    c = WsClient.open(port)
    c.send_json({"type": "join", "room": room, "nick": nick, **fields})
    w = c.recv_json()
    assert w["type"] == "welcome", w
    replay = []
    while True:
        ev = c.recv_json()
        if ev["type"] == "system" and ev["event"] == "join" and ev["nick"] == w["nick"]:
            break
        replay.append(ev)
    c.replay = replay
    return c, w, ev


def two_members_on_two_nodes(start_chatd, redis):
    """Nodes n1 and n2, member a on n1 and b on n2 in the lobby; returns
    (n1, n2, a, a's welcome, b, b's join event), a having seen b's join."""
    n1, n2 = start_node(start_chatd, redis, "n1"), start_node(start_chatd, redis, "n2")
    a, wa, _ = join(n1.port, "a")
    b, _, ev = join(n2.port, "b")
    assert a.recv_json() == ev
    return n1, n2, a, wa, b, ev


def events(c, n):
    return [c.recv_json() for _ in range(n)]


def test_clients_on_every_node_see_one_gap_free_order_under_concurrent_senders(start_chatd, redis):
    nodes = [start_node(start_chatd, redis, f"n{i}") for i in range(3)]
    clients = []
    for i in range(6):
        c, w, ev = join(nodes[i % 3].port, f"user{i}")
        clients.append((c, ev["id"]))
    # Joins after each client's own are events it receives too.
    per_client = 20
    for i, (c, _) in enumerate(clients):
        for k in range(per_client):
            c.send_json({"type": "msg", "room": "lobby", "msg": f"{i}:{k}"})
    last_join = clients[-1][1]
    seen = {}
    for i, (c, first) in enumerate(clients):
        expect = (last_join - first) + per_client * len(clients)
        got = events(c, expect)
        ids = [e["id"] for e in got]
        assert ids == list(range(first + 1, first + 1 + expect)), (i, ids)
        for e in got:
            key = (e["type"], e["nick"], e.get("msg"), e.get("ts"))
            assert seen.setdefault(e["id"], key) == key, f"node disagreement at id {e['id']}"
        # Each sender's messages keep the order they were sent in.
        for j in range(len(clients)):
            mine = [e["msg"] for e in got if e["type"] == "msg" and e["nick"] == f"user{j}"]
            assert mine == [f"{j}:{k}" for k in range(per_client)], (i, j, mine)
    # The same count on every node: each event went through Redis once.
    total = 6 + per_client * 6
    assert max(seen) == total


def test_nicks_are_unique_across_nodes_and_users_rooms_count_every_node(start_chatd, redis):
    a_node, b_node, c_node = (start_node(start_chatd, redis, f"n{i}") for i in range(3))
    alice, w, _ = join(a_node.port, "alice", room="dev")
    assert w["users"] == ["alice"]
    # Compared ASCII-case-insensitively, on another node.
    other = WsClient.open(b_node.port)
    other.send_json({"type": "join", "room": "general", "nick": "ALICE", "ref": "x"})
    err = other.recv_json()
    assert err["type"] == "error" and err["code"] == "nick_taken" and err["ref"] == "x", err
    bob, w, ev = join(c_node.port, "bob", room="dev")
    assert w["users"] == ["alice", "bob"]
    assert alice.recv_json() == ev
    carol, w, _ = join(b_node.port, "carol", room="ops")
    carol.send_json({"type": "rooms", "ref": "r"})
    rooms = carol.recv_json()
    assert rooms["type"] == "rooms" and rooms["ref"] == "r"
    assert rooms["rooms"] == [{"room": "dev", "users": 2, "last_id": 2}, {"room": "ops", "users": 1, "last_id": 1}]
    # Alice's connection ends: her leave reaches bob, and her nick is free
    # on every node.
    alice.close()
    leave = bob.recv_json()
    assert leave["event"] == "leave" and leave["nick"] == "alice" and leave["id"] == 3, leave
    again, w, _ = join(b_node.port, "Alice", room="dev")
    assert w["users"] == ["bob", "Alice"]


def test_a_client_resumes_on_another_node_with_exactly_what_it_missed(start_chatd, redis):
    n1, n2 = start_node(start_chatd, redis, "n1"), start_node(start_chatd, redis, "n2")
    talker, _, _ = join(n1.port, "talker", room="dev")
    reader, w, ev = join(n1.port, "reader", room="dev")
    epoch = w["epoch"]
    talker.recv_json()  # reader's join
    talker.send_json({"type": "msg", "room": "dev", "msg": "before"})
    last = reader.recv_json()
    assert last["msg"] == "before" and talker.recv_json() == last
    reader.close()
    assert talker.recv_json()["event"] == "leave"
    talker.send_json({"type": "msg", "room": "dev", "msg": "missed 1"})
    talker.send_json({"type": "msg", "room": "dev", "msg": "missed 2"})
    missed = events(talker, 2)
    back, w, ev = join(n2.port, "reader", room="dev", since=last["id"], epoch=epoch)
    assert w["resumed"] is True and w["epoch"] == epoch
    assert [e["id"] for e in back.replay] == list(range(last["id"] + 1, ev["id"]))
    assert back.replay[-2:] == missed
    # And history on the other node reaches back to the first event.
    back.send_json({"type": "history", "room": "dev", "before": ev["id"], "limit": 200})
    h = back.recv_json()
    assert [e["id"] for e in h["events"]] == list(range(1, ev["id"])) and h["more"] is False


def test_a_killed_node_s_members_leave_exactly_once_and_their_nicks_are_freed(start_chatd, redis):
    n1, n2, n3 = (start_node(start_chatd, redis, f"n{i}") for i in (1, 2, 3))
    watcher, _, _ = join(n1.port, "watcher", room="a")
    watcher.send_json({"type": "join", "room": "b"})
    assert watcher.recv_json()["type"] == "welcome"
    assert watcher.recv_json()["event"] == "join"
    doomed = []
    for nick in ("d1", "d2"):
        c, _, ev = join(n2.port, nick, room="a")
        c.send_json({"type": "join", "room": "b"})
        assert c.recv_json()["type"] == "welcome"
        doomed.append(c)
    survivor, _, _ = join(n3.port, "survivor", room="a")
    joins = events(watcher, 5)  # d1 a, d1 b? in order of their ids per room
    assert sorted((e["room"], e["nick"]) for e in joins) == [
        ("a", "d1"), ("a", "d2"), ("a", "survivor"), ("b", "d1"), ("b", "d2")]
    n2.kill()
    leaves = events(watcher, 4)
    assert sorted((e["room"], e["event"], e["nick"]) for e in leaves) == [
        ("a", "leave", "d1"), ("a", "leave", "d2"), ("b", "leave", "d1"), ("b", "leave", "d2")]
    wait_for(lambda: metric(n1.port, "cluster_nodes") == 2 and metric(n3.port, "cluster_nodes") == 2,
             "both survivors to count two nodes")
    # Both survivors have beaten since: nobody reaps twice. The next event
    # after the leaves is the next message.
    survivor.send_json({"type": "msg", "room": "a", "msg": "still here"})
    nxt = watcher.recv_json()
    assert nxt["msg"] == "still here" and nxt["id"] == max(e["id"] for e in leaves if e["room"] == "a") + 1
    # The nicks are free again, on any node.
    again, w, _ = join(n3.port, "d1", room="a")
    assert w["users"] == ["watcher", "survivor", "d1"]


def test_redis_paused_then_resumed_keeps_every_websocket_and_loses_nothing(start_chatd, redis):
    n1, n2, a, _, b, ev = two_members_on_two_nodes(start_chatd, redis)
    redis.pause()
    try:
        # Sent while Redis is paused: in flight, answered when it wakes up.
        a.send_json({"type": "msg", "room": "lobby", "msg": "in flight"})
        wait_for(lambda: health(n1.port)[0] == 503, "n1 to report Redis down")
        assert "redis" in health(n1.port)[1]
        # Once the node knows Redis is not answering, requests get unavailable.
        a.send_json({"type": "msg", "room": "lobby", "msg": "refused", "ref": "r1"})
        err = a.recv_json()
        assert err["type"] == "error" and err["code"] == "unavailable" and err["ref"] == "r1", err
    finally:
        redis.resume()
    wait_for(lambda: health(n1.port)[0] == 200 and health(n2.port)[0] == 200, "both nodes to serve again", n1, n2)
    got_a, got_b = a.recv_json(), b.recv_json()
    assert got_a == got_b and got_a["msg"] == "in flight" and got_a["id"] == ev["id"] + 1
    b.send_json({"type": "msg", "room": "lobby", "msg": "after"})
    assert a.recv_json()["id"] == got_a["id"] + 1
    assert b.recv_json()["id"] == got_a["id"] + 1


def test_redis_killed_and_restarted_empty_gives_rooms_a_new_epoch(start_chatd, redis):
    n1, n2, a, wa, b, ev = two_members_on_two_nodes(start_chatd, redis)
    redis.kill()
    wait_for(lambda: health(n1.port)[0] == 503 and health(n2.port)[0] == 503, "both nodes to report Redis down")
    a.send_json({"type": "msg", "room": "lobby", "msg": "while down", "ref": "d"})
    err = a.recv_json()
    assert err["code"] == "unavailable" and err["ref"] == "d", err
    redis.start()  # the same port, no data
    wait_for(lambda: health(n1.port)[0] == 200 and health(n2.port)[0] == 200, "both nodes to serve again", n1, n2)
    # No WebSocket was closed: each member gets a fresh welcome under one
    # new epoch, then the room's events from there on, gap-free.
    welcomes = {}
    last = {}
    for c, nick in ((a, "a"), (b, "b")):
        m = c.recv_json()
        while m["type"] != "welcome":  # the other's join in the old epoch may come first
            assert m["type"] == "system" and m["event"] == "join", m
            m = c.recv_json()
        assert m["resumed"] is False and m["epoch"] != wa["epoch"] and m["nick"] == nick, m
        welcomes[nick] = m
        expect = m["last_id"] + 1
        while True:
            ev = c.recv_json()
            assert ev["type"] == "system" and ev["event"] == "join" and ev["id"] == expect, ev
            expect += 1
            if ev["nick"] == nick:
                break
        last[nick] = ev["id"]
    assert welcomes["a"]["epoch"] == welcomes["b"]["epoch"]
    assert sorted(last.values()) == [1, 2]
    # Whoever re-joined first sees the other's join too.
    first = min(last, key=last.get)
    a.send_json({"type": "msg", "room": "lobby", "msg": "new era"})
    early = a if first == "a" else b
    got = early.recv_json()
    assert got["event"] == "join" and got["id"] == 2, got
    assert early.recv_json()["id"] == 3
    late = b if first == "a" else a
    assert late.recv_json()["id"] == 3


def test_redis_restarted_with_its_data_catches_every_member_up_gap_free(start_chatd, persistent_redis):
    redis = persistent_redis
    n1, n2, a, wa, b, ev = two_members_on_two_nodes(start_chatd, redis)
    redis.kill()
    wait_for(lambda: health(n2.port)[0] == 503, "n2 to report Redis down")
    redis.start()  # the same port and directory: its append-only file
    wait_for(lambda: health(n1.port)[0] == 200 and health(n2.port)[0] == 200, "both nodes to serve again", n1, n2)
    a.send_json({"type": "msg", "room": "lobby", "msg": "continued"})
    got_a, got_b = a.recv_json(), b.recv_json()
    assert got_a == got_b and got_a["id"] == ev["id"] + 1 and got_a["msg"] == "continued"
    # The same epoch: a client resuming across the outage gets a true resume.
    c, w, _ = join(n2.port, "c", since=ev["id"], epoch=wa["epoch"])
    assert w["resumed"] is True and [e["id"] for e in c.replay] == [got_a["id"]]


def test_a_node_started_before_redis_refuses_then_serves(start_chatd):
    redis = RedisServer()
    port = redis.port
    redis.kill()
    try:
        node = start_chatd("--redis", f"redis://127.0.0.1:{port}", "--node-timeout", NODE_TIMEOUT)
        status, body = health(node.port)
        assert status == 503 and "redis" in body
        c = WsClient.open(node.port)
        c.send_json({"type": "join", "room": "dev", "nick": "early"})
        err = c.recv_json()
        assert err["type"] == "error" and err["code"] == "unavailable" and err["room"] == "dev", err
        redis.start()
        wait_for(lambda: health(node.port)[0] == 200, "the node to serve")
        c.send_json({"type": "join", "room": "dev", "nick": "early"})
        assert c.recv_json()["type"] == "welcome"
        assert re.search(rb"cluster: node \S+, redis redis://127\.0\.0\.1", node.stderr().encode())
    finally:
        redis.stop()


def test_a_node_shut_down_with_sigterm_lets_its_members_go_everywhere(start_chatd, redis):
    n1, n2, a, _, b, ev = two_members_on_two_nodes(start_chatd, redis)
    assert n2.stop(signal.SIGTERM) == 0
    leave = a.recv_json()
    assert leave["event"] == "leave" and leave["nick"] == "b" and leave["id"] == ev["id"] + 1
    assert command(redis.port, "EXISTS", "chatd:nick:b") == b":0"


def test_a_version_1_client_works_unchanged_on_a_cluster(start_chatd, redis):
    n1, n2 = start_node(start_chatd, redis, "n1"), start_node(start_chatd, redis, "n2")
    old = WsClient.open(n1.port)
    w = old.join("oldtimer")
    assert set(w) == {"type", "nick", "users"}, w
    ev = old.recv_json()
    assert ev["event"] == "join" and ev["room"] == "general"
    new, _, jev = join(n2.port, "newcomer", room="general")
    assert old.recv_json() == jev
    old.send_text('{"type": "msg", "msg": "hello from v1"}')
    m = new.recv_json()
    assert m["msg"] == "hello from v1" and m["nick"] == "oldtimer" and m["room"] == "general"


def test_history_older_than_a_node_s_ring_is_read_from_the_room_s_log(start_chatd, redis):
    # Rings of 2 KiB: a few events each; the log in Redis has them all.
    n1 = start_node(start_chatd, redis, "n1", "--history-memory", "2048")
    n2 = start_node(start_chatd, redis, "n2", "--history-memory", "2048")
    talker, _, _ = join(n1.port, "talker", room="dev")
    for k in range(150):
        talker.send_json({"type": "msg", "room": "dev", "msg": f"m{k}"})
    sent = events(talker, 150)
    reader, w, ev = join(n2.port, "reader", room="dev")
    assert w["last_id"] == sent[-1]["id"]
    pages = []
    before = ev["id"]
    while True:
        reader.send_json({"type": "history", "room": "dev", "before": before, "limit": 40, "ref": str(before)})
        h = reader.recv_json()
        assert h["type"] == "history" and h["ref"] == str(before), h
        assert [e["id"] for e in h["events"]] == list(range(max(1, before - 40), before)), h
        pages = h["events"] + pages
        if not h["more"]:
            break
        before = h["events"][0]["id"]
    assert [e["id"] for e in pages] == list(range(1, ev["id"]))
    # Exactly as first sent.
    assert pages[1:] == sent


def test_a_paused_node_declared_dead_closes_its_websockets_when_it_wakes(start_chatd, redis):
    n1, n2, a, _, b, ev = two_members_on_two_nodes(start_chatd, redis)
    n2.send_signal(signal.SIGSTOP)
    try:
        leave = a.recv_json()  # n1 reaps n2 once its heartbeat is older than the timeout
        assert leave["event"] == "leave" and leave["nick"] == "b", leave
    finally:
        n2.send_signal(signal.SIGCONT)
    # Its member was let go everywhere: the node closes the connection so
    # the client joins again, instead of going on as a member nobody sees.
    code, reason, _ = b.expect_close(1001, reply=True)
    assert n2.wait_stderr(rb"declared dead by another node", WAIT)
    wait_for(lambda: health(n2.port)[0] == 200, "n2 to serve again", n2)
    again, w, _ = join(n2.port, "b")
    assert w["users"] == ["a", "b"]


def test_python_websockets_clients_resume_across_nodes(start_chatd, redis):
    import asyncio
    import json

    import websockets

    from ws_async import recv_json as recv, until

    n1, n2, n3 = (start_node(start_chatd, redis, f"n{i}") for i in (1, 2, 3))

    async def run():
        a = await websockets.connect(f"ws://127.0.0.1:{n1.port}/ws", open_timeout=10)
        b = await websockets.connect(f"ws://127.0.0.1:{n2.port}/ws", open_timeout=10)
        await a.send(json.dumps({"type": "join", "room": "py", "nick": "py-a"}))
        await until(a, lambda m: m.get("event") == "join")
        await b.send(json.dumps({"type": "join", "room": "py", "nick": "py-b"}))
        wb = await recv(b)
        jb = await until(b, lambda m: m.get("event") == "join")
        assert await until(a, lambda m: m.get("event") == "join") == jb
        await a.send(json.dumps({"type": "msg", "room": "py", "msg": "hello"}))
        seen = await until(b, lambda m: m.get("type") == "msg")
        b.transport.abort()  # abrupt: no close frame
        left = await until(a, lambda m: m.get("event") == "leave")
        await a.send(json.dumps({"type": "msg", "room": "py", "msg": "while away"}))
        away = await until(a, lambda m: m.get("msg") == "while away")
        # Back on a third node, resuming from the last event it saw.
        b2 = await websockets.connect(f"ws://127.0.0.1:{n3.port}/ws", open_timeout=10)
        await b2.send(json.dumps({"type": "join", "room": "py", "nick": "py-b", "since": seen["id"],
                                  "epoch": wb["epoch"]}))
        w = await recv(b2)
        assert w["resumed"] is True and w["last_id"] == away["id"] and w["users"] == ["py-a", "py-b"]
        assert [await recv(b2), await recv(b2)] == [left, away]
        j = await recv(b2)
        assert j["event"] == "join" and j["id"] == away["id"] + 1
        assert await until(a, lambda m: m.get("event") == "join") == j
        await a.close()
        await b2.close()

    asyncio.run(run())


def test_a_resume_older_than_the_node_s_ring_is_replayed_from_the_room_s_log(start_chatd, redis):
    n1 = start_node(start_chatd, redis, "n1")
    n2 = start_node(start_chatd, redis, "n2", "--history-memory", "2048")  # a few events
    talker, _, _ = join(n1.port, "talker", room="dev")
    reader, w, _ = join(n1.port, "reader", room="dev")
    talker.recv_json()
    talker.send_json({"type": "msg", "room": "dev", "msg": "seen"})
    seen = reader.recv_json()
    reader.close()
    talker.recv_json()  # its own copy
    left = talker.recv_json()
    assert left["event"] == "leave"
    for k in range(120):
        talker.send_json({"type": "msg", "room": "dev", "msg": f"missed {k}"})
    missed = events(talker, 120)
    # n2 follows the room from now on, with a ring of a few events, and the
    # client resumes there right behind its own msg: the replay comes from
    # the log and the ring together, in order, and its msg after its join.
    c = WsClient.open(n2.port)
    c.send_json({"type": "join", "room": "dev", "nick": "reader", "since": seen["id"], "epoch": w["epoch"]})
    c.send_json({"type": "msg", "room": "dev", "msg": "back"})
    welcome = c.recv_json()
    assert welcome["type"] == "welcome" and welcome["resumed"] is True, welcome
    replay = events(c, 121)
    assert replay == [left] + missed
    j = c.recv_json()
    assert j["event"] == "join" and j["id"] == missed[-1]["id"] + 1
    back = c.recv_json()
    assert back["msg"] == "back" and back["id"] == j["id"] + 1


def test_a_gap_on_the_subscription_is_filled_from_the_log_before_anything_later(start_chatd, redis):
    n1, n2, a, _, b, ev = two_members_on_two_nodes(start_chatd, redis)
    # Each connection is named: cut n2's subscription only. What a publishes
    # meanwhile never reaches n2 on the channel; n2 reads it from the log,
    # in order, before anything that comes on its new subscription.
    names = {c.get("name"): c["id"] for c in client_list(redis.port)}
    assert {"chatd:n1:commands", "chatd:n1:subscriptions", "chatd:n2:commands",
            "chatd:n2:subscriptions"} <= set(names), names
    for k in range(5):
        a.send_json({"type": "msg", "room": "lobby", "msg": f"burst {k}"})
    assert command(redis.port, "CLIENT", "KILL", "ID", names["chatd:n2:subscriptions"]) == b":1"
    for k in range(5, 30):
        a.send_json({"type": "msg", "room": "lobby", "msg": f"burst {k}"})
    sent = events(a, 30)
    assert [e["type"] for e in sent] == ["msg"] * 30, sent
    got = events(b, 30)
    assert got == sent and [e["id"] for e in got] == list(range(ev["id"] + 1, ev["id"] + 31))
    assert metric(n2.port, "redis_disconnects_total") == 1


def test_a_node_follows_a_room_only_while_it_has_members_there(start_chatd, redis):
    n1 = start_node(start_chatd, redis, "n1")
    a, _, _ = join(n1.port, "a", room="dev")
    wait_for(lambda: numsub(redis.port, "chatd:{dev}") == 1, "n1 to follow dev")

    def in_reapers_list():
        return command(redis.port, "SISMEMBER", "chatd:node:n1:rooms", "dev") == b":1"

    assert in_reapers_list()
    a.send_json({"type": "leave", "room": "dev"})
    assert a.recv_json()["event"] == "leave"
    wait_for(lambda: numsub(redis.port, "chatd:{dev}") == 0, "n1 to stop following dev", n1)
    # Nor is the room left in the rooms the reaper would walk for n1.
    wait_for(lambda: not in_reapers_list(), "n1 to forget dev", n1)


def numsub(port, channel):
    """Subscribers of channel, by PUBSUB NUMSUB (its reply read whole)."""
    import socket

    with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
        s.sendall(b"*3\r\n$6\r\nPUBSUB\r\n$6\r\nNUMSUB\r\n$%d\r\n%s\r\n" % (len(channel), channel.encode()))
        data = b""
        while data.count(b"\r\n") < 4:
            data += s.recv(4096)
    return int(data.split(b"\r\n")[3][1:])


@pytest.fixture
def unix_redis(tmp_path):
    """A redis-server listening only on a unix socket; yields its path."""
    import os
    import subprocess

    from redis_server import REDIS_BIN

    sock = tmp_path / "redis.sock"
    proc = subprocess.Popen([REDIS_BIN, "--port", "0", "--unixsocket", str(sock), "--dir", str(tmp_path),
                             "--save", "", "--appendonly", "no"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for(lambda: os.path.exists(sock), "redis' unix socket")
    yield sock
    proc.kill()
    proc.wait(10)


# unix_redis first: its teardown runs after the nodes' (fixtures end in reverse).
def test_nodes_reach_redis_over_a_unix_socket(unix_redis, start_chatd):
    n1 = start_chatd("--redis", f"unix://{unix_redis}", "--node-id", "u1", "--node-timeout", NODE_TIMEOUT)
    n2 = start_chatd("--redis", f"unix://{unix_redis}?db=0", "--node-id", "u2", "--node-timeout", NODE_TIMEOUT)
    for n in (n1, n2):
        assert n.wait_stderr(rb"cluster: serving", WAIT), n.stderr()
    a, _, _ = join(n1.port, "a")
    b, _, ev = join(n2.port, "b")
    assert a.recv_json() == ev


def test_what_a_room_s_rebuild_catches_in_flight_is_answered_by_the_snapshot(start_chatd, redis):
    """A msg and a join that Redis numbers while their node is about to
    rebuild the room: their events are older than the snapshot and never
    come, so the snapshot is their answer. While n2 is stopped: b (on n2)
    sends a msg and a new client c asks to join, n2's subscription is cut,
    and a on n1 sends more than the log keeps. When n2 wakes it reads b's
    msg and c's join first (they arrived first) and publishes them, then
    finds its subscription gone and, catching up, the log trimmed past its
    last id: the room is rebuilt from a snapshot that holds both."""
    args = ("--redis", redis.url, "--node-timeout", "30", "--rate", "0", "--retain-events", "20")
    n1 = start_chatd(*args, "--node-id", "n1")
    n2 = start_chatd(*args, "--node-id", "n2")
    for n in (n1, n2):
        assert n.wait_stderr(rb"cluster: serving", WAIT), n.stderr()
    a, _, _ = join(n1.port, "a")
    b, _, ev = join(n2.port, "b")
    assert a.recv_json() == ev
    c = WsClient.open(n2.port)
    names = {cl.get("name"): cl["id"] for cl in client_list(redis.port)}
    n2.send_signal(signal.SIGSTOP)
    try:
        b.send_json({"type": "msg", "room": "lobby", "msg": "said while n2 sleeps"})
        c.send_json({"type": "join", "room": "lobby", "nick": "c", "history": 10, "ref": "j"})
        assert command(redis.port, "CLIENT", "KILL", "ID", names["chatd:n2:subscriptions"]) == b":1"
        for k in range(30):
            a.send_json({"type": "msg", "room": "lobby", "msg": f"while n2 sleeps {k}"})
        sent = events(a, 30)
        assert [e["type"] for e in sent] == ["msg"] * 30, sent
    finally:
        n2.send_signal(signal.SIGCONT)
    # c is welcomed from the snapshot, with the history up to its last id.
    w = c.recv_json()
    assert w["type"] == "welcome" and w["ref"] == "j", w
    assert sorted(w["users"]) == ["a", "b", "c"], w
    history = [c.recv_json() for _ in range(10)]
    assert [e["id"] for e in history] == list(range(w["last_id"] - 9, w["last_id"] + 1)), history
    # b starts again in the rebuilt room and gets its own msg, once.
    wb = b.recv_json()
    assert wb["type"] == "welcome" and wb["resumed"] is False, wb
    own = b.recv_json()
    assert own["msg"] == "said while n2 sleeps" and own["id"] <= wb["last_id"], own
    # c is a member like any other: what it says reaches both nodes, once, next in order.
    c.send_json({"type": "msg", "room": "lobby", "msg": "made it"})
    mine = c.recv_json()
    assert mine["msg"] == "made it" and mine["id"] > w["last_id"], mine
    assert b.recv_json() == mine
    # n1 saw both as they were numbered (in either order: two sockets), then c's msg.
    seen = [a.recv_json() for _ in range(3)]
    by_what = {e.get("msg") or e.get("event"): e for e in seen[:2]}
    assert sorted(by_what) == ["join", "said while n2 sleeps"], seen
    assert by_what["said while n2 sleeps"] == own and by_what["join"]["nick"] == "c", seen
    assert seen[2] == mine
    assert n2.wait_stderr(rb"starts again", WAIT), n2.stderr()
