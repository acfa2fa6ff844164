"""Protocol v2 with real client libraries: Python `websockets` and Node's
`ws` in two rooms at once, history requests, and resume with `since` after
an abrupt disconnect."""

import asyncio
import json
import shutil
import subprocess
from pathlib import Path

import pytest
import websockets

from helpers import assert_healthy
from ws_async import recv_json, until

NODE_DIR = Path(__file__).resolve().parent / "node"


async def python_rooms(port):
    uri = f"ws://127.0.0.1:{port}/ws"
    a = await websockets.connect(uri, open_timeout=10, close_timeout=10)
    b = await websockets.connect(uri, open_timeout=10, close_timeout=10)
    await a.send(json.dumps({"type": "join", "room": "py1", "nick": "py-a"}))
    wa = await recv_json(a)
    assert wa["room"] == "py1" and wa["resumed"] is False and wa["last_id"] == 0
    await until(a, lambda m: m.get("event") == "join")
    await a.send(json.dumps({"type": "join", "room": "py2"}))
    await until(a, lambda m: m.get("event") == "join" and m["room"] == "py2")
    await b.send(json.dumps({"type": "join", "room": "py2", "nick": "py-b"}))
    wb = await recv_json(b)
    epoch = wb["epoch"]
    jb = await until(b, lambda m: m.get("event") == "join")
    assert await until(a, lambda m: m.get("event") == "join" and m["nick"] == "py-b") == jb
    await a.send(json.dumps({"type": "msg", "room": "py1", "msg": "py1 only"}))
    await a.send(json.dumps({"type": "msg", "room": "py2", "msg": "py2 too"}))
    m2 = await until(b, lambda m: m.get("type") == "msg")
    assert m2["room"] == "py2" and m2["msg"] == "py2 too"  # py1's message never reached b
    last = m2["id"]
    b.transport.abort()  # abrupt: no close frame
    left = await until(a, lambda m: m.get("event") == "leave" and m["room"] == "py2")
    await a.send(json.dumps({"type": "msg", "room": "py2", "msg": "while away"}))
    away = await until(a, lambda m: m.get("msg") == "while away")
    b2 = await websockets.connect(uri, open_timeout=10, close_timeout=10)
    await b2.send(json.dumps({"type": "join", "room": "py2", "nick": "py-b", "since": last, "epoch": epoch}))
    w = await recv_json(b2)
    assert w["resumed"] is True and w["last_id"] == away["id"]
    assert [await recv_json(b2), await recv_json(b2)] == [left, away]
    j = await recv_json(b2)
    assert j["event"] == "join" and j["id"] == away["id"] + 1
    await a.send(json.dumps({"type": "history", "room": "py2", "limit": 3, "ref": "h"}))
    h = await until(a, lambda m: m.get("type") == "history")
    assert h["ref"] == "h" and [e["id"] for e in h["events"]] == [left["id"], away["id"], j["id"]]
    await a.close()
    await b2.close()


def test_python_websockets_rooms_and_resume(chatd):
    asyncio.run(python_rooms(chatd.port))
    assert_healthy(chatd.port)


def test_node_ws_rooms_history_and_resume(chatd):
    if shutil.which("node") is None:
        pytest.fail("node is not installed")
    if not (NODE_DIR / "node_modules" / "ws").is_dir():
        pytest.fail("tests/integration/node/node_modules missing: run `npm ci` in tests/integration/node")
    out = subprocess.run(["node", str(NODE_DIR / "rooms_client.mjs"), str(chatd.port), "node-r"],
                         capture_output=True, text=True, timeout=30)
    lines = [json.loads(l) for l in out.stdout.splitlines()]
    assert out.returncode == 0, (out.stderr, lines)
    first = [m for m in lines if m.get("conn") == 1]
    second = [m for m in lines if m.get("conn") == 2]
    welcome1 = next(m for m in first if m["type"] == "welcome")
    assert welcome1["ref"] == "j1" and welcome1["room"] == "n1"
    msgs = [m for m in first if m["type"] == "msg"]
    assert [(m["room"], m["msg"], m["id"]) for m in msgs] == [("n1", "one", 2), ("n2", "two", 2)]
    h = next(m for m in first if m["type"] == "history")
    assert h["ref"] == "h" and [e["id"] for e in h["events"]] == [1, 2] and h["more"] is False
    w2 = second[0]
    # The first connection's leave of n2 is what it missed.
    assert w2["type"] == "welcome" and w2["resumed"] is True and w2["last_id"] == 3
    assert second[1]["event"] == "leave" and second[1]["id"] == 3
    assert second[2]["event"] == "join" and second[2]["id"] == 4
    assert_healthy(chatd.port)
