// Shared pieces of the browser tests: start and stop a chatd, launch headless
// Chromium, open one page per person, and wait on the page's data-testid hooks.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(here, '..', '..');
export const staticDir = path.join(repoRoot, 'static');
export const screenshotDir = path.join(repoRoot, 'build', 'screenshots');
const chatdBin = path.resolve(process.env.CHATD_BIN || path.join(repoRoot, 'build', 'chatd'));

const LISTEN_TIMEOUT_MS = 10000;
const EXIT_TIMEOUT_MS = 10000;
// The longest wait on any one page condition: a bound for a test that
// fails, not a speed expectation (the sanitizer build on a busy machine
// needs more than 10 s for some pages).
export const WAIT_MS = 30000;

// CHROMIUM_CPU_THROTTLE=N runs every person's page N times slower (Chromium's
// CPU throttling): a slow phone, or a loaded CI machine, on demand, so that
// races between rendering and the page's own events show up here first.
const CPU_THROTTLE = Number(process.env.CHROMIUM_CPU_THROTTLE || 1);

const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

// Starts chatd on 127.0.0.1 (port 0 = ephemeral) serving the repo's static/,
// in a working directory of its own (`cwd`, default a fresh temporary one, so
// a store file it keeps there never lands in the repository); resolves once
// its stderr says "listening on http://127.0.0.1:PORT".
export function startChatd({ port = 0, args = [], cwd = mkdtempSync(path.join(os.tmpdir(), 'chatd-browser-')) } = {}) {
  const proc = spawn(chatdBin, ['--host', '127.0.0.1', '--port', String(port), '--static', staticDir, ...args], {
    stdio: ['ignore', 'ignore', 'pipe'], cwd,
  });
  let log = '';
  const exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
  return new Promise((resolve, reject) => {
    const fail = (why) => {
      clearTimeout(timer);
      proc.kill('SIGKILL');
      reject(new Error(`chatd (${chatdBin}) ${why}; stderr:\n${log}`));
    };
    const timer = setTimeout(() => fail('did not print "listening on" in time'), LISTEN_TIMEOUT_MS);
    proc.on('error', (e) => proc.started || fail(`could not start: ${e.message}`));
    exited.then(({ code, signal }) => proc.started || fail(`exited early (code ${code}, signal ${signal})`));
    proc.stderr.setEncoding('utf8');
    proc.stderr.on('data', (chunk) => {
      log += chunk;
      const m = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(log);
      if (!m || proc.started) return;
      proc.started = true;
      clearTimeout(timer);
      const actual = Number(m[1]);
      resolve({
        proc,
        port: actual,
        cwd,
        url: `http://127.0.0.1:${actual}/`,
        log: () => log,
        // SIGTERM, then the exit status ({code, signal}); SIGKILL if it hangs.
        async stop() {
          if (proc.exitCode !== null || proc.signalCode !== null) return exited;
          proc.kill('SIGTERM');
          const t = setTimeout(() => proc.kill('SIGKILL'), EXIT_TIMEOUT_MS);
          const result = await exited;
          clearTimeout(t);
          return result;
        },
      });
    });
  });
}

// Launches Debian's Chromium headless with a fresh temporary profile.
export function launchBrowser() {
  return chromium.launch({ executablePath: process.env.CHROMIUM_BIN || '/usr/bin/chromium', args: CHROMIUM_ARGS });
}

// Opens the chat page for one person in their own browser context, at
// `#room` when a room is given (the room the page joins first); `touch`
// makes it a touch screen (a phone). Every
// request and WebSocket the page makes is recorded in `urls`, and every
// uncaught page error in `errors`.
export async function openPerson(browser, server, { viewport = { width: 1100, height: 760 }, colorScheme = 'light', room, touch = false } = {}) {
  const context = await browser.newContext({ viewport, colorScheme, hasTouch: touch, isMobile: touch });
  context.setDefaultTimeout(WAIT_MS);
  const page = await context.newPage();
  if (CPU_THROTTLE > 1) {
    const cdp = await context.newCDPSession(page);
    await cdp.send('Emulation.setCPUThrottlingRate', { rate: CPU_THROTTLE });
  }
  const person = { context, page, urls: [], errors: [] };
  page.on('request', (r) => person.urls.push(r.url()));
  page.on('websocket', (ws) => person.urls.push(ws.url()));
  page.on('pageerror', (e) => person.errors.push(e.message));
  await page.goto(room ? `${server.url}#${room}` : server.url);
  return person;
}

export const byId = (page, id) => page.locator(`[data-testid="${id}"]`);

// Fills the nickname and joins; resolves once the page lists its own nick.
export async function join(page, nick) {
  await byId(page, 'nick').fill(nick);
  await byId(page, 'join').click();
  await page.locator('[data-testid="users"] [data-testid="user"][data-self]').filter({ hasText: nick }).waitFor();
}

// Types `text` and sends it with Enter (how = 'enter') or the button ('button').
export async function say(page, text, how = 'enter') {
  const input = byId(page, 'text');
  await input.fill(text);
  if (how === 'enter') await input.press('Enter');
  else await byId(page, 'send').click();
}

// `wait` (a wait on the page's entries); if it fails, its error lists the
// entries the page showed then, so a failure in CI says what was there instead.
async function explained(page, wait) {
  try {
    return await wait;
  } catch (err) {
    const shown = await page.$$eval('[data-testid="messages"] [data-testid="message"]', (els) => els.map((e) => (
      `${e.dataset.id ?? '-'} ${e.dataset.kind}: ${e.querySelector('[data-testid="body"]')?.textContent ?? ''}`
    ))).catch((e) => [`unreadable: ${e.message}`]);
    err.message += `\n  the page showed ${shown.length} entries:\n    ${shown.join('\n    ')}`;
    throw err;
  }
}

// Resolves once the page holds at least `n` entries.
export function waitEntries(page, n) {
  return explained(page, page.waitForFunction(
    (want) => document.querySelectorAll('[data-testid="messages"] [data-testid="message"]').length >= want,
    n,
    { timeout: WAIT_MS },
  ));
}

// Resolves once the last entry on the page has the given kind and body text.
export function waitLast(page, kind, body) {
  return explained(page, page.waitForFunction(
    ([k, b]) => {
      const all = document.querySelectorAll('[data-testid="messages"] [data-testid="message"]');
      const last = all[all.length - 1];
      return !!last && last.dataset.kind === k && last.querySelector('[data-testid="body"]').textContent === b;
    },
    [kind, body],
    { timeout: WAIT_MS },
  ));
}

// Resolves once the last entry has the given kind and its body contains `part`.
export function waitLastKind(page, kind, part = '') {
  return explained(page, page.waitForFunction(
    ([k, b]) => {
      const all = document.querySelectorAll('[data-testid="messages"] [data-testid="message"]');
      const last = all[all.length - 1];
      return !!last && last.dataset.kind === k && last.querySelector('[data-testid="body"]').textContent.includes(b);
    },
    [kind, part],
    { timeout: WAIT_MS },
  ));
}

// All entries as {kind, from, body, time}, in page order.
export function entries(page) {
  return page.$$eval('[data-testid="messages"] [data-testid="message"]', (els) => els.map((e) => ({
    kind: e.dataset.kind,
    from: e.querySelector('[data-testid="from"]')?.textContent ?? null,
    body: e.querySelector('[data-testid="body"]')?.textContent ?? null,
    time: e.querySelector('time')?.getAttribute('datetime') ?? null,
  })));
}

// The users list, in page order, and which one is marked as self.
export function users(page) {
  return page.$$eval('[data-testid="users"] [data-testid="user"]', (els) => els.map((e) => ({
    nick: e.textContent, self: e.hasAttribute('data-self'),
  })));
}

// Resolves once the users list is exactly `nicks` (in order).
export function waitUsers(page, nicks) {
  return page.waitForFunction(
    (want) => JSON.stringify([...document.querySelectorAll('[data-testid="users"] [data-testid="user"]')]
      .map((e) => e.textContent)) === JSON.stringify(want),
    nicks,
    { timeout: WAIT_MS },
  );
}

export function waitState(page, states) {
  const list = Array.isArray(states) ? states : [states];
  return page.waitForFunction(
    (want) => want.includes(document.querySelector('[data-testid="status"]')?.dataset.state),
    list,
    { timeout: WAIT_MS },
  );
}

// `promise`, or a rejection naming `what` if it has not settled within `ms`.
export function within(promise, what, ms = WAIT_MS) {
  let timer;
  const late = new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`timed out: ${what}`)), ms); });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

export function ensureScreenshotDir() {
  mkdirSync(screenshotDir, { recursive: true });
  return screenshotDir;
}

// ---- rooms, history and resume (protocol v2)

const roomSel = (name) => `[data-testid="rooms"] [data-testid="room"][data-room="${name}"]`;

// Joins the room `name` through the page's form; resolves once the room is
// shown and the server has welcomed it.
export async function joinRoom(page, name) {
  await byId(page, 'room-name').fill(name);
  await byId(page, 'room-join').click();
  await waitRoom(page, name);
}

// Resolves once `name` is the room shown and joined (its users list holds the page's own nick).
export function waitRoom(page, name) {
  return page.waitForFunction(
    (sel) => !!document.querySelector(`${sel}[data-active]:not([data-waiting])`) &&
      !!document.querySelector('[data-testid="users"] [data-testid="user"][data-self]'),
    roomSel(name),
    { timeout: WAIT_MS },
  );
}

// Shows a room the page is in by clicking it in the rooms list.
export async function showRoom(page, name) {
  await page.locator(`${roomSel(name)} button`).click();
  await page.locator(`${roomSel(name)}[data-active]`).waitFor();
}

// The rooms list as [{room, active, unread}] in page order (unread 0 when no count is shown).
export function roomList(page) {
  return page.$$eval('[data-testid="rooms"] [data-testid="room"]', (els) => els.map((e) => ({
    room: e.dataset.room,
    active: e.hasAttribute('data-active'),
    unread: Number(e.querySelector('[data-testid="unread"]')?.textContent ?? 0),
  })));
}

// Resolves once the unread count of room `name` reads `n` (0: no count shown).
export function waitUnread(page, name, n) {
  return page.waitForFunction(
    ([sel, want]) => {
      const room = document.querySelector(sel);
      const shown = room?.querySelector('[data-testid="unread"]');
      return !!room && (want === 0 ? !shown : shown?.textContent === String(want));
    },
    [roomSel(name), n],
    { timeout: WAIT_MS },
  );
}

// The event entries shown as {id, kind, from, body}, in page order.
export function events(page) {
  return page.$$eval('[data-testid="messages"] [data-testid="message"][data-id]', (els) => els.map((e) => ({
    id: Number(e.dataset.id),
    kind: e.dataset.kind,
    from: e.querySelector('[data-testid="from"]')?.textContent ?? null,
    body: e.querySelector('[data-testid="body"]')?.textContent ?? null,
  })));
}

// Resolves once the page shows message entries (own or other) with exactly these bodies, in this order.
export function waitBodies(page, bodies) {
  return explained(page, page.waitForFunction(
    (want) => JSON.stringify([...document.querySelectorAll(
      '[data-testid="messages"] [data-testid="message"][data-kind="own"], [data-testid="messages"] [data-testid="message"][data-kind="other"]',
    )].map((e) => e.querySelector('[data-testid="body"]').textContent)) === JSON.stringify(want),
    bodies,
    { timeout: WAIT_MS },
  ));
}

// Asserts the invariant of every room's list: ids strictly increasing, so none twice and in order.
export function assertIdOrder(list, what = 'entries') {
  for (let i = 1; i < list.length; i++) {
    if (!(list[i].id > list[i - 1].id)) {
      throw new Error(`${what}: id ${list[i].id} after ${list[i - 1].id} at ${i}: ${JSON.stringify(list.map((e) => e.id))}`);
    }
  }
}

// A bare protocol client inside the browser (a page of the server's own
// origin, so its Origin passes), for sending many messages or watching a room
// without the web client. `send(obj)`; `waitFor(pred)` resolves with the first
// received message (parsed) for which pred(m) is true, oldest first.
export async function rawClient(browser, server) {
  const context = await browser.newContext();
  context.setDefaultTimeout(WAIT_MS);
  const page = await context.newPage();
  await page.goto(`${server.url}healthz`);
  await page.evaluate((url) => new Promise((resolve, reject) => {
    window.__got = [];
    const ws = new WebSocket(url);
    window.__ws = ws;
    ws.onmessage = (ev) => window.__got.push(JSON.parse(ev.data));
    ws.onopen = () => resolve();
    ws.onerror = () => reject(new Error('raw client could not connect'));
  }), `ws://127.0.0.1:${server.port}/ws`);
  return {
    context,
    send: (obj) => page.evaluate((o) => window.__ws.send(JSON.stringify(o)), obj),
    // pred is serialised into the page: it may use only its argument.
    async waitFor(pred) {
      const handle = await page.waitForFunction(
        (src) => window.__got.find(eval(`(${src})`)), // eslint-disable-line no-eval
        pred.toString(),
        { timeout: WAIT_MS },
      );
      return handle.jsonValue();
    },
    received: () => page.evaluate(() => window.__got),
    close: () => context.close(),
  };
}

// True when the chatd under test takes --db (the SQLite store); the restart
// tests that need it are skipped until it does.
export function chatdHasDb() {
  const r = spawnSync(chatdBin, ['--help'], { encoding: 'utf8', timeout: LISTEN_TIMEOUT_MS });
  return /--db\b/.test(`${r.stdout}${r.stderr}`);
}

// Resolves once the users list holds exactly `nicks`, in any order (after a restart people rejoin in any order).
export function waitUsersAnyOrder(page, nicks) {
  return page.waitForFunction(
    (want) => JSON.stringify([...document.querySelectorAll('[data-testid="users"] [data-testid="user"]')]
      .map((e) => e.textContent).sort()) === JSON.stringify([...want].sort()),
    nicks,
    { timeout: WAIT_MS },
  );
}
