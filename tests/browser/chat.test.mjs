// People joining, talking and leaving through the real page and a real chatd.
// Each test talks in a room of its own (the page's #room), so the history a
// room shows on joining holds only what that test said.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startChatd, launchBrowser, openPerson, byId, join, say, waitEntries, waitLast, waitLastKind, entries, users,
  waitUsers, waitState, WAIT_MS,
} from './harness.mjs';

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

const talk = (list) => list.filter((e) => e.kind === 'own' || e.kind === 'other');

function assertTimes(list) {
  for (const e of list) {
    assert.ok(e.time, `entry without <time datetime>: ${JSON.stringify(e)}`);
    assert.ok(!Number.isNaN(Date.parse(e.time)), `unparsable datetime ${e.time}`);
  }
}

test('two people join, talk with Enter and with the button, and one leaves', { timeout: WAIT_MS * 3 }, async () => {
  const alice = await person({ room: 'pair' });
  await waitState(alice.page, 'open');
  await join(alice.page, 'alice');
  const bob = await person({ room: 'pair' });
  await join(bob.page, 'bob');

  await waitUsers(alice.page, ['alice', 'bob']);
  await waitUsers(bob.page, ['alice', 'bob']);
  assert.deepEqual(await users(alice.page), [{ nick: 'alice', self: true }, { nick: 'bob', self: false }]);
  assert.deepEqual(await users(bob.page), [{ nick: 'alice', self: false }, { nick: 'bob', self: true }]);

  await say(alice.page, 'hi bob', 'enter');
  await waitLast(bob.page, 'other', 'hi bob');
  await waitLast(alice.page, 'own', 'hi bob');
  await alice.page.waitForFunction(() => document.querySelector('[data-testid="text"]').value === '');

  // Shown exactly as sent: no trimming, no collapsing, no normalisation.
  const odd = '  two  spaces,\ttab, Olá 👋 ﬁ e\u0301 ';
  await say(bob.page, odd, 'button');
  await waitLast(alice.page, 'other', odd);
  await waitLast(bob.page, 'own', odd);
  await bob.page.waitForFunction(() => document.querySelector('[data-testid="text"]').value === '');

  const a = await entries(alice.page);
  const b = await entries(bob.page);
  assertTimes(a);
  assertTimes(b);
  assert.deepEqual(a.map((e) => e.kind), ['system', 'system', 'own', 'other']);
  assert.match(a[0].body, /alice/);
  assert.match(a[1].body, /bob/);
  // bob entered after alice: her join comes to him as the room's history.
  assert.deepEqual(b.map((e) => e.kind), ['system', 'system', 'other', 'own']);
  assert.match(b[0].body, /alice/);
  assert.deepEqual(talk(a).map((e) => [e.from, e.body]), [['alice', 'hi bob'], ['bob', odd]]);
  assert.deepEqual(talk(b).map((e) => [e.from, e.body]), [['alice', 'hi bob'], ['bob', odd]]);
  const hhmm = await alice.page.$eval('[data-testid="message"] time', (t) => t.textContent);
  assert.match(hhmm, /^\d\d:\d\d$/);

  await bob.context.close();
  await waitUsers(alice.page, ['alice']);
  await waitLastKind(alice.page, 'system', 'bob');
  await alice.context.close();
});

test('three people see the same conversation in the same order', { timeout: WAIT_MS * 3 }, async () => {
  const names = ['carol', 'dave', 'erin'];
  const ps = [];
  for (const n of names) {
    const p = await person({ room: 'three' });
    await join(p.page, n);
    ps.push(p);
  }
  for (const p of ps) await waitUsers(p.page, names);

  // Everyone talks at once; the server decides one order and all must show it.
  const lines = [];
  for (let round = 1; round <= 2; round++) {
    const said = names.map((n) => [n, `${n[0]}${round}`]);
    lines.push(...said);
    await Promise.all(ps.map((p, i) => say(p.page, said[i][1], i % 2 ? 'button' : 'enter')));
  }
  const want = lines.length;
  for (const p of ps) {
    await p.page.waitForFunction((n) => document.querySelectorAll(
      '[data-testid="message"][data-kind="own"], [data-testid="message"][data-kind="other"]').length >= n, want);
  }
  const seen = await Promise.all(ps.map((p) => entries(p.page)));
  const order = seen.map((list) => talk(list).map((e) => `${e.from}:${e.body}`));
  assert.equal(order[0].length, want);
  assert.deepEqual(order[1], order[0]);
  assert.deepEqual(order[2], order[0]);
  assert.deepEqual([...order[0]].sort(), lines.map(([n, t]) => `${n}:${t}`).sort());
  seen.forEach((list, i) => {
    assertTimes(list);
    for (const e of talk(list)) assert.equal(e.kind, e.from === names[i] ? 'own' : 'other');
  });
  // carol saw dave and erin join after her; erin saw the two before her in the history.
  for (const list of seen) {
    assert.deepEqual(list.filter((e) => e.kind === 'system').map((e) => e.body.split(' ')[0]), names);
  }

  await ps[2].context.close();
  await waitUsers(ps[0].page, ['carol', 'dave']);
  await waitUsers(ps[1].page, ['carol', 'dave']);
  await waitLastKind(ps[1].page, 'system', 'erin');
  await ps[1].context.close();
  await waitUsers(ps[0].page, ['carol']);
  await waitLastKind(ps[0].page, 'system', 'dave');
  await ps[0].context.close();
});

test('a taken nickname is refused with the server message and the form stays usable', { timeout: WAIT_MS * 3 }, async () => {
  const frank = await person({ room: 'taken' });
  await join(frank.page, 'frank');
  const other = await person({ room: 'taken' });
  const page = other.page;
  for (const taken of ['frank', 'FRANK']) {
    await byId(page, 'nick').fill(taken);
    await byId(page, 'join').click();
    await page.locator('#join-error').waitFor({ state: 'visible' });
    await page.locator('[data-testid="message"][data-kind="error"]').last().waitFor();
    const shown = await page.locator('#join-error').textContent();
    assert.ok(shown.trim().length > 0, 'refusal message is empty');
    const errs = (await entries(page)).filter((e) => e.kind === 'error');
    assert.equal(errs.at(-1).body, shown, 'error entry and form show the same server message');
    assert.ok(await byId(page, 'nick').isEditable());
    assert.ok(await byId(page, 'join').isEnabled());
    await page.locator('#join-error').evaluate((e) => { e.hidden = true; });
  }
  await join(page, 'grace');
  await waitUsers(page, ['frank', 'grace']);
  await waitUsers(frank.page, ['frank', 'grace']);
  await frank.context.close();
  await other.context.close();
});

test('an error from the server keeps the typed text; rate limits are shown', { timeout: WAIT_MS * 3 }, async () => {
  const p = await person({ room: 'limits' });
  await join(p.page, 'heidi');
  const long = 'x'.repeat(2001);
  await say(p.page, long, 'enter');
  await waitLastKind(p.page, 'error');
  assert.equal(await byId(p.page, 'text').inputValue(), long);
  await say(p.page, 'short now', 'button');
  await waitLast(p.page, 'own', 'short now');
  await p.page.waitForFunction(() => document.querySelector('[data-testid="text"]').value === '');

  // 60 sends in one go through the real key handler: over the burst of 40.
  const burst = 60;
  const before = (await entries(p.page)).length;
  await p.page.evaluate((n) => {
    const input = document.querySelector('[data-testid="text"]');
    for (let i = 0; i < n; i++) {
      input.value = `burst ${i}`;
      input.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', bubbles: true, cancelable: true }));
    }
  }, burst);
  await waitEntries(p.page, before + burst);
  const fresh = (await entries(p.page)).slice(before);
  const errors = fresh.filter((e) => e.kind === 'error');
  assert.ok(errors.length > 0, 'no rate-limit error shown');
  assert.ok(fresh.filter((e) => e.kind === 'own').length >= 30, 'the burst allowance was not used');
  assert.equal(await p.page.locator('[data-testid="message"][data-kind="error"][data-code="rate_limited"]').count() > 0, true);
  assert.equal(await byId(p.page, 'text').inputValue(), `burst ${burst - 1}`, 'typed text lost after an error');
  await p.context.close();
});

test('HTML in messages and nicknames is shown as text and never runs', { timeout: WAIT_MS * 3 }, async () => {
  const evil = '<img src=x onerror=window.__pwned=1>';
  const script = '<script>window.__pwned=2</script>';
  const nick = '<b>ivan</b>';
  const a = await person({ room: 'html' });
  await join(a.page, nick);
  const b = await person({ room: 'html' });
  await join(b.page, 'judy');
  await say(a.page, evil, 'enter');
  await say(a.page, script, 'button');
  for (const p of [a, b]) {
    await waitLast(p.page, a === p ? 'own' : 'other', script);
    const talkNow = talk(await entries(p.page));
    assert.deepEqual(talkNow.map((e) => [e.from, e.body]), [[nick, evil], [nick, script]]);
    const online = (await users(p.page)).map((u) => u.nick);
    assert.ok(online.includes(nick) && online.includes('judy'), `users list: ${JSON.stringify(online)}`);
    const injected = await p.page.evaluate(() => ({
      pwned: window.__pwned,
      img: document.querySelectorAll('[data-testid="messages"] img, [data-testid="users"] img').length,
      script: document.querySelectorAll('[data-testid="messages"] script').length,
      bold: document.querySelectorAll('[data-testid="users"] b, [data-testid="messages"] b').length,
    }));
    assert.deepEqual(injected, { pwned: undefined, img: 0, script: 0, bold: 0 });
  }
  await a.context.close();
  await b.context.close();
});

test('the page asks nothing of any other host and throws no errors', () => {
  const host = new URL(server.url).host;
  for (const p of people) {
    for (const u of p.urls) {
      const url = new URL(u);
      if (['data:', 'blob:', 'about:'].includes(url.protocol)) continue;
      assert.equal(url.host, host, `request to another host: ${u}`);
    }
    assert.deepEqual(p.errors, []);
  }
  assert.ok(people.length > 0);
});
