#!/usr/bin/env python3
"""A chat server as a Python user would write it with `websockets` (Debian's
python3-websockets, asyncio): the subset of chatd's protocol that
build/chat_load uses: join, msg, leave and rooms, with or without a `room`
field (a request that names its room gets `room` back in its replies and
events). Events carry consecutive ids per room and a ts; each is encoded
once and sent with websockets.broadcast. No rate limit, no history.

Usage: chat_websockets.py [--host H] [--port P]   (port 0: any free port)
"""

import argparse
import asyncio
import json
import re
import signal
import sys
import time

import websockets

ROOM_RE = re.compile(r"[a-z0-9_-]{1,64}")


class Room:
    def __init__(self):
        self.members = {}  # websocket -> None, in join order
        self.last_id = 0


rooms = {}  # name -> Room
nicks = {}  # lower-case nick -> websocket
conn_rooms = {}  # websocket -> {room: whether its join named it}
conn_nick = {}  # websocket -> nick


def room(name):
    return rooms.setdefault(name, Room())


def reply(ws, obj):
    websockets.broadcast([ws], json.dumps(obj, ensure_ascii=False, separators=(",", ":")))


def error(ws, code, message, named_room=None):
    obj = {"type": "error", "code": code, "message": message}
    if named_room is not None:
        obj["room"] = named_room
    reply(ws, obj)


def broadcast(name, named, fields):
    """Numbers an event of room `name` and sends it to every member; `named`:
    whether the request that caused it gave a room, so the event names it."""
    r = room(name)
    r.last_id += 1
    ev = {"type": fields.pop("type")}
    if named:
        ev["room"] = name
    ev.update(fields)
    ev["id"] = r.last_id
    ev["ts"] = int(time.time() * 1000)
    websockets.broadcast(r.members, json.dumps(ev, ensure_ascii=False, separators=(",", ":")))


def leave(ws, name):
    named = conn_rooms[ws][name]
    nick = conn_nick[ws]
    broadcast(name, named, {"type": "system", "event": "leave", "nick": nick, "text": f"{nick} left"})
    del room(name).members[ws]
    del conn_rooms[ws][name]


def on_join(ws, m):
    named = "room" in m
    name = m.get("room", "general")
    if not isinstance(name, str) or not ROOM_RE.fullmatch(name):
        return error(ws, "room_invalid", "bad room name", m.get("room"))
    if ws not in conn_nick:
        nick = m.get("nick").strip() if isinstance(m.get("nick"), str) else ""
        if not nick:
            return error(ws, "nick_invalid", "a nick is needed", m.get("room"))
        if nick.lower() in nicks:
            return error(ws, "nick_taken", "that nickname is in use", m.get("room"))
        conn_nick[ws] = nick
        nicks[nick.lower()] = ws
    elif "nick" in m and m["nick"] != conn_nick[ws]:
        return error(ws, "bad_field", "nick differs from the connection's", m.get("room"))
    if name in conn_rooms[ws]:
        return error(ws, "already_joined", "already in that room", m.get("room"))
    r = room(name)
    r.members[ws] = None
    conn_rooms[ws][name] = named
    nick = conn_nick[ws]
    welcome = {"type": "welcome"}
    if named:
        welcome["room"] = name
    welcome.update(nick=nick, users=[conn_nick[w] for w in r.members], epoch="peer",
                   last_id=r.last_id, resumed=False)
    reply(ws, welcome)
    broadcast(name, named, {"type": "system", "event": "join", "nick": nick, "text": f"{nick} joined"})


def on_msg(ws, m):
    name = m.get("room")
    if name is None:
        mine = conn_rooms[ws]
        name = next(iter(mine)) if len(mine) == 1 else "general"
    if name not in conn_rooms[ws]:
        return error(ws, "not_joined", "join first", m.get("room"))
    text = m.get("msg")
    if not isinstance(text, str) or not text.strip():
        return error(ws, "msg_invalid", "empty message", m.get("room"))
    broadcast(name, "room" in m, {"type": "msg", "nick": conn_nick[ws], "msg": text})


def on_leave(ws, m):
    name = m.get("room", "general")
    if name not in conn_rooms[ws]:
        return error(ws, "not_joined", "not in that room", m.get("room"))
    leave(ws, name)


def on_rooms(ws, _m):
    listed = sorted(((n, r) for n, r in rooms.items() if r.members), key=lambda x: -len(x[1].members))
    reply(ws, {"type": "rooms",
               "rooms": [{"room": n, "users": len(r.members), "last_id": r.last_id} for n, r in listed[:100]]})


HANDLERS = {"join": on_join, "msg": on_msg, "leave": on_leave, "rooms": on_rooms}


async def handler(ws, *_path):
    conn_rooms[ws] = {}
    try:
        async for data in ws:
            if isinstance(data, bytes):
                await ws.close(1003)
                break
            try:
                m = json.loads(data)
            except ValueError:
                error(ws, "bad_json", "not JSON")
                continue
            h = HANDLERS.get(m.get("type")) if isinstance(m, dict) else None
            if h is None:
                error(ws, "bad_type", "unknown type")
                continue
            h(ws, m)
    except websockets.ConnectionClosed:
        pass
    finally:
        for name in list(conn_rooms[ws]):
            leave(ws, name)
        del conn_rooms[ws]
        nick = conn_nick.pop(ws, None)
        if nick is not None:
            del nicks[nick.lower()]


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=9000)
    args = ap.parse_args()
    stop = asyncio.get_running_loop().create_future()
    for sig in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set_result, None)
    async with websockets.serve(handler, args.host, args.port, backlog=4096) as server:
        port = server.sockets[0].getsockname()[1]
        print(f"python-websockets listening on {args.host}:{port}", file=sys.stderr, flush=True)
        await stop


if __name__ == "__main__":
    asyncio.run(main())
