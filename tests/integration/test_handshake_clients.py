"""Real client libraries against chatd: Python `websockets` (Debian's
python3-websockets) and Node's `ws` (pinned in tests/integration/node)."""

import asyncio
import json
import shutil
import subprocess
from pathlib import Path

import pytest
import websockets

from helpers import assert_healthy, joined

NODE_DIR = Path(__file__).resolve().parent / "node"
TEXT = "Olá, café — 😀 ünïcödé"


async def recv_json(ws):
    return json.loads(await asyncio.wait_for(ws.recv(), 10))


async def python_chat(port, origin=None):
    uri = f"ws://127.0.0.1:{port}/ws"
    async with websockets.connect(uri, origin=origin, open_timeout=10, close_timeout=10) as a, websockets.connect(
        uri, open_timeout=10, close_timeout=10
    ) as b:
        await a.send(json.dumps({"type": "join", "nick": "  py-alice "}))
        assert await recv_json(a) == {"type": "welcome", "nick": "py-alice", "users": ["py-alice"]}
        ja = await recv_json(a)
        assert ja["event"] == "join" and ja["nick"] == "py-alice"
        await b.send(json.dumps({"type": "join", "nick": "py-bob"}))
        assert await recv_json(b) == {"type": "welcome", "nick": "py-bob", "users": ["py-alice", "py-bob"]}
        jb = await recv_json(b)
        assert jb == await recv_json(a) and jb["id"] == ja["id"] + 1
        # A fragmented message from the library (async iterator of fragments).
        body = json.dumps({"type": "msg", "msg": TEXT}, ensure_ascii=False)
        await a.send(iter([body[:5], body[5:20], body[20:]]))
        ma, mb = await recv_json(a), await recv_json(b)
        assert ma == mb and ma["msg"] == TEXT and ma["nick"] == "py-alice" and ma["id"] == jb["id"] + 1
        pong = await a.ping(b"are you there")
        await asyncio.wait_for(pong, 10)
        await a.close(1000, "bye")
        assert a.close_code == 1000
        left = await recv_json(b)
        assert left["event"] == "leave" and left["nick"] == "py-alice" and left["id"] == ma["id"] + 1


def test_python_websockets(chatd):
    asyncio.run(python_chat(chatd.port))
    asyncio.run(python_chat(chatd.port, origin=f"http://127.0.0.1:{chatd.port}"))
    assert_healthy(chatd.port)


def test_python_websockets_foreign_origin_refused(chatd):
    async def run():
        with pytest.raises(websockets.exceptions.InvalidStatusCode) as e:
            async with websockets.connect(f"ws://127.0.0.1:{chatd.port}/ws", origin="http://evil.example"):
                pass
        assert e.value.status_code == 403

    asyncio.run(run())


def run_node(port, nick, text, origin=None):
    if shutil.which("node") is None:
        pytest.fail("node is not installed")
    if not (NODE_DIR / "node_modules" / "ws").is_dir():
        pytest.fail("tests/integration/node/node_modules missing: run `npm ci` in tests/integration/node")
    args = ["node", str(NODE_DIR / "chat_client.mjs"), str(port), nick, text] + ([origin] if origin else [])
    p = subprocess.run(args, capture_output=True, timeout=20)
    lines = [json.loads(l) for l in p.stdout.decode().splitlines() if l.strip()]
    assert p.returncode == 0, (lines, p.stderr.decode())
    return lines


@pytest.mark.parametrize("with_origin", [False, True])
def test_node_ws(chatd, with_origin):
    watcher, _ = joined(chatd.port, "watcher")
    origin = f"http://127.0.0.1:{chatd.port}" if with_origin else None
    lines = run_node(chatd.port, "node-carol", TEXT, origin)
    assert lines[0] == {"type": "welcome", "nick": "node-carol", "users": ["watcher", "node-carol"]}
    assert lines[-1] == {"close": 1000}
    own = [m for m in lines if m.get("type") == "msg"]
    assert len(own) == 1 and own[0]["msg"] == TEXT
    # The raw watcher saw the join, the message and the leave, with ids in a row.
    j = watcher.recv_json()
    m = watcher.recv_json()
    l = watcher.recv_json()
    assert (j["event"], j["nick"]) == ("join", "node-carol")
    assert m == own[0]
    assert (l["event"], l["nick"]) == ("leave", "node-carol")
    assert [j["id"], m["id"], l["id"]] == [j["id"], j["id"] + 1, j["id"] + 2]
    watcher.close()


def msg_of_size(n):
    """A msg JSON text of exactly n bytes (n >= 40)."""
    head = '{"type":"msg","msg":"'
    tail = '"}'
    return head + "x" * (n - len(head) - len(tail)) + tail


async def limits_and_closes(srv):
    uri = f"ws://127.0.0.1:{srv.port}/ws"
    connect = lambda: websockets.connect(uri, open_timeout=10, close_timeout=10, max_size=None)  # noqa: E731
    async with connect() as big, connect() as watcher, connect() as gone:
        for ws, nick in ((big, "big"), (watcher, "watcher"), (gone, "gone")):
            await ws.send(json.dumps({"type": "join", "nick": nick}))
            assert (await recv_json(ws))["type"] == "welcome"
        # Drain the join events everyone has seen so far.
        while (await recv_json(watcher)).get("nick") != "gone":
            pass
        # A message exactly at --max-message (1000 bytes) is accepted...
        await big.send(msg_of_size(1000))
        at_limit = await recv_json(watcher)
        assert at_limit["type"] == "msg" and len(at_limit["msg"]) == 1000 - 23
        # ... and so is one at the limit sent in fragments by the library.
        text = msg_of_size(1000)
        await big.send(iter([text[:300], text[300:301], text[301:]]))
        assert (await recv_json(watcher))["id"] == at_limit["id"] + 1
        # An abrupt end (no close frame: the library aborts the TCP connection)
        # is a leave like any other.
        gone.transport.abort()
        left = await recv_json(watcher)
        assert left["event"] == "leave" and left["nick"] == "gone"
        # One byte over the limit: the server closes with 1009.
        await big.send(msg_of_size(1001))
        with pytest.raises(websockets.exceptions.ConnectionClosed) as e:
            while True:
                await asyncio.wait_for(big.recv(), 10)
        assert e.value.rcvd is not None and e.value.rcvd.code == 1009
        left = await recv_json(watcher)
        assert left["event"] == "leave" and left["nick"] == "big"
        # A clean close from the server's side: SIGTERM sends 1001.
        srv.send_signal(__import__("signal").SIGTERM)
        with pytest.raises(websockets.exceptions.ConnectionClosed) as e:
            while True:
                await asyncio.wait_for(watcher.recv(), 10)
        assert e.value.rcvd is not None and e.value.rcvd.code == 1001


def test_python_websockets_limits_and_every_kind_of_close(start_chatd):
    srv = start_chatd("--max-message", "1000", "--rate", "0")
    asyncio.run(limits_and_closes(srv))
    assert srv.wait_exit() == 0
