"""A history answer is one fragmented text message (RFC 6455 section 5.4)
whose continuation frames carry the events as they were first sent: checked
frame by frame on a raw socket, behind the requester's own event of the same
turn, and paged back to id 1 by Python `websockets` and Node `ws`, which
reassemble it as any client must."""

import asyncio
import json
import socket
import shutil
import subprocess
from pathlib import Path

import pytest
import websockets

from helpers import OP_CONT, OP_TEXT, WsClient, assert_healthy, build_frame

NODE_DIR = Path(__file__).resolve().parent / "node"


def join(c, room, nick):
    c.send_json({"type": "join", "room": room, "nick": nick})
    assert c.recv_json()["type"] == "welcome"
    assert c.recv_json()["event"] == "join"


def say_raw(c, room, text):
    """Sends a msg and returns its event's payload bytes as the server framed it."""
    c.send_json({"type": "msg", "room": room, "msg": text})
    f = c.recv_frame()
    assert f.opcode == OP_TEXT and f.fin, f
    assert json.loads(f.payload)["msg"] == text
    return f.payload


def test_answer_frames_are_the_stored_events(start_chatd):
    p = start_chatd("--rate", "0").port
    a = WsClient.open(p)
    join(a, "frag", "alice")
    # Lengths around the 7-bit frame length limit and a 16-bit one (a msg is
    # at most 2000 code points: no event needs a 64-bit length).
    stored = [say_raw(a, "frag", "x" * n) for n in (1, 40, 90, 130, 1999, 5)]
    a.send_json({"type": "history", "room": "frag", "limit": 6, "ref": "r\"1"})
    first = a.recv_frame()
    assert (first.opcode, first.fin) == (OP_TEXT, False), first
    assert first.payload == b'{"type":"history","room":"frag","events":['
    for i, event in enumerate(stored):
        f = a.recv_frame()
        assert (f.opcode, f.fin) == (OP_CONT, False), f
        assert f.payload == (b"," if i else b"") + event, f"event {i}: the bytes first sent"
    last = a.recv_frame()
    assert (last.opcode, last.fin) == (OP_CONT, True), last
    assert last.payload == b'],"more":true,"ref":"r\\"1"}'
    # No events: one whole frame.
    a.send_json({"type": "history", "room": "frag", "before": 1})
    f = a.recv_frame()
    assert (f.opcode, f.fin) == (OP_TEXT, True)
    assert f.payload == b'{"type":"history","room":"frag","events":[],"more":false}'
    # The reassembling helper sees the same message.
    a.send_json({"type": "history", "room": "frag", "limit": 2})
    h = a.recv_json()
    assert a.fragments == 4 and [e["id"] for e in h["events"]] == [6, 7]
    a.close()
    assert_healthy(p)


def test_answer_waits_behind_the_requesters_event_of_the_same_turn(start_chatd):
    # msg then history in one write: the msg's event is still in the turn's
    # batch when the answer is made, so the answer joins the batch behind it.
    p = start_chatd("--rate", "0").port
    a = WsClient.open(p)
    b = WsClient.open(p)
    join(a, "turn", "alice")
    join(b, "turn", "bob")
    assert a.recv_json()["nick"] == "bob"
    msg = json.dumps({"type": "msg", "room": "turn", "msg": "first"}).encode()
    hist = json.dumps({"type": "history", "room": "turn", "limit": 10}).encode()
    a.send_raw(build_frame(OP_TEXT, msg) + build_frame(OP_TEXT, hist))
    ev = a.recv_json()
    assert ev["type"] == "msg" and ev["msg"] == "first"
    h = a.recv_json()
    assert h["type"] == "history" and a.fragments == len(h["events"]) + 2
    assert [e["id"] for e in h["events"]] == [1, 2]  # the ring as the request found it
    assert b.recv_json() == ev
    a.close()
    b.close()


def fill(port, room, n):
    c = WsClient.open(port)
    join(c, room, "filler")
    for k in range(n):
        c.send_json({"type": "msg", "room": room, "msg": f"line {k}"})
    for k in range(n):
        assert c.recv_json()["msg"] == f"line {k}"
    return c


async def python_pages(port, room, limit):
    ws = await websockets.connect(f"ws://127.0.0.1:{port}/ws", open_timeout=10, close_timeout=10)
    await ws.send(json.dumps({"type": "join", "room": room, "nick": "py"}))
    while True:
        m = json.loads(await asyncio.wait_for(ws.recv(), 10))
        if m.get("event") == "join" and m["nick"] == "py":
            break
    pages, before = [], None
    while True:
        req = {"type": "history", "room": room, "limit": limit}
        if before is not None:
            req["before"] = before
        await ws.send(json.dumps(req))
        m = json.loads(await asyncio.wait_for(ws.recv(), 10))  # websockets reassembles
        assert m["type"] == "history", m
        pages.append(m)
        if not m["more"]:
            break
        before = m["events"][0]["id"]
    await ws.close()
    return pages


def ids_of(pages):
    return [e["id"] for page in reversed(pages) for e in page["events"]]


def test_python_websockets_pages_back_to_id_1(start_chatd):
    p = start_chatd("--rate", "0").port
    filler = fill(p, "pyhist", 250)  # ids 1 (filler's join) .. 251, then the pager's join
    pages = asyncio.run(python_pages(p, "pyhist", 100))
    assert [len(pg["events"]) for pg in pages] == [100, 100, 52]
    assert ids_of(pages) == list(range(1, 253))
    assert pages[0]["events"][-2]["msg"] == "line 249"
    filler.close()
    assert_healthy(p)


def test_node_ws_pages_back_to_id_1(start_chatd):
    if shutil.which("node") is None:
        pytest.fail("node is not installed")
    if not (NODE_DIR / "node_modules" / "ws").is_dir():
        pytest.fail("tests/integration/node/node_modules missing: run `npm ci` in tests/integration/node")
    p = start_chatd("--rate", "0").port
    filler = fill(p, "nodehist", 250)
    out = subprocess.run(["node", str(NODE_DIR / "history_client.mjs"), str(p), "nodehist", "node", "100"],
                         capture_output=True, text=True, timeout=30)
    pages = [json.loads(line) for line in out.stdout.splitlines()]
    assert out.returncode == 0, (out.stderr, pages[-1:])
    assert [pg["ref"] for pg in pages] == ["p0", "p1", "p2"]
    assert [len(pg["events"]) for pg in pages] == [100, 100, 52]
    assert ids_of(pages) == list(range(1, 253))
    filler.close()
    assert_healthy(p)


def test_slow_consumer_closed_mid_answer_gets_the_answer_whole_then_the_close(start_chatd):
    # Answers of 2.4 MB (200 events of 12 KB: control characters are escaped
    # 6 to 1) to a client that does not read, one per server turn: once the
    # kernel's buffers are full one answer is left partly written, and the
    # next ones push the backlog over 4 MiB. The unsent rest of the started
    # answer stays (a fragmented message must be finished), the unstarted
    # ones go, and the close frame follows the final fragment: the stream
    # stays well framed.
    p = start_chatd("--rate", "0", "--max-backlog", 4 << 20, "--history-memory", 4 << 20).port
    filler = fill(p, "big", 0)
    text = "\x01" * 2000
    for _ in range(200):
        filler.send_json({"type": "msg", "room": "big", "msg": text})
    for _ in range(200):
        assert filler.recv_json()["type"] == "msg"
    filler.close()
    probe = WsClient.open(p)
    slow = WsClient.open(p, rcvbuf=4096)
    join(slow, "big", "slow")
    for k in range(1, 9):
        slow.send_json({"type": "history", "room": "big", "limit": 200, "ref": f"h{k}"})
        # A round trip on another connection: the server has read, answered
        # and flushed the request above before it answers this one.
        probe.send_json({"type": "rooms"})
        assert probe.recv_json()["type"] == "rooms"
    # expect_close fails on a close inside a fragmented message.
    _, reason, skipped = slow.expect_close(1008, reply=True)
    assert reason == b"slow consumer"
    answers = [m for m in skipped if m.get("type") == "history"]
    refs = [m["ref"] for m in answers]
    assert 1 <= len(refs) < 8 and refs == [f"h{k}" for k in range(1, len(refs) + 1)], refs
    for m in answers:
        assert len(m["events"]) == 200, "every answer whole"
        assert sum(e.get("msg") == text for e in m["events"]) == 198  # ids 4..203: then the leave and the join
    probe.close()
    assert_healthy(p)
