// A room's history: the newest 50 events on entering it, older ones with the
// "load older" control and by scrolling to the top (keeping the reader's
// place), day separators, and runs of one person's messages grouped.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startChatd, launchBrowser, openPerson, byId, join, say, waitLast, waitBodies, events, assertIdOrder, rawClient,
  WAIT_MS,
} from './harness.mjs';

let server;
let browser;

before(async () => {
  server = await startChatd({ args: ['--rate', '0'] }); // the writers send faster than a person
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const line = (i) => `m${String(i).padStart(3, '0')}`;
const lines = (from, to) => Array.from({ length: to - from }, (_, k) => line(from + k));

// A bare client joins `room` as `nick` and says line(0) .. line(n-1); resolves once its copy of the last is back.
async function write(room, nick, n) {
  const w = await rawClient(browser, server);
  await w.send({ type: 'join', room, nick });
  await w.waitFor((m) => m.type === 'welcome');
  for (let i = 0; i < n; i++) await w.send({ type: 'msg', room, msg: line(i) });
  const last = line(n - 1);
  await w.waitFor(new Function('m', `return m.type === 'msg' && m.msg === ${JSON.stringify(last)}`));
  return w;
}

// Where the text of the entry with `body` is on the screen (its top, in px).
const topOf = (page, body) => page.$$eval('[data-testid="message"] [data-testid="body"]', (els, b) => {
  const e = els.find((x) => x.textContent === b);
  return e ? e.getBoundingClientRect().top : null;
}, body);

test('60 messages before joining: the newest 50 shown, the 10 before on demand, in order, none twice', { timeout: WAIT_MS * 4 }, async () => {
  const writer = await write('sixty', 'writer', 60);
  const reader = await openPerson(browser, server, { room: 'sixty' });
  await join(reader.page, 'reader');
  await waitBodies(reader.page, lines(10, 60));
  const first = await events(reader.page);
  assertIdOrder(first, 'on joining');
  assert.equal(first.filter((e) => e.kind === 'other').length, 50);
  assert.deepEqual(first.at(-1).kind, 'system', 'the reader\'s own join comes after the history');
  const older = byId(reader.page, 'load-older');
  assert.ok(await older.isVisible(), 'no load-older control while older messages exist');

  // The control stays in view at the top of the list; using it must not move what the reader sees.
  const before10 = await topOf(reader.page, line(10));
  await older.click();
  await waitBodies(reader.page, lines(0, 60));
  const after10 = await topOf(reader.page, line(10));
  assert.ok(Math.abs(after10 - before10) <= 2, `the reader's place moved: m010 from ${before10}px to ${after10}px`);
  const all = await events(reader.page);
  assertIdOrder(all, 'after load older');
  assert.equal(all.length, first.length + 11, 'the 10 messages and the writer\'s join');
  assert.equal(all[0].kind, 'system');
  await reader.page.waitForFunction(() => document.querySelector('[data-testid="load-older"]').hidden);
  assert.deepEqual(reader.errors, []);
  await reader.context.close();
  await writer.close();
});

test('scrolling to the top fetches older history until there is none, keeping the place', { timeout: WAIT_MS * 4 }, async () => {
  const writer = await write('scrolly', 'scribe', 130);
  const reader = await openPerson(browser, server, { room: 'scrolly', viewport: { width: 900, height: 600 } });
  await join(reader.page, 'scroller');
  await waitBodies(reader.page, lines(80, 130));
  const box = byId(reader.page, 'messages');
  for (const [from, want] of [[80, lines(30, 130)], [30, lines(0, 130)]]) {
    await box.evaluate((e) => { e.scrollTop = 0; });
    const top = await topOf(reader.page, line(from));
    await waitBodies(reader.page, want);
    // What was at the top is still where the reader left it, not scrolled away.
    const now = await topOf(reader.page, line(from));
    assert.ok(Math.abs(now - top) <= 2, `${line(from)} moved from ${top}px to ${now}px`);
    assert.ok(await box.evaluate((e) => e.scrollTop > 0));
  }
  assertIdOrder(await events(reader.page), 'after scrolling up');
  await reader.page.waitForFunction(() => document.querySelector('[data-testid="load-older"]').hidden);
  await reader.context.close();
  await writer.close();
});

test('day separators, and consecutive messages of one person grouped', { timeout: WAIT_MS * 4 }, async () => {
  const ana = await openPerson(browser, server, { room: 'groups' });
  await join(ana.page, 'ana');
  const ben = await openPerson(browser, server, { room: 'groups' });
  await join(ben.page, 'ben');
  for (const [p, t] of [[ana, 'a1'], [ana, 'a2'], [ana, 'a3'], [ben, 'b1'], [ana, 'a4']]) {
    await say(p.page, t);
    await waitLast(ben.page, p === ben ? 'own' : 'other', t);
  }
  const grouping = (page) => page.$$eval('[data-testid="message"][data-kind="own"], [data-testid="message"][data-kind="other"]',
    (els) => els.map((e) => [e.querySelector('[data-testid="body"]').textContent, e.classList.contains('cont')]));
  const want = [['a1', false], ['a2', true], ['a3', true], ['b1', false], ['a4', false]];
  assert.deepEqual(await grouping(ana.page), want);
  assert.deepEqual(await grouping(ben.page), want);
  // Grouped entries still carry their nick and time for anyone reading the page.
  const froms = await ben.page.$$eval('[data-testid="message"][data-kind="other"] [data-testid="from"]', (els) => els.map((e) => e.textContent));
  assert.deepEqual(froms, ['ana', 'ana', 'ana', 'ana']);
  const separators = (page) => page.$$eval('[data-testid="messages"] .day', (els) => els.map((e) => e.textContent));
  assert.deepEqual(await separators(ana.page), ['Today']);

  // A third page whose first events are rewritten to two days ago: a separator for that day, then Today.
  const cal = await openPerson(browser, server, { room: 'groups' });
  const twoDays = 2 * 24 * 3600 * 1000;
  await cal.page.routeWebSocket(/\/ws$/, (ws) => {
    const srv = ws.connectToServer();
    srv.onMessage((m) => {
      const o = JSON.parse(String(m));
      const shift = (e) => (e.id <= 3 ? { ...e, ts: e.ts - twoDays } : e);
      if (o.type === 'msg' || o.type === 'system') ws.send(JSON.stringify(shift(o)));
      else if (o.type === 'history') ws.send(JSON.stringify({ ...o, events: o.events.map(shift) }));
      else ws.send(m);
    });
  });
  await cal.page.reload();
  await join(cal.page, 'cal');
  await waitBodies(cal.page, ['a1', 'a2', 'a3', 'b1', 'a4']);
  const days = await separators(cal.page);
  assert.equal(days.length, 2, `separators: ${JSON.stringify(days)}`);
  assert.equal(days[1], 'Today');
  assert.notEqual(days[0], 'Yesterday');
  const order = await cal.page.$$eval('[data-testid="messages"] > li', (els) => els.map((e) => (e.classList.contains('day') ? 'day' : e.dataset.id || '')).filter(Boolean));
  assert.deepEqual(order.slice(0, 5), ['day', '1', '2', '3', 'day'], 'the second separator sits between id 3 and id 4');
  for (const p of [ana, ben, cal]) {
    assert.deepEqual(p.errors, []);
    await p.context.close();
  }
});
