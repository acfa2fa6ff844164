// The Node `ws` chat (chat-ws.js) as several nodes behind Redis, the way a
// Node user scales one out: N worker processes (node:cluster) share the
// port, and every event goes through Redis. A Lua script numbers an event
// and publishes it in one step, so every room has one id order on every
// node; each node fans the events of its subscription out to its own
// members. Nicks are unique across the nodes (a Redis key per nick).
//
// Usage: node chat-ws-redis.js [--host H] [--port P] [--redis-port R] [--nodes N]
import cluster from "node:cluster";
import { parseArgs } from "node:util";
import Redis from "ioredis";
import { WebSocketServer } from "ws";

const { values: opt } = parseArgs({
  options: {
    host: { type: "string", default: "127.0.0.1" },
    port: { type: "string", default: "9000" },
    "redis-port": { type: "string", default: "6379" },
    nodes: { type: "string", default: "2" },
  },
});

const CHANNEL = "chat:events";
// ARGV: room, event JSON up to its id, ts, nick to add to or drop from the
// room's users ("" for none), "+" or "-". Publishes "room\nid\njson".
const EVENT_LUA = `
if ARGV[5] == "+" then redis.call("RPUSH", "chat:users:" .. ARGV[1], ARGV[4]) end
if ARGV[5] == "-" then redis.call("LREM", "chat:users:" .. ARGV[1], 1, ARGV[4]) end
local id = redis.call("INCR", "chat:id:" .. ARGV[1])
redis.call("PUBLISH", "${CHANNEL}", ARGV[1] .. "\\n" .. id .. "\\n" .. ARGV[2] .. id .. ',"ts":' .. ARGV[3] .. "}")
if ARGV[5] == "+" then return {id, redis.call("LRANGE", "chat:users:" .. ARGV[1], 0, -1)} end
return {id}`;
const RING = 4096; // events a node keeps per room, for a joiner whose join event came first

function startNode() {
  const redis = new Redis({ host: "127.0.0.1", port: Number(opt["redis-port"]) });
  const sub = new Redis({ host: "127.0.0.1", port: Number(opt["redis-port"]) });
  redis.defineCommand("chatEvent", { numberOfKeys: 0, lua: EVENT_LUA });
  const rooms = new Map(); // name -> { members: Set<ws>, ring: [{id, data}] } (this node's)

  function room(name) {
    let r = rooms.get(name);
    if (!r) rooms.set(name, (r = { members: new Set(), ring: [] }));
    return r;
  }
  const send = (ws, obj) => ws.send(JSON.stringify(obj));
  const error = (ws, code, message, named) =>
    send(ws, { type: "error", code, message, ...(named !== undefined ? { room: named } : {}) });

  // The event's JSON up to `"id":`, so Redis can close it with the id it gives.
  function prefix(name, named, fields) {
    const head = JSON.stringify({ type: fields.type, ...(named ? { room: name } : {}), ...fields });
    return head.slice(0, -1) + ',"id":';
  }
  const publish = (name, named, fields, nick = "", op = "") =>
    redis.chatEvent(name, prefix(name, named, fields), Date.now(), nick, op);

  sub.subscribe(CHANNEL);
  sub.on("message", (_ch, message) => {
    const a = message.indexOf("\n"), b = message.indexOf("\n", a + 1);
    const r = room(message.slice(0, a));
    const ev = { id: Number(message.slice(a + 1, b)), data: message.slice(b + 1) };
    r.ring.push(ev);
    if (r.ring.length > RING) r.ring.shift();
    for (const member of r.members) member.send(ev.data);
  });

  function leave(ws, name) {
    const named = ws.rooms.get(name);
    ws.rooms.delete(name);
    room(name).members.delete(ws);
    publish(name, named, { type: "system", event: "leave", nick: ws.nick, text: `${ws.nick} left` }, ws.nick, "-");
  }

  async function onJoin(ws, m) {
    const name = typeof m.room === "string" ? m.room : "general";
    const named = m.room !== undefined;
    if (!/^[a-z0-9_-]{1,64}$/.test(name)) return error(ws, "room_invalid", "bad room name", m.room);
    if (ws.rooms.has(name)) return error(ws, "already_joined", "already in that room", m.room);
    ws.rooms.set(name, named); // taken now, so a second join while this one waits is refused
    if (ws.nick === undefined) {
      const nick = typeof m.nick === "string" ? m.nick.trim() : "";
      const free = nick && (await redis.set(`chat:nick:${nick.toLowerCase()}`, "1", "NX"));
      if (!free) {
        ws.rooms.delete(name);
        return error(ws, nick ? "nick_taken" : "nick_invalid", "that nick cannot be had", m.room);
      }
      ws.nick = nick;
    }
    const [id, users] = await publish(name, named, { type: "system", event: "join", nick: ws.nick, text: `${ws.nick} joined` }, ws.nick, "+");
    if (ws.closed) return leave(ws, name);
    const r = room(name);
    send(ws, { type: "welcome", ...(named ? { room: name } : {}), nick: ws.nick, users, epoch: "peer", last_id: id - 1, resumed: false });
    // Events from our join on that this node fanned out before the reply came.
    for (const ev of r.ring) if (ev.id >= id) ws.send(ev.data);
    r.members.add(ws);
  }

  function onMsg(ws, m) {
    let name = m.room;
    if (name === undefined) name = ws.rooms.size === 1 ? ws.rooms.keys().next().value : "general";
    if (!room(name).members.has(ws)) return error(ws, "not_joined", "join first", m.room);
    if (typeof m.msg !== "string" || m.msg.trim() === "") return error(ws, "msg_invalid", "empty message", m.room);
    publish(name, m.room !== undefined, { type: "msg", nick: ws.nick, msg: m.msg });
  }

  const handlers = {
    join: onJoin,
    msg: onMsg,
    leave(ws, m) {
      const name = typeof m.room === "string" ? m.room : "general";
      if (!room(name).members.has(ws)) return error(ws, "not_joined", "not in that room", m.room);
      leave(ws, name);
    },
  };

  const wss = new WebSocketServer({ host: opt.host, port: Number(opt.port), path: "/ws", perMessageDeflate: false });
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
    ws.on("close", async () => {
      ws.closed = true;
      for (const name of [...ws.rooms.keys()]) if (room(name).members.has(ws)) leave(ws, name);
      if (ws.nick !== undefined) await redis.del(`chat:nick:${ws.nick.toLowerCase()}`);
    });
  });
  wss.on("listening", () => process.send({ listening: wss.address().port }));
}

if (cluster.isPrimary) {
  const n = Number(opt.nodes);
  let up = 0;
  for (let i = 0; i < n; ++i) cluster.fork();
  cluster.on("message", (_w, msg) => {
    if (msg.listening !== undefined && ++up === n)
      console.error(`node-ws-redis listening on ${opt.host}:${msg.listening} (${n} nodes, redis port ${opt["redis-port"]})`);
  });
  for (const sig of ["SIGINT", "SIGTERM"])
    process.on(sig, () => {
      for (const w of Object.values(cluster.workers)) w.kill();
      process.exit(0);
    });
} else {
  startNode();
}
