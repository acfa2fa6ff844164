// A protocol v2 client on Node's `ws`, driven by test_rooms_clients.py.
// Usage: node rooms_client.mjs PORT NICK
// Joins rooms "n1" and "n2", sends one message to each, asks n1's history,
// then resumes n2 on a second connection after the first is terminated
// (no close frame), and prints every message received as JSON lines on
// stdout, each tagged with its connection. Exits 0 when all of that happened.
import WebSocket from 'ws';

const [port, nick] = process.argv.slice(2);
const url = `ws://127.0.0.1:${port}/ws`;
const print = (o) => process.stdout.write(JSON.stringify(o) + '\n');
const fail = (why) => { print({ fail: why }); process.exit(1); };
setTimeout(() => fail('timeout'), 15000);

const first = new WebSocket(url);
let epoch2 = null, last2 = 0, step = 0;
const send = (ws, o) => ws.send(JSON.stringify(o));

first.on('open', () => send(first, { type: 'join', room: 'n1', nick, ref: 'j1' }));
first.on('message', (data) => {
  const m = JSON.parse(data.toString('utf8'));
  print({ conn: 1, ...m });
  if (m.room === 'n2' && m.id) last2 = m.id;
  if (m.type === 'welcome' && m.room === 'n1') send(first, { type: 'join', room: 'n2' });
  else if (m.type === 'welcome' && m.room === 'n2') {
    epoch2 = m.epoch;
    send(first, { type: 'msg', room: 'n1', msg: 'one' });
    send(first, { type: 'msg', room: 'n2', msg: 'two' });
  } else if (m.type === 'msg' && m.msg === 'two' && step === 0) {
    step = 1;
    send(first, { type: 'history', room: 'n1', limit: 10, ref: 'h' });
  } else if (m.type === 'history') {
    first.terminate();  // abrupt: TCP ends with no close frame
  }
});
first.on('close', () => {
  const second = new WebSocket(url);
  const rejoin = () => send(second, { type: 'join', room: 'n2', nick, since: last2, epoch: epoch2 });
  second.on('open', rejoin);
  second.on('message', (data) => {
    const m = JSON.parse(data.toString('utf8'));
    // The server may not have seen the first connection end yet: its nick
    // is still held until then, so ask again.
    if (m.type === 'error' && m.code === 'nick_taken') return rejoin();
    print({ conn: 2, ...m });
    if (m.type === 'system' && m.event === 'join' && m.nick === nick) second.close(1000);
  });
  second.on('close', (code) => process.exit(code === 1000 ? 0 : 1));
  second.on('error', (e) => fail(String(e)));
});
first.on('error', (e) => fail(String(e)));
