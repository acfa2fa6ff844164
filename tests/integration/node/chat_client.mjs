// A chat client on Node's `ws`, driven by test_handshake_clients.py.
// Usage: node chat_client.mjs PORT NICK TEXT [ORIGIN]
// Joins as NICK, sends TEXT as one message in three fragments, waits for its
// own copy, closes normally, and prints every message received and the close
// code as JSON lines on stdout. Exits 0 when all of that happened.
import WebSocket from 'ws';

const [port, nick, text, origin] = process.argv.slice(2);
const opts = origin ? { origin } : {};
const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`, opts);
const print = (o) => process.stdout.write(JSON.stringify(o) + '\n');
const fail = (why) => { print({ fail: why }); process.exit(1); };
const timer = setTimeout(() => fail('timeout'), 10000);

ws.on('open', () => ws.send(JSON.stringify({ type: 'join', nick })));
ws.on('message', (data, isBinary) => {
  if (isBinary) fail('binary message from server');
  const m = JSON.parse(data.toString('utf8'));
  print(m);
  if (m.type === 'welcome') {
    // Split by bytes, so a fragment may end inside a UTF-8 sequence.
    const body = Buffer.from(JSON.stringify({ type: 'msg', msg: text }), 'utf8');
    const a = Math.floor(body.length / 3);
    ws.send(body.subarray(0, a), { binary: false, fin: false });
    ws.send(body.subarray(a, 2 * a), { binary: false, fin: false });
    ws.send(body.subarray(2 * a), { binary: false, fin: true });
  } else if (m.type === 'msg' && m.nick === nick && m.msg === text) {
    ws.close(1000, 'bye');
  }
});
ws.on('close', (code) => {
  print({ close: code });
  clearTimeout(timer);
  process.exit(code === 1000 ? 0 : 1);
});
ws.on('error', (e) => fail(String(e)));
