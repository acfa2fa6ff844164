// Pages a room's history back to id 1 on Node's `ws`, driven by
// test_history_fragments.py. Usage: node history_client.mjs PORT ROOM NICK LIMIT
// Joins ROOM, asks `history` with `before` set to the oldest id seen until
// `more` is false, and prints each answer as one JSON line on stdout. `ws`
// reassembles the fragmented answers (RFC 6455 section 5.4) before its
// 'message' event. Exits 0 once the last page came.
import WebSocket from 'ws';

const [port, room, nick, limit] = process.argv.slice(2);
const print = (o) => process.stdout.write(JSON.stringify(o) + '\n');
const fail = (why) => { print({ fail: why }); process.exit(1); };
setTimeout(() => fail('timeout'), 20000);

const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
const send = (o) => ws.send(JSON.stringify(o));
let page = 0;
ws.on('open', () => send({ type: 'join', room, nick }));
ws.on('message', (data) => {
  const m = JSON.parse(data.toString('utf8'));
  if (m.type === 'system' && m.event === 'join' && m.nick === nick && page === 0) {
    send({ type: 'history', room, limit: Number(limit), ref: `p${page}` });
  } else if (m.type === 'history') {
    print(m);
    page += 1;
    if (!m.more) return ws.close(1000);
    send({ type: 'history', room, limit: Number(limit), before: m.events[0].id, ref: `p${page}` });
  } else if (m.type === 'error') {
    fail(m);
  }
});
ws.on('close', (code) => process.exit(code === 1000 ? 0 : 1));
ws.on('error', (e) => fail(String(e)));
