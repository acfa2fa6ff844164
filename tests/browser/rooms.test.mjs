// Several rooms in one page: the rooms list and its unread counts, switching
// and leaving, #room in the address, the rooms directory, room names that
// are not room names, and the phone layout (with its screenshot).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import {
  startChatd, launchBrowser, openPerson, byId, join, say, waitLast, waitLastKind, users, waitUsers, joinRoom,
  waitRoom, showRoom, roomList, waitUnread, waitBodies, events, assertIdOrder, ensureScreenshotDir, WAIT_MS,
} from './harness.mjs';

const PHONE = { width: 375, height: 667 };

let server;
let browser;
const people = [];

before(async () => {
  server = await startChatd();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

async function person(opts) {
  const p = await openPerson(browser, server, opts);
  people.push(p);
  return p;
}

const hashOf = (page) => new URL(page.url()).hash;

test('two rooms: each keeps its conversation and people, and counts unread messages while not shown', { timeout: WAIT_MS * 4 }, async () => {
  const ana = await person({ room: 'lobby' });
  await join(ana.page, 'ana');
  await joinRoom(ana.page, 'kitchen');
  assert.equal(hashOf(ana.page), '#kitchen', 'the address follows the room shown');
  const ben = await person({ room: 'lobby' });
  await join(ben.page, 'ben');
  await joinRoom(ben.page, 'kitchen');
  await waitUsers(ana.page, ['ana', 'ben']);

  // ana looks at the kitchen while ben talks in the lobby.
  await showRoom(ben.page, 'lobby');
  for (const t of ['lobby one', 'lobby two', 'lobby three']) await say(ben.page, t);
  await waitUnread(ana.page, 'lobby', 3);
  await waitLast(ben.page, 'own', 'lobby three');
  assert.deepEqual(await roomList(ana.page), [
    { room: 'lobby', active: false, unread: 3 },
    { room: 'kitchen', active: true, unread: 0 },
  ]);
  assert.deepEqual((await events(ana.page)).filter((e) => e.kind !== 'system'), [], 'lobby messages shown in the kitchen');

  await showRoom(ana.page, 'lobby');
  assert.equal(hashOf(ana.page), '#lobby');
  await waitUnread(ana.page, 'lobby', 0);
  await waitBodies(ana.page, ['lobby one', 'lobby two', 'lobby three']);
  assertIdOrder(await events(ana.page), 'lobby');
  // A "New" line marks where the unread part began.
  const afterMarker = await ana.page.$eval('[data-testid="messages"] .new-marker',
    (m) => m.nextElementSibling.querySelector('[data-testid="body"]')?.textContent);
  assert.equal(afterMarker, 'lobby one');

  // Now the other way round: the kitchen counts, and one from ana herself does not.
  await showRoom(ben.page, 'kitchen');
  await say(ben.page, 'kitchen one');
  await waitUnread(ana.page, 'kitchen', 1);
  // Alt+Up and Alt+Down walk the rooms list.
  await ana.page.keyboard.press('Alt+ArrowDown');
  await ana.page.locator('[data-testid="room"][data-room="kitchen"][data-active]').waitFor();
  await waitBodies(ana.page, ['kitchen one']);
  await ana.page.keyboard.press('Alt+ArrowUp');
  await ana.page.locator('[data-testid="room"][data-room="lobby"][data-active]').waitFor();
  assert.equal(await ana.page.locator('[data-testid="messages"] .new-marker').count(), 0, 'nothing unread, no marker');
  await say(ana.page, 'mine, in the lobby');
  await waitLast(ana.page, 'own', 'mine, in the lobby');
  assert.equal((await roomList(ana.page)).find((r) => r.room === 'kitchen').unread, 0);

  // Leaving the kitchen: it goes from the list, ben sees ana leave it, the lobby stays.
  await showRoom(ana.page, 'kitchen');
  await byId(ana.page, 'room-leave').click();
  await ana.page.waitForFunction(() => !document.querySelector('[data-testid="room"][data-room="kitchen"]'));
  assert.deepEqual((await roomList(ana.page)).map((r) => r.room), ['lobby']);
  assert.equal(hashOf(ana.page), '#lobby');
  await waitLastKind(ben.page, 'system', 'ana');
  await waitUsers(ben.page, ['ben']);
  await showRoom(ben.page, 'lobby');
  assert.deepEqual((await users(ben.page)).map((u) => u.nick), ['ana', 'ben']);
  await say(ben.page, 'still here?');
  await waitLast(ana.page, 'other', 'still here?');
  await ana.context.close();
  await ben.context.close();
});

test('#room in the address opens and joins that room; the address follows the room shown', { timeout: WAIT_MS * 4 }, async () => {
  const cleo = await person({ room: 'linked' });
  await join(cleo.page, 'cleo');
  await waitRoom(cleo.page, 'linked');
  const dan = await person({ room: 'linked' });
  await join(dan.page, 'dan');
  await waitUsers(cleo.page, ['cleo', 'dan']);

  // A link followed inside the page: another room joined and shown.
  await cleo.page.evaluate(() => { location.hash = '#followed'; });
  await waitRoom(cleo.page, 'followed');
  assert.deepEqual((await roomList(cleo.page)).map((r) => [r.room, r.active]), [['linked', false], ['followed', true]]);
  await showRoom(cleo.page, 'linked');
  assert.equal(hashOf(cleo.page), '#linked');
  // A link to a room the page is already in just shows it.
  await cleo.page.evaluate(() => { location.hash = '#followed'; });
  await cleo.page.locator('[data-testid="room"][data-room="followed"][data-active]').waitFor();
  assert.equal((await roomList(cleo.page)).length, 2);

  // A page opened at a room's address lands in it and is seen there.
  const dee = await person({ room: 'followed' });
  await join(dee.page, 'dee');
  await waitRoom(dee.page, 'followed');
  assert.deepEqual((await roomList(dee.page)).map((r) => r.room), ['followed']);
  await waitUsers(cleo.page, ['cleo', 'dee']);
  // Upper case and a '#' typed in the form name the same room.
  await byId(dee.page, 'room-name').fill('#Linked ');
  await byId(dee.page, 'room-join').click();
  await waitRoom(dee.page, 'linked');
  assert.equal(hashOf(dee.page), '#linked');
  await showRoom(cleo.page, 'linked');
  await waitUsers(cleo.page, ['cleo', 'dan', 'dee']);
  for (const p of [cleo, dan, dee]) await p.context.close();
});

test('the rooms directory lists rooms with their member counts and joins one', { timeout: WAIT_MS * 3 }, async () => {
  const eve = await person({ room: 'busy-room' });
  await join(eve.page, 'eve');
  const fay = await person({ room: 'busy-room' });
  await join(fay.page, 'fay');
  await joinRoom(fay.page, 'quiet-room');
  const gus = await person({ room: 'elsewhere' });
  await join(gus.page, 'gus');

  await byId(gus.page, 'rooms-browse').click();
  const row = (name) => gus.page.locator(`[data-testid="directory"] [data-testid="directory-room"][data-room="${name}"]`);
  await row('busy-room').waitFor();
  assert.match(await row('busy-room').textContent(), /busy-room.*2 people/);
  assert.match(await row('quiet-room').textContent(), /quiet-room.*1 person/);
  assert.match(await row('elsewhere').textContent(), /1 person/);
  await row('busy-room').locator('button').click();
  await waitRoom(gus.page, 'busy-room');
  await waitUsers(eve.page, ['eve', 'fay', 'gus']);
  assert.deepEqual((await roomList(gus.page)).map((r) => r.room), ['elsewhere', 'busy-room']);
  await eve.context.close();
  await fay.context.close();
  await gus.context.close();
});

test('a room name with HTML in it is refused before sending and shown only as text; the server\'s room_invalid is shown', { timeout: WAIT_MS * 4 }, async () => {
  const hal = await person({ room: 'safe' });
  const sent = [];
  hal.page.on('websocket', (ws) => ws.on('framesent', (f) => sent.push(String(f.payload))));
  await join(hal.page, 'hal');
  const evil = '<img src=x onerror=window.__pwned=1>';
  await byId(hal.page, 'room-name').fill(evil);
  await byId(hal.page, 'room-join').click();
  const err = byId(hal.page, 'room-error');
  await err.waitFor({ state: 'visible' });
  assert.ok((await err.textContent()).includes(evil), 'the refusal names what was typed, as text');
  assert.ok(sent.every((m) => JSON.parse(m).type !== 'join' || JSON.parse(m).room === 'safe'), `sent: ${sent}`);
  assert.equal(await byId(hal.page, 'room-name').inputValue(), evil, 'the typed name is kept to fix');

  // The same through the address.
  await hal.page.evaluate(() => { location.hash = `#${encodeURIComponent('<b>bold</b>')}`; });
  await waitLastKind(hal.page, 'error', '<b>bold</b>');
  assert.deepEqual((await roomList(hal.page)).map((r) => r.room), ['safe']);
  assert.equal(new URL(hal.page.url()).hash, '#safe');
  const injected = await hal.page.evaluate(() => ({
    pwned: window.__pwned, img: document.querySelectorAll('.app img').length, bold: document.querySelectorAll('.app b').length,
  }));
  assert.deepEqual(injected, { pwned: undefined, img: 0, bold: 0 });

  // A name the page lets through but the server refuses (rewritten on the way): its message is shown.
  const ivy = await person({ room: 'safe' });
  await ivy.page.routeWebSocket(/\/ws$/, (ws) => {
    const srv = ws.connectToServer();
    ws.onMessage((m) => {
      const o = JSON.parse(String(m));
      srv.send(o.type === 'join' && o.room === 'will-be-bad' ? JSON.stringify({ ...o, room: 'Not A Room!' }) : m);
    });
  });
  await ivy.page.reload();
  await join(ivy.page, 'ivy');
  await byId(ivy.page, 'room-name').fill('will-be-bad');
  await byId(ivy.page, 'room-join').click();
  const refused = byId(ivy.page, 'room-error');
  await refused.waitFor({ state: 'visible' });
  assert.match(await refused.textContent(), /will-be-bad/);
  await ivy.page.waitForFunction(() => !document.querySelector('[data-testid="room"][data-room="will-be-bad"]'));
  assert.equal(new URL(ivy.page.url()).hash, '#safe');
  await say(ivy.page, 'still in safe');
  await waitLast(hal.page, 'other', 'still in safe');
  await hal.context.close();
  await ivy.context.close();
});

test('on a phone: rooms as chips, joined by name, switched with a tap; nothing wider than the screen', { timeout: WAIT_MS * 4 }, async () => {
  const shots = ensureScreenshotDir();
  const jo = await person({ viewport: PHONE, touch: true, room: 'phone-main' });
  await join(jo.page, 'jo');
  const kai = await person({ room: 'phone-main' });
  await join(kai.page, 'kai');
  await joinRoom(kai.page, 'phone-side');
  await joinRoom(jo.page, 'phone-side');

  await showRoom(kai.page, 'phone-main');
  await say(kai.page, 'Lunch at 12:30? 🍜');
  await say(kai.page, 'The usual place.');
  await waitUnread(jo.page, 'phone-main', 2);
  await showRoom(kai.page, 'phone-side');
  await say(kai.page, 'Side room, quieter here.');
  await waitLast(jo.page, 'other', 'Side room, quieter here.');
  await jo.page.screenshot({ path: path.join(shots, 'phone-rooms.png') });

  await jo.page.locator('[data-testid="room"][data-room="phone-main"] button').tap();
  await jo.page.locator('[data-testid="room"][data-room="phone-main"][data-active]').waitFor();
  await waitBodies(jo.page, ['Lunch at 12:30? 🍜', 'The usual place.']);
  await waitUnread(jo.page, 'phone-main', 0);
  await showRoom(kai.page, 'phone-main');
  await say(jo.page, 'Yes, see you there');
  await waitLast(kai.page, 'other', 'Yes, see you there');
  const size = await jo.page.evaluate(() => ({ scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth }));
  assert.ok(size.scrollWidth <= size.innerWidth, `phone overflows: ${JSON.stringify(size)}`);
  await jo.context.close();
  await kai.context.close();
});

test('no page threw, and none asked another host for anything', () => {
  const host = new URL(server.url).host;
  for (const p of people) {
    for (const u of p.urls) {
      const url = new URL(u);
      if (['data:', 'blob:', 'about:'].includes(url.protocol)) continue;
      assert.equal(url.host, host, `request to another host: ${u}`);
    }
    assert.deepEqual(p.errors, []);
  }
});
