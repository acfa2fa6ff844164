// The page survives losing its server: it reconnects by itself and rejoins
// under the same nickname, also when the old connection still holds it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startChatd, launchBrowser, openPerson, byId, join, say, waitLast, waitLastKind, users, waitState, within, WAIT_MS,
} from './harness.mjs';

let server;
let browser;

before(async () => {
  server = await startChatd();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

// Resolves once the users list holds exactly `nicks`, in any order, with `self` marked.
function waitUserSet(page, nicks, self) {
  return page.waitForFunction(
    ([want, me]) => {
      const els = [...document.querySelectorAll('[data-testid="users"] [data-testid="user"]')];
      const got = els.map((e) => e.textContent).sort();
      const mine = els.filter((e) => e.hasAttribute('data-self')).map((e) => e.textContent);
      return JSON.stringify(got) === JSON.stringify([...want].sort()) && mine.length === 1 && mine[0] === me;
    },
    [nicks, self],
    { timeout: WAIT_MS },
  );
}

test('a server restart mid-session: the page reconnects, rejoins and chats again', { timeout: WAIT_MS * 4 }, async () => {
  const kim = await openPerson(browser, server);
  await join(kim.page, 'kim');
  const leo = await openPerson(browser, server);
  await join(leo.page, 'leo');
  await say(kim.page, 'before the restart');
  await waitLast(leo.page, 'other', 'before the restart');

  const port = server.port;
  const exit = await server.stop();
  assert.deepEqual(exit, { code: 0, signal: null }, `chatd did not exit 0 on SIGTERM:\n${server.log()}`);
  await waitState(kim.page, ['closed', 'connecting']);
  await waitState(leo.page, ['closed', 'connecting']);

  // Typed while offline: nothing is sent, and the text stays.
  await say(kim.page, 'typed while offline');
  assert.equal(await byId(kim.page, 'text').inputValue(), 'typed while offline');

  server = await startChatd({ port });
  assert.equal(server.port, port);
  await waitState(kim.page, 'open');
  await waitState(leo.page, 'open');
  await waitUserSet(kim.page, ['kim', 'leo'], 'kim');
  await waitUserSet(leo.page, ['kim', 'leo'], 'leo');

  await byId(kim.page, 'text').press('Enter');
  await waitLast(leo.page, 'other', 'typed while offline');
  await waitLast(kim.page, 'own', 'typed while offline');
  await kim.page.waitForFunction(() => document.querySelector('[data-testid="text"]').value === '');
  await say(leo.page, 'welcome back', 'button');
  await waitLast(kim.page, 'other', 'welcome back');
  assert.deepEqual([...kim.errors, ...leo.errors], []);
  await kim.context.close();
  await leo.context.close();
});

test('a rejoin refused as nick_taken is retried until the old connection is gone', { timeout: WAIT_MS * 4 }, async () => {
  const mia = await openPerson(browser, server);
  const page = mia.page;
  const routes = []; // one per WebSocket the page opened: its page side, server side, traffic
  let routed = () => {};
  const nextRoute = () => new Promise((resolve) => { routed = resolve; });
  await page.routeWebSocket(/\/ws$/, (ws) => {
    const r = { ws, srv: null, fromPage: [], fromServer: [], refused: null };
    r.refused = new Promise((resolve) => {
      r.srv = ws.connectToServer();
      r.srv.onMessage((m) => {
        r.fromServer.push(String(m));
        if (String(m).includes('"nick_taken"')) resolve();
        ws.send(m);
      });
    });
    ws.onMessage((m) => {
      r.fromPage.push(String(m));
      r.srv.send(m);
    });
    ws.onClose(() => { if (!r.cut) r.srv.close(); }); // the test's cut below stays one-sided
    routes.push(r);
    routed(r);
  });
  await page.reload();
  await join(page, 'mia');
  const ned = await openPerson(browser, server);
  await join(ned.page, 'ned');

  // Cut the page off while the server still holds mia's first connection.
  const first = routes.at(-1);
  const reconnected = nextRoute();
  first.cut = true;
  await first.ws.close({ code: 4000, reason: 'test cut' });
  await waitState(page, ['closed', 'connecting']);
  const second = await within(reconnected, 'the page did not reconnect');
  await within(second.refused, 'the rejoin was not refused as nick_taken');
  assert.equal(await byId(page, 'status').getAttribute('data-state'), 'connecting');
  assert.equal(await page.locator('#join-form').isVisible(), false, 'gave up and showed the join form');

  // The old connection ends; the server says mia left, and the page's retry gets in.
  await first.srv.close();
  await waitState(page, 'open');
  await waitUserSet(page, ['mia', 'ned'], 'mia');
  const joins = second.fromPage.filter((m) => JSON.parse(m).type === 'join');
  assert.ok(joins.length >= 2, `expected a retried join, saw ${joins.length}`);
  assert.ok(joins.every((m) => JSON.parse(m).nick === 'mia'));
  await waitLastKind(ned.page, 'system', 'mia');
  assert.deepEqual((await users(ned.page)).map((u) => u.nick).sort(), ['mia', 'ned']);

  await say(page, 'back again');
  await waitLast(ned.page, 'other', 'back again');
  await mia.context.close();
  await ned.context.close();
});
