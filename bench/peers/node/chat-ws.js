// A chat server as a Node user would write it with the `ws` package: the
// subset of chatd's protocol (docs/BEHAVIOUR.md) that build/chat_load uses:
// join, msg, leave and rooms, with or without a `room` field (a request that
// names its room gets `room` back in its replies and events). Events carry
// consecutive ids per room and a ts. No rate limit (chatd runs with --rate 0
// next to it), no history.
//
// Usage: node chat-ws.js [--host H] [--port P]   (port 0: any free port)
import { WebSocketServer } from "ws";
import { parseArgs } from "node:util";

const { values: opt } = parseArgs({
  options: { host: { type: "string", default: "127.0.0.1" }, port: { type: "string", default: "9000" } },
});

const rooms = new Map(); // name -> { members: Set<ws>, lastId }
const nicks = new Map(); // lower-case nick -> ws

function room(name) {
  let r = rooms.get(name);
  if (!r) rooms.set(name, (r = { members: new Set(), lastId: 0 }));
  return r;
}

function reply(ws, obj) {
  ws.send(JSON.stringify(obj));
}

function error(ws, code, message, roomName) {
  reply(ws, { type: "error", code, message, ...(roomName ? { room: roomName } : {}) });
}

// Numbers an event of `name` and sends it to every member; `named`: whether
// the request that caused it gave a room, so the event names it too.
function broadcast(name, named, fields) {
  const r = room(name);
  const ev = { type: fields.type, ...(named ? { room: name } : {}), ...fields, id: ++r.lastId, ts: Date.now() };
  const data = JSON.stringify(ev);
  for (const member of r.members) member.send(data);
}

function leave(ws, name) {
  const named = ws.rooms.get(name);
  broadcast(name, named, { type: "system", event: "leave", nick: ws.nick, text: `${ws.nick} left` });
  room(name).members.delete(ws);
  ws.rooms.delete(name);
}

function onJoin(ws, m) {
  const name = typeof m.room === "string" ? m.room : "general";
  if (!/^[a-z0-9_-]{1,64}$/.test(name)) return error(ws, "room_invalid", "bad room name", m.room);
  if (ws.nick === undefined) {
    const nick = typeof m.nick === "string" ? m.nick.trim() : "";
    if (!nick) return error(ws, "nick_invalid", "a nick is needed", m.room);
    if (nicks.has(nick.toLowerCase())) return error(ws, "nick_taken", "that nickname is in use", m.room);
    ws.nick = nick;
    nicks.set(nick.toLowerCase(), ws);
  } else if (m.nick !== undefined && m.nick !== ws.nick) {
    return error(ws, "bad_field", "nick differs from the connection's", m.room);
  }
  if (ws.rooms.has(name)) return error(ws, "already_joined", "already in that room", m.room);
  const r = room(name);
  r.members.add(ws);
  ws.rooms.set(name, m.room !== undefined);
  const users = [...r.members].map((w) => w.nick);
  reply(ws, {
    type: "welcome",
    ...(m.room !== undefined ? { room: name } : {}),
    nick: ws.nick,
    users,
    epoch: "peer",
    last_id: r.lastId,
    resumed: false,
  });
  broadcast(name, m.room !== undefined, { type: "system", event: "join", nick: ws.nick, text: `${ws.nick} joined` });
}

function onMsg(ws, m) {
  let name = m.room;
  if (name === undefined) name = ws.rooms.size === 1 ? ws.rooms.keys().next().value : "general";
  if (!ws.rooms.has(name)) return error(ws, "not_joined", "join first", m.room);
  if (typeof m.msg !== "string" || m.msg.trim() === "") return error(ws, "msg_invalid", "empty message", m.room);
  broadcast(name, m.room !== undefined, { type: "msg", nick: ws.nick, msg: m.msg });
}

const handlers = {
  join: onJoin,
  msg: onMsg,
  leave(ws, m) {
    const name = typeof m.room === "string" ? m.room : "general";
    if (!ws.rooms.has(name)) return error(ws, "not_joined", "not in that room", m.room);
    leave(ws, name);
  },
  rooms(ws) {
    const list = [...rooms].filter(([, r]) => r.members.size > 0);
    list.sort((a, b) => b[1].members.size - a[1].members.size);
    reply(ws, { type: "rooms", rooms: list.slice(0, 100).map(([n, r]) => ({ room: n, users: r.members.size, last_id: r.lastId })) });
  },
};

const wss = new WebSocketServer({ host: opt.host, port: Number(opt.port), path: "/ws", perMessageDeflate: false });
wss.on("listening", () => console.error(`node-ws listening on ${opt.host}:${wss.address().port}`));
wss.on("connection", (ws) => {
  ws.rooms = new Map(); // room -> whether its join named it
  ws.on("message", (data, isBinary) => {
    if (isBinary) return ws.close(1003);
    let m;
    try {
      m = JSON.parse(data.toString());
    } catch {
      return error(ws, "bad_json", "not JSON");
    }
    const handler = m && typeof m === "object" ? handlers[m.type] : undefined;
    if (!handler) return error(ws, "bad_type", "unknown type");
    handler(ws, m);
  });
  ws.on("close", () => {
    for (const name of [...ws.rooms.keys()]) leave(ws, name);
    if (ws.nick !== undefined) nicks.delete(ws.nick.toLowerCase());
  });
});
for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => process.exit(0));
