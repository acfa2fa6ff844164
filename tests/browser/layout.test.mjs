// How the page looks and behaves around the conversation: desktop and phone
// layouts (with screenshots under build/screenshots/; the README's come from
// here), scrolling, the unread count in the title, and a copy of the page
// hosted apart from the server.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import {
  startChatd, launchBrowser, openPerson, byId, join, say, waitLast, waitLastKind, waitEntries, waitState,
  ensureScreenshotDir, staticDir, within, joinRoom, showRoom, waitUnread, WAIT_MS,
} from './harness.mjs';

const PHONE = { width: 375, height: 667 };
const DESKTOP = { width: 1100, height: 760 };

let server;
let browser;
let shots;
let apart; // a static host of its own for a copy of the page (another port: another origin)
let apartOrigin;

// Serves static/ with chat.html's chat-server meta tag pointing at `wsUrl()`.
function startApart(wsUrl) {
  const types = { html: 'text/html; charset=utf-8', css: 'text/css', js: 'text/javascript', svg: 'image/svg+xml' };
  const srv = http.createServer(async (req, res) => {
    const name = new URL(req.url, 'http://x').pathname.slice(1) || 'chat.html';
    if (!/^[\w.-]+$/.test(name) || name.startsWith('.')) return res.writeHead(404).end();
    let body;
    try {
      body = await readFile(path.join(staticDir, name), 'utf8');
    } catch {
      return res.writeHead(404).end();
    }
    if (name === 'chat.html') {
      body = body.replace(/<meta name="chat-server" content="[^"]*">/, `<meta name="chat-server" content="${wsUrl()}">`);
    }
    res.writeHead(200, { 'content-type': types[name.split('.').pop()] || 'application/octet-stream' }).end(body);
  });
  return new Promise((resolve) => srv.listen(0, '127.0.0.1', () => resolve(srv)));
}

before(async () => {
  apart = await startApart(() => `ws://127.0.0.1:${server.port}/ws`);
  apartOrigin = `http://127.0.0.1:${apart.address().port}`;
  server = await startChatd({ args: ['--allow-origin', apartOrigin] });
  browser = await launchBrowser();
  shots = ensureScreenshotDir();
});

after(async () => {
  await browser?.close();
  await server?.stop();
  apart?.close();
});

const noOverflow = (page) => page.evaluate(() => ({
  scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth,
}));

test('desktop and phone, light and dark: screenshots, and nothing wider than a phone', { timeout: WAIT_MS * 6 }, async () => {
  const join0 = await openPerson(browser, server, { viewport: DESKTOP });
  await waitState(join0.page, 'open');
  await join0.page.screenshot({ path: path.join(shots, 'join-desktop.png') });
  await join0.context.close();

  const ana = await openPerson(browser, server, { viewport: DESKTOP });
  await join(ana.page, 'ana');
  const ben = await openPerson(browser, server, { viewport: PHONE });
  await join(ben.page, 'ben');
  const long = await openPerson(browser, server, { viewport: DESKTOP });
  const longNick = 'Maximiliane-Auguste-Wolkenstein';
  await join(long.page, longNick);

  await say(ana.page, 'Morning! Did the deploy go out?');
  await waitLast(ben.page, 'other', 'Morning! Did the deploy go out?');
  await say(ben.page, 'Yes, about ten minutes ago. Metrics look calm 🎉');
  await waitLast(ana.page, 'other', 'Yes, about ten minutes ago. Metrics look calm 🎉');
  await say(long.page, 'Logs are here: https://logs.example.invalid/' + 'a1b2c3d4e5'.repeat(12));
  await waitLastKind(ana.page, 'other', 'Logs are here');
  await say(ana.page, 'Thanks!\nI will read them after lunch.', 'button');
  await waitLast(ben.page, 'other', 'Thanks!\nI will read them after lunch.');
  await say(ben.page, 'x'.repeat(2001));
  await waitLastKind(ben.page, 'error');
  await waitEntries(ana.page, 7);
  // More rooms, one of them with news waiting.
  await joinRoom(ana.page, 'dev');
  await joinRoom(ana.page, 'random');
  await showRoom(ana.page, 'general');
  await joinRoom(ben.page, 'dev');
  await say(ben.page, 'PR #42 is ready for review 👀');
  await say(ben.page, 'Tests are green.');
  await waitUnread(ana.page, 'dev', 2);
  await showRoom(ben.page, 'general');

  await ana.page.screenshot({ path: path.join(shots, 'desktop.png') });
  await ben.page.screenshot({ path: path.join(shots, 'phone.png') });
  const phoneSize = await noOverflow(ben.page);
  assert.ok(phoneSize.scrollWidth <= phoneSize.innerWidth, `phone overflows: ${JSON.stringify(phoneSize)}`);
  assert.equal(phoneSize.innerWidth, PHONE.width);
  // The typed text survives the error, and the composer still fits.
  assert.equal(await byId(ben.page, 'text').inputValue(), 'x'.repeat(2001));

  for (const p of [ana, ben]) await p.page.emulateMedia({ colorScheme: 'dark' });
  await ana.page.screenshot({ path: path.join(shots, 'desktop-dark.png') });
  await ben.page.screenshot({ path: path.join(shots, 'phone-dark.png') });
  const bg = await ana.page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  assert.notEqual(bg, 'rgb(238, 240, 245)', 'dark theme did not apply');

  // A phone that has not joined yet fits too.
  const fresh = await openPerson(browser, server, { viewport: PHONE });
  await waitState(fresh.page, 'open');
  await fresh.page.screenshot({ path: path.join(shots, 'join-phone.png') });
  const freshSize = await noOverflow(fresh.page);
  assert.ok(freshSize.scrollWidth <= freshSize.innerWidth, `phone overflows: ${JSON.stringify(freshSize)}`);

  for (const p of [ana, ben, long, fresh]) {
    assert.deepEqual(p.errors, []);
    await p.context.close();
  }
});

test('the view follows new messages unless the person has scrolled up', { timeout: WAIT_MS * 3 }, async () => {
  const reader = await openPerson(browser, server, { viewport: { width: 800, height: 500 }, room: 'follow' });
  await join(reader.page, 'reader');
  const talker = await openPerson(browser, server, { room: 'follow' });
  await join(talker.page, 'talker');
  const box = byId(reader.page, 'messages');
  const atBottom = () => box.evaluate((e) => e.scrollHeight - e.scrollTop - e.clientHeight <= 2);

  for (let i = 0; i < 30; i++) await say(talker.page, `line ${i}`);
  await waitLast(reader.page, 'other', 'line 29');
  assert.ok(await box.evaluate((e) => e.scrollHeight > e.clientHeight), 'not enough lines to scroll');
  assert.ok(await atBottom(), 'did not follow new messages');

  await box.evaluate((e) => { e.scrollTop = 0; });
  await say(talker.page, 'while you were reading');
  await waitLast(reader.page, 'other', 'while you were reading');
  assert.equal(await box.evaluate((e) => e.scrollTop), 0, 'yanked down while scrolled up');
  await reader.page.locator('#jump').click();
  await reader.page.waitForFunction(() => {
    const e = document.querySelector('[data-testid="messages"]');
    return e.scrollHeight - e.scrollTop - e.clientHeight <= 2;
  });
  await say(talker.page, 'and back to following');
  await waitLast(reader.page, 'other', 'and back to following');
  assert.ok(await atBottom());
  await reader.context.close();
  await talker.context.close();
});

test('the title counts unread messages while the tab is hidden', { timeout: WAIT_MS * 3 }, async () => {
  const away = await openPerson(browser, server, { room: 'title' });
  // Headless tabs are always visible; let the test say when this one is hidden.
  await away.page.addInitScript(() => {
    Object.defineProperty(Document.prototype, 'hidden', { get: () => !!window.__hidden });
    Object.defineProperty(Document.prototype, 'visibilityState', { get: () => (window.__hidden ? 'hidden' : 'visible') });
  });
  await away.page.reload();
  await join(away.page, 'away');
  const here = await openPerson(browser, server, { room: 'title' });
  await join(here.page, 'here');
  assert.equal(await away.page.title(), 'chatd');

  await away.page.evaluate(() => { window.__hidden = true; document.dispatchEvent(new Event('visibilitychange')); });
  for (const t of ['one', 'two', 'three']) await say(here.page, t);
  await waitLast(away.page, 'other', 'three');
  assert.equal(await away.page.title(), '(3) chatd');

  await away.page.evaluate(() => { window.__hidden = false; document.dispatchEvent(new Event('visibilitychange')); });
  assert.equal(await away.page.title(), 'chatd');
  await away.context.close();
  await here.context.close();
});

test('a copy hosted apart from the server reaches it through the chat-server meta tag', { timeout: WAIT_MS * 3 }, async () => {
  const wsUrl = `ws://127.0.0.1:${server.port}/ws`;
  const raw = await (await fetch(`${apartOrigin}/chat.html`)).text();
  assert.ok(raw.includes(`<meta name="chat-server" content="${wsUrl}">`), 'chat.html has no chat-server meta tag');
  const context = await browser.newContext({ viewport: DESKTOP });
  context.setDefaultTimeout(WAIT_MS);
  const page = await context.newPage();
  const sockets = [];
  page.on('websocket', (ws) => sockets.push(ws.url()));
  await page.goto(`${apartOrigin}/`);
  await join(page, 'remote');
  assert.deepEqual(sockets, [wsUrl]);

  const local = await openPerson(browser, server);
  await join(local.page, 'local');
  await say(page, 'hello from elsewhere');
  await waitLast(local.page, 'other', 'hello from elsewhere');
  await say(local.page, 'hello back');
  await within(waitLast(page, 'other', 'hello back'), 'the apart page did not get the reply');
  await context.close();
  await local.context.close();
});
