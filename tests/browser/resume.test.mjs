// Nothing lost, nothing twice: a reload or a dropped connection while others
// talk resumes each room with `since` and its `epoch`; two tabs with
// different nicks keep apart; a server restart with a durable store resumes,
// one with the memory store says older messages may be missing and shows no
// stale entry.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import {
  startChatd, launchBrowser, openPerson, byId, join, say, waitLast, waitBodies, waitUsers, events, assertIdOrder,
  joinRoom, waitRoom, showRoom, roomList, rawClient, waitState, waitUsersAnyOrder, chatdHasDb, WAIT_MS,
} from './harness.mjs';

const hasDb = chatdHasDb();
let server;
let browser;

before(async () => {
  server = await startChatd({ args: ['--rate', '0'] });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const line = (i) => `line ${String(i).padStart(2, '0')}`;
const lines = (from, to) => Array.from({ length: to - from }, (_, k) => line(from + k));

// Every message entry's body, in page order.
const talk = async (page) => (await events(page)).filter((e) => e.kind === 'own' || e.kind === 'other');

// The joins a page sent, parsed.
function joinsSent(page) {
  const joins = [];
  page.on('websocket', (ws) => ws.on('framesent', (f) => {
    const m = JSON.parse(String(f.payload));
    if (m.type === 'join') joins.push(m);
  }));
  return joins;
}

test('a reload while others send: every message exactly once, in id order, and the rooms and nick kept', { timeout: WAIT_MS * 4 }, async () => {
  const ana = await openPerson(browser, server, { room: 'side' });
  const joins = joinsSent(ana.page);
  await join(ana.page, 'ana');
  await joinRoom(ana.page, 'busy');
  const writer = await rawClient(browser, server);
  await writer.send({ type: 'join', room: 'busy', nick: 'writer' });
  await writer.waitFor((m) => m.type === 'welcome');
  await waitUsers(ana.page, ['ana', 'writer']);

  for (let i = 0; i < 15; i++) await writer.send({ type: 'msg', room: 'busy', msg: line(i) });
  await waitLast(ana.page, 'other', line(14));
  const reloading = ana.page.reload();
  for (let i = 15; i < 40; i++) await writer.send({ type: 'msg', room: 'busy', msg: line(i) });
  await reloading;
  for (let i = 40; i < 45; i++) await writer.send({ type: 'msg', room: 'busy', msg: line(i) });

  await waitRoom(ana.page, 'busy');
  await waitBodies(ana.page, lines(0, 45));
  const shown = await events(ana.page);
  assertIdOrder(shown, 'after the reload');
  assert.equal(new Set(shown.map((e) => e.id)).size, shown.length);
  // The page came back as ana, in both rooms, showing the one it showed, with no "may be missing" note.
  assert.equal(await byId(ana.page, 'nick').isVisible(), false, 'asked for the nick again');
  assert.deepEqual((await roomList(ana.page)).map((r) => [r.room, r.active]), [['side', false], ['busy', true]]);
  assert.equal(await byId(ana.page, 'notice').count(), 0);
  const rejoin = joins.filter((m) => m.room === 'busy').at(-1);
  assert.equal(rejoin.nick, 'ana');
  assert.ok(Number.isInteger(rejoin.since) && rejoin.since > 0 && typeof rejoin.epoch === 'string', JSON.stringify(rejoin));

  await say(ana.page, 'back, and nothing missed');
  await writer.waitFor((m) => m.type === 'msg' && m.msg === 'back, and nothing missed');
  assert.deepEqual(ana.errors, []);
  await ana.context.close();
  await writer.close();
});

test('a dropped connection while others send: rejoined with since, no gap and no duplicate', { timeout: WAIT_MS * 4 }, async () => {
  const bea = await openPerson(browser, server, { room: 'dropped' });
  const routes = [];
  await bea.page.routeWebSocket(/\/ws$/, (ws) => {
    const srv = ws.connectToServer();
    routes.push({ ws, srv });
    ws.onClose(() => srv.close());
  });
  await bea.page.reload();
  const joins = joinsSent(bea.page);
  await join(bea.page, 'bea');
  const writer = await rawClient(browser, server);
  await writer.send({ type: 'join', room: 'dropped', nick: 'talker' });
  await writer.waitFor((m) => m.type === 'welcome');
  for (let i = 0; i < 10; i++) await writer.send({ type: 'msg', room: 'dropped', msg: line(i) });
  await waitLast(bea.page, 'other', line(9));

  const first = routes.at(-1);
  await first.ws.close({ code: 4000, reason: 'test cut' });
  await first.srv.close();
  await waitState(bea.page, ['closed', 'connecting']);
  for (let i = 10; i < 20; i++) await writer.send({ type: 'msg', room: 'dropped', msg: line(i) });
  await waitState(bea.page, 'open');
  for (let i = 20; i < 25; i++) await writer.send({ type: 'msg', room: 'dropped', msg: line(i) });
  await waitBodies(bea.page, lines(0, 25));
  assertIdOrder(await events(bea.page), 'after the drop');
  assert.equal(await byId(bea.page, 'notice').count(), 0);
  assert.ok(routes.length >= 2, 'the page did not reconnect');
  const rejoin = joins.at(-1);
  assert.ok(Number.isInteger(rejoin.since) && typeof rejoin.epoch === 'string', JSON.stringify(rejoin));
  await bea.context.close();
  await writer.close();
});

test('missing more than --max-replay: the view starts after the gap, never with a hole, and load older fills back', { timeout: WAIT_MS * 4 }, async () => {
  const small = await startChatd({ args: ['--rate', '0', '--max-replay', '5'] });
  try {
    const gus = await openPerson(browser, small, { room: 'gap' });
    const routes = [];
    await gus.page.routeWebSocket(/\/ws$/, (ws) => {
      const srv = ws.connectToServer();
      routes.push({ ws, srv });
      ws.onClose(() => srv.close());
      srv.onClose(() => {}); // the server's side may close first; the page's stays open until the test closes it
    });
    await gus.page.reload();
    await join(gus.page, 'gus');
    const writer = await rawClient(browser, small);
    await writer.send({ type: 'join', room: 'gap', nick: 'gapper' });
    await writer.waitFor((m) => m.type === 'welcome');
    for (let i = 0; i < 3; i++) await writer.send({ type: 'msg', room: 'gap', msg: line(i) });
    await waitLast(gus.page, 'other', line(2));

    // Cut the server's side first and let the 20 messages be sent and stored
    // (the writer has its copy of the last), and only then let the page see
    // the loss: however slow the machine, the page cannot reconnect halfway.
    const first = routes.at(-1);
    await first.srv.close();
    for (let i = 3; i < 23; i++) await writer.send({ type: 'msg', room: 'gap', msg: line(i) });
    await writer.waitFor((m) => m.type === 'msg' && m.msg === 'line 22'); // line(22): the predicate runs in the page
    await first.ws.close({ code: 4000, reason: 'test cut' });
    await waitState(gus.page, ['closed', 'connecting']);
    await waitState(gus.page, 'open');
    await waitLast(gus.page, 'system', 'gus joined');
    const contiguous = (list) => list.every((e, i) => i === 0 || e.id === list[i - 1].id + 1);
    const resumed = await events(gus.page);
    assert.ok(contiguous(resumed), `a hole in the view: ${JSON.stringify(resumed.map((e) => e.id))}`);
    assert.ok(!resumed.some((e) => e.body === line(2)), 'kept entries from before the gap');
    for (let n = 0; n < 3 && await byId(gus.page, 'load-older').isVisible(); n++) {
      const count = (await events(gus.page)).length;
      await byId(gus.page, 'load-older').click();
      await gus.page.waitForFunction((c) => document.querySelectorAll('[data-testid="message"][data-id]').length > c, count);
    }
    await waitBodies(gus.page, lines(0, 23));
    const all = await events(gus.page);
    assertIdOrder(all, 'after loading back');
    assert.ok(contiguous(all), `a hole after loading back: ${JSON.stringify(all.map((e) => e.id))}`);
    await gus.context.close();
    await writer.close();
  } finally {
    await small.stop();
  }
});

test('two tabs with different nicks keep their own nick and rooms across reloads; a duplicated tab asks for a nick', { timeout: WAIT_MS * 4 }, async () => {
  const context = await browser.newContext({ viewport: { width: 1100, height: 760 } });
  context.setDefaultTimeout(WAIT_MS);
  const one = await context.newPage();
  const two = await context.newPage();
  await one.goto(`${server.url}#tab-one`);
  await two.goto(`${server.url}#tab-two`);
  await join(one, 'tabby');
  await join(two, 'tabitha');
  await joinRoom(one, 'extra');
  await say(one, 'from tab one');
  await waitLast(one, 'own', 'from tab one');

  await one.reload();
  await two.reload();
  await waitRoom(one, 'extra');
  await waitRoom(two, 'tab-two');
  const me = (page) => page.locator('#me strong').textContent();
  assert.equal(await me(one), 'tabby');
  assert.equal(await me(two), 'tabitha');
  assert.deepEqual((await roomList(one)).map((r) => r.room), ['tab-one', 'extra']);
  assert.deepEqual((await roomList(two)).map((r) => r.room), ['tab-two']);
  await waitBodies(one, ['from tab one']);
  await waitUsers(two, ['tabitha']);

  // A third tab chats as nobody yet: it asks, offering the nick used last.
  const three = await context.newPage();
  await three.goto(server.url);
  await waitState(three, 'open');
  assert.ok(await byId(three, 'nick').isVisible());
  assert.ok(['tabby', 'tabitha'].includes(await byId(three, 'nick').inputValue()));

  // A duplicated tab carries a copy of its original's sessionStorage: it must ask, not fight for the nick.
  const dup = await context.newPage();
  await dup.addInitScript(() => sessionStorage.setItem('chatd.tab-nick', 'tabby'));
  await dup.goto(`${server.url}#tab-one`);
  await dup.locator('#join-error').waitFor({ state: 'visible' });
  assert.ok(await byId(dup, 'nick').isVisible());
  await join(dup, 'tabby-two');
  await waitRoom(dup, 'tab-one');
  assert.equal(await me(one), 'tabby');
  await showRoom(one, 'tab-one');
  await waitUsersAnyOrder(one, ['tabby', 'tabby-two']);
  await context.close();
});

// Restarts the server on the same port with `args`, while `pages` wait.
async function restart(args, pages) {
  const port = server.port;
  const exit = await server.stop();
  assert.deepEqual(exit, { code: 0, signal: null }, `chatd did not exit 0 on SIGTERM:\n${server.log()}`);
  for (const p of pages) await waitState(p.page, ['closed', 'connecting']);
  server = await startChatd({ port, args, cwd: server.cwd });
  for (const p of pages) await waitState(p.page, 'open');
}

test('a server restart with the SQLite store: the rooms resume, nothing missing, nothing twice', {
  timeout: WAIT_MS * 5, skip: hasDb ? false : 'this chatd has no --db (the SQLite store)',
}, async () => {
  const db = path.join(server.cwd, 'restart.db');
  await restart(['--rate', '0', '--db', db], []);
  const cy = await openPerson(browser, server, { room: 'durable' });
  await join(cy.page, 'cy');
  const dot = await openPerson(browser, server, { room: 'durable' });
  await join(dot.page, 'dot');
  for (let i = 0; i < 5; i++) await say(dot.page, line(i));
  await waitBodies(cy.page, lines(0, 5));
  const before = await events(cy.page);

  await restart(['--rate', '0', '--db', db], [cy, dot]);
  await waitUsersAnyOrder(cy.page, ['cy', 'dot']);
  for (let i = 5; i < 8; i++) await say(dot.page, line(i));
  await waitBodies(cy.page, lines(0, 8));
  const after = await events(cy.page);
  assertIdOrder(after, 'after the restart');
  assert.deepEqual(after.slice(0, before.length), before, 'what was shown before the restart changed');
  assert.equal(await byId(cy.page, 'notice').count(), 0, 'a durable store resumed, yet the page says messages may be missing');
  await cy.context.close();
  await dot.context.close();
});

test('a server restart with --db :memory: says older messages may be missing and shows no stale entry', { timeout: WAIT_MS * 5 }, async () => {
  const args = ['--rate', '0', ...(hasDb ? ['--db', ':memory:'] : [])];
  await restart(args, []);
  const eli = await openPerson(browser, server, { room: 'volatile' });
  await join(eli.page, 'eli');
  await joinRoom(eli.page, 'volatile-two');
  const fox = await openPerson(browser, server, { room: 'volatile' });
  await join(fox.page, 'fox');
  await joinRoom(eli.page, 'volatile');
  for (let i = 0; i < 5; i++) await say(fox.page, line(i));
  await waitBodies(eli.page, lines(0, 5));

  await restart(args, [eli, fox]);
  await waitUsersAnyOrder(eli.page, ['eli', 'fox']);
  await byId(eli.page, 'notice').waitFor({ state: 'visible' });
  assert.match(await byId(eli.page, 'notice').textContent(), /may be missing/);
  await say(fox.page, 'after the restart');
  await waitBodies(eli.page, ['after the restart']);
  const shown = await events(eli.page);
  assertIdOrder(shown, 'after the restart');
  assert.ok(shown.every((e) => !e.body.startsWith('line ')), `stale entries: ${JSON.stringify(shown)}`);
  // The other room lost its history too, and says so when shown.
  await eli.page.locator('[data-testid="room"][data-room="volatile-two"] button').click();
  await waitRoom(eli.page, 'volatile-two');
  await byId(eli.page, 'notice').waitFor({ state: 'visible' });
  assertIdOrder(await events(eli.page), 'the other room');
  assert.deepEqual([...eli.errors, ...fox.errors], []);
  await eli.context.close();
  await fox.context.close();
});
