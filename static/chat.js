// chatd web client: wires the connection (connection.js), the rooms and what
// the protocol's messages do to them (rooms.js), what the page remembers
// (storage.js) and the page itself (page.js, render.js) to one another.
import { Connection, Requests, joinMessage, HISTORY } from './connection.js';
import { Rooms, roomName, validRoom, DEFAULT_ROOM, ROOM_RULE_TEXT } from './rooms.js';
import { el, renderDirectory } from './render.js';
import * as page from './page.js';
import * as saved from './storage.js';

const { ui } = page;
const BASE_TITLE = document.title;

const s = {
  wanted: null, // nick the person asked for; set while they mean to be in
  nick: null, // nick as the server stored it, once joined
  claimed: false, // this connection holds the nick (a join of it was welcomed)
  claimRef: null, // the join that is to claim the nick on this connection, unanswered
  everJoined: false, // a refused claim is a rejoin to retry rather than a first try to show
  unread: 0, // for the title, while the page is hidden
  saveTimer: 0,
};
const rooms = new Rooms();
const requests = new Requests();
// Tabs of this browser tell each other which nick they hold: a duplicated tab
// carries a copy of sessionStorage, and must not fight the original for it.
const tabs = 'BroadcastChannel' in window ? new BroadcastChannel('chatd.tabs') : null;
const tabId = Math.random().toString(36).slice(2);

function serverUrl() {
  const meta = document.querySelector('meta[name="chat-server"]');
  const named = meta && meta.content.trim();
  if (named) return named;
  const url = new URL('ws', location.href); // "/ws" for "/" and "/chat.html"; keeps a proxy's prefix
  url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
  url.search = '';
  url.hash = '';
  return url.href;
}

const conn = new Connection(serverUrl(), { onOpen, onMessage: handle, onClose, onChange: setStatus });

// ---- requests

function sendJoin(room) {
  if (room.joined || room.joinRef || !s.wanted || !conn.open) return;
  if (!s.claimed && s.claimRef) return; // the nick's claim is answered first
  const ref = requests.add('join', room.name);
  if (!conn.send(joinMessage(room, s.nick ?? s.wanted, ref))) return;
  room.joinRef = ref;
  if (!s.claimed) s.claimRef = ref;
}

// Joins every room not joined yet; the shown one first, alone, since the first join claims the nick.
function joinAll() {
  if (!s.wanted || !conn.open) return;
  if (!s.claimed) {
    const first = rooms.current || rooms.list[0];
    if (first && !s.claimRef) sendJoin(first);
  } else {
    for (const r of rooms.list) sendJoin(r);
  }
  setStatus();
}

// Asks for up to HISTORY events of `room` older than its oldest shown, unless the server said there are none.
function requestOlder(room) {
  const before = room.view.oldest;
  if (!room.joined || room.olderRef || !room.hasOlder) return;
  const ref = requests.add('history', room.name);
  if (!conn.send({ type: 'history', room: room.name, before, limit: HISTORY, ref })) {
    requests.forget(ref);
    return;
  }
  room.olderRef = ref;
  room.showOlder();
}

function sendText(room, text) {
  const ref = requests.add('msg', room.name, { text });
  if (!room.joined || !conn.send({ type: 'msg', room: room.name, msg: text, ref })) {
    requests.forget(ref);
    return false;
  }
  room.pending.push({ text, ref });
  return true;
}

// ---- the connection

function onOpen() {
  if (!s.wanted) conn.succeeded();
  joinAll();
}

function onClose() {
  s.claimed = false;
  s.claimRef = null;
  requests.clear(); // their fate is unknown; typed text stays in the input
  for (const r of rooms.list) r.disconnected();
  drawRooms();
}

function handle(m) {
  switch (m.type) {
    case 'welcome': return onWelcome(m);
    case 'msg':
    case 'system': return onEvent(m);
    case 'history': return onHistory(m);
    case 'rooms': return onRoomsList(m);
    case 'error': return onError(m);
    default: return undefined; // newer servers may say more; ignore
  }
}

function onWelcome(m) {
  requests.take(m.ref);
  if (!s.claimed) {
    s.claimed = true;
    s.claimRef = null;
    s.everJoined = true;
    s.nick = typeof m.nick === 'string' ? m.nick : s.wanted;
    s.wanted = s.nick;
    saved.setTabNick(s.nick);
    conn.succeeded();
    page.showChat(s.nick);
    drawRoom();
    joinAll();
  }
  const room = rooms.about(m);
  if (!room) return; // left while the join was on the wire (its leave is on the wire too)
  room.welcomed(m, s.nick);
  for (const text of room.outbox.splice(0)) sendText(room, text);
  if (room === rooms.current) drawRoom();
  drawRooms();
  scheduleSave();
}

function onEvent(m) {
  const room = rooms.about(m);
  if (!room) return;
  const got = room.applyEvent(m, s.nick);
  if (!got) return;
  const { entry, isNew, fill } = got;
  // After a reload the replay brings only what was missed; fetch what came before it.
  if (fill) requestOlder(room);
  if (entry.kind === 'own') acknowledge(room, entry.text);
  if (entry.kind === 'other' && isNew) {
    if (room !== rooms.current) {
      if (room.unread === 0) room.firstUnread = entry.id ?? null;
      room.unread++;
    }
    noteUnread();
  }
  if (room === rooms.current) drawRoom();
  if (room !== rooms.current || entry.kind === 'other') drawRooms();
  scheduleSave();
}

// The server's copy of one of our messages came back: it is no longer pending, and the input is cleared.
function acknowledge(room, text) {
  const i = room.pending.findIndex((p) => p.text === text);
  if (i < 0) return;
  requests.forget(room.pending[i].ref);
  room.pending.splice(i, 1);
  if (room === rooms.current && ui.text.value === text) page.setText('');
  else if (room.draft === text) room.draft = '';
}

function onHistory(m) {
  requests.take(m.ref);
  const room = rooms.about(m);
  if (!room) return;
  room.applyHistory(m, s.nick);
  if (room === rooms.current) drawRoom();
}

function onRoomsList(m) {
  requests.take(m.ref);
  const list = Array.isArray(m.rooms) ? m.rooms.filter((r) => r && typeof r.room === 'string') : [];
  renderDirectory(ui.directory, list.map((r) => ({ room: r.room, users: Number(r.users) || 0 })), rooms.names(), openRoom);
}

function onError(m) {
  const message = String(m.message || m.code || 'error');
  const req = requests.take(m.ref) || guessRequest(m);
  const room = req ? rooms.get(req.room) : (typeof m.room === 'string' ? rooms.get(m.room) : null);
  switch (req?.kind) {
    case 'join':
      joinRefused(req, room, m.code, message);
      return;
    case 'msg':
      if (room) room.pending = room.pending.filter((p) => p.ref !== req.ref);
      break;
    case 'history':
      if (room) {
        room.olderRef = null;
        room.showOlder();
      }
      break;
    case 'rooms':
      ui.directory.replaceChildren(el('li', { class: 'directory-empty' }, message));
      return;
    case 'leave':
      return; // already gone from the page
    default:
      break;
  }
  (room || rooms.current)?.view.addLocal('error', { text: message, code: m.code });
  drawRoom();
}

// For a server that does not echo `ref`: the request an error most likely answers.
function guessRequest(m) {
  if (!s.claimed && s.claimRef && requests.has(s.claimRef)) return requests.take(s.claimRef);
  const room = typeof m.room === 'string' ? rooms.get(m.room) : rooms.current;
  if (room && room.joinRef && !room.joined) return requests.take(room.joinRef);
  // Errors answer messages in order: the oldest unanswered one was refused.
  if (room && room.pending.length && m.code !== 'already_joined') return requests.take(room.pending[0].ref);
  return null;
}

function joinRefused(req, room, code, message) {
  if (room) room.joinRef = null;
  const claim = !s.claimed;
  if (claim) s.claimRef = null;
  if (code === 'already_joined' && room) {
    room.joined = true;
    return;
  }
  if (code === 'unavailable' || code === 'rate_limited' || (claim && s.everJoined && code === 'nick_taken')) {
    // Our old connection may not have timed out yet, or the server is busy: try again later.
    conn.later(joinAll);
    setStatus();
    return;
  }
  if (claim && !s.everJoined) {
    // A first try refused (the nick, or the room it was to enter): back to the form, saying why.
    s.wanted = null;
    for (const r of [...rooms.list]) if (r !== rooms.current) rooms.remove(r.name);
    page.showJoinForm(message);
    rooms.current?.view.addLocal('error', { text: message, code });
    drawRoom();
    drawRooms();
    return;
  }
  // This room cannot be joined (its name, a limit): say so and let it go.
  page.showRoomError(`Cannot join #${req.room}: ${message}`);
  if (rooms.current && rooms.current !== room) rooms.current.view.addLocal('error', { text: message, code });
  if (room) dropRoom(room.name);
  if (claim) joinAll(); // the nick is still to be claimed, through another room
  drawRoom();
}

// ---- rooms

function addRoom(name) {
  const room = rooms.add(name, () => requestOlder(room));
  return room;
}

// Shows `name` (which must be in `rooms`): its conversation, people, draft; the address follows.
function showRoom(name) {
  const prev = rooms.current;
  const room = rooms.get(name);
  if (!room) return;
  if (prev && prev !== room) {
    prev.draft = ui.text.value;
    prev.view.unmount();
  }
  rooms.shown = name;
  if (prev !== room) room.view.markNew(room.unread > 0 ? room.firstUnread : null);
  page.mount(room);
  if (prev !== room) page.setText(room.draft);
  room.unread = 0;
  room.firstUnread = null;
  if (location.hash !== `#${name}`) history.replaceState(null, '', `#${name}`);
  drawRoom();
  drawRooms();
  scheduleSave();
}

// Joins (if need be) and shows the room `name`, a valid name.
function openRoom(name) {
  if (!rooms.has(name)) addRoom(name);
  showRoom(name);
  joinAll();
}

// Removes a room from the page; shows its neighbour, or nothing.
function dropRoom(name) {
  const room = rooms.get(name);
  if (!room) return;
  room.view.unmount();
  const next = rooms.remove(name);
  if (next) {
    showRoom(next.name);
  } else {
    page.mount(null);
    history.replaceState(null, '', location.pathname + location.search);
    drawRoom();
  }
  drawRooms();
  scheduleSave();
}

function leaveRoom() {
  const room = rooms.current;
  if (!room) return;
  if (room.joined || room.joinRef) conn.send({ type: 'leave', room: room.name, ref: requests.add('leave', room.name) });
  dropRoom(room.name);
}

// The room the address names ('' when none), as typed there; validity is the caller's to check.
function hashRoom() {
  let raw = location.hash.slice(1);
  try {
    raw = decodeURIComponent(raw);
  } catch {
    // a malformed escape: keep it raw, the room rule refuses it
  }
  return raw ? roomName(raw) : '';
}

// The address names a room: open it, or, before joining, make it the one to join.
function followHash() {
  const name = hashRoom();
  if (!name || name === rooms.shown) return;
  if (!validRoom(name)) {
    const text = `The address names “${name}”, which is not a room: ${ROOM_RULE_TEXT}.`;
    page.showRoomError(text);
    rooms.current?.view.addLocal('error', { text, code: 'room_invalid' });
    drawRoom();
    if (rooms.shown) history.replaceState(null, '', `#${rooms.shown}`);
    return;
  }
  if (s.wanted || s.everJoined) {
    openRoom(name);
    return;
  }
  const placeholder = rooms.current;
  addRoom(name);
  showRoom(name);
  if (placeholder && placeholder.name !== name) rooms.remove(placeholder.name);
  drawRooms();
}

// ---- persistence

function saveNow() {
  clearTimeout(s.saveTimer);
  s.saveTimer = 0;
  if (!s.everJoined || !s.nick) return;
  saved.saveState(s.nick, { rooms: rooms.list.map((r) => r.saved()), shown: rooms.shown });
}

function scheduleSave() {
  if (!s.saveTimer) s.saveTimer = setTimeout(saveNow, 0);
}

// Adds the rooms saved for `nick`; returns the name of the one it showed last, or null.
function restoreRooms(nick) {
  const st = saved.loadState(nick);
  if (!st) return null;
  for (const v of st.rooms) if (validRoom(v.name)) addRoom(v.name).restore(v);
  return st.shown && rooms.has(st.shown) ? st.shown : null;
}

// ---- drawing

function setStatus() {
  let state = conn.state();
  let label = 'Offline';
  if (state === 'open') {
    if (s.everJoined && s.wanted && !s.claimed && rooms.size > 0) {
      state = 'connecting'; // connected again, but not back in the rooms yet
      label = 'Rejoining…';
    } else {
      label = s.claimed ? 'Connected' : 'Ready';
    }
  } else if (state === 'connecting') {
    label = 'Connecting…';
  } else if (conn.waiting) {
    label = 'Offline · retrying';
  }
  page.drawStatus(state, label);
  ui.send.disabled = !s.wanted || !rooms.current;
  ui.join.disabled = !!s.claimRef && !s.everJoined;
}

function drawRoom() {
  page.drawRoom(rooms.current, s.nick);
  setStatus();
}

function drawRooms() {
  page.drawRooms(rooms, showRoom);
}

function noteUnread() {
  if (!document.hidden) return;
  s.unread++;
  document.title = `(${s.unread}) ${BASE_TITLE}`;
}

// ---- the forms

function submitMessage() {
  const text = ui.text.value;
  const room = rooms.current;
  if (text === '' || !s.wanted || !room) return;
  if (sendText(room, text)) {
    ui.hint.textContent = '';
  } else if (conn.open && (room.joinRef || s.claimRef)) {
    room.outbox.push(text); // a rejoin is answering right now; send right after it
  } else {
    ui.hint.textContent = 'Not connected: your message is kept and can be sent once back online.';
  }
}

function connectNow() {
  try {
    conn.connect();
  } catch (e) {
    rooms.current?.view.addLocal('error', { text: `Cannot reach the chat server: ${e.message}` });
    drawRoom();
  }
}

ui.joinForm.addEventListener('submit', (ev) => {
  ev.preventDefault();
  if (s.claimRef) return;
  const nick = ui.nick.value;
  s.wanted = nick;
  s.nick = null; // the server says how it stores the nick, once welcomed
  s.everJoined = false;
  ui.joinError.hidden = true;
  // The same person back in a new tab finds their rooms again.
  const placeholder = rooms.current;
  const fromHash = hashRoom();
  const last = restoreRooms(nick.trim());
  const target = validRoom(fromHash) ? fromHash : (last || placeholder?.name || DEFAULT_ROOM);
  if (last && placeholder && placeholder.name !== target && placeholder.view.size === 0) rooms.remove(placeholder.name);
  addRoom(target);
  showRoom(target);
  if (!conn.open) connectNow();
  else joinAll();
  setStatus();
});

ui.sendForm.addEventListener('submit', (ev) => {
  ev.preventDefault();
  submitMessage();
  ui.text.focus();
});

ui.text.addEventListener('keydown', (ev) => {
  if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing && ev.keyCode !== 229) {
    ev.preventDefault();
    submitMessage();
  }
});
ui.text.addEventListener('input', page.autosize);
ui.nick.addEventListener('input', () => { ui.joinError.hidden = true; });

ui.roomForm.addEventListener('submit', (ev) => {
  ev.preventDefault();
  const typed = ui.roomName.value;
  const name = roomName(typed);
  if (!validRoom(name)) {
    page.showRoomError(name === '' ? 'Type the name of a room.' : `“${typed.trim()}” is not a room name: ${ROOM_RULE_TEXT}.`);
    return;
  }
  ui.roomError.hidden = true;
  ui.roomName.value = '';
  openRoom(name);
});
ui.roomName.addEventListener('input', () => { ui.roomError.hidden = true; });

ui.browse.addEventListener('click', () => {
  const open = ui.directory.hidden;
  ui.directory.hidden = !open;
  ui.browse.setAttribute('aria-expanded', String(open));
  if (!open) return;
  const ref = requests.add('rooms', null);
  const sent = conn.send({ type: 'rooms', ref });
  if (!sent) requests.forget(ref);
  ui.directory.replaceChildren(el('li', { class: 'directory-empty' }, sent ? 'Looking…' : 'Not connected.'));
});

ui.leave.addEventListener('click', leaveRoom);
ui.jump.addEventListener('click', () => rooms.current?.view.toBottom());

// The status pill doubles as "retry now" while offline.
ui.status.addEventListener('click', () => { if (conn.state() === 'closed') connectNow(); });
window.addEventListener('online', () => { if (conn.state() === 'closed') connectNow(); });
window.addEventListener('hashchange', followHash);
window.addEventListener('pagehide', saveNow);

document.addEventListener('visibilitychange', () => {
  if (document.hidden) return;
  s.unread = 0;
  document.title = BASE_TITLE;
});

// Room switching from the keyboard: Alt+Up and Alt+Down.
document.addEventListener('keydown', (ev) => {
  if (!ev.altKey || (ev.key !== 'ArrowUp' && ev.key !== 'ArrowDown') || rooms.size < 2) return;
  ev.preventDefault();
  const i = rooms.list.indexOf(rooms.current);
  const next = rooms.list[(i + (ev.key === 'ArrowUp' ? -1 : 1) + rooms.size) % rooms.size];
  showRoom(next.name);
});

if (tabs) {
  tabs.onmessage = (ev) => {
    const m = ev.data || {};
    const same = (nick) => typeof nick === 'string' && !!s.nick && nick.toLowerCase() === s.nick.toLowerCase();
    if (m.type === 'who' && s.claimed && same(m.nick)) tabs.postMessage({ type: 'mine', nick: s.nick, to: m.from });
    if (m.type === 'mine' && m.to === tabId && same(m.nick) && !s.claimed) {
      // Another tab holds this nick (we are its duplicate): ask for one of our own.
      s.wanted = null;
      s.nick = null;
      s.everJoined = false;
      saved.setTabNick(null);
      ui.nick.value = '';
      page.showJoinForm(`Another tab is in the chat as ${m.nick}: pick another nickname for this one.`);
      drawRoom();
    }
  };
}

// ---- start: this tab's nick and rooms if it had them (a reload), else the form

function start() {
  const tab = saved.tabNick();
  const fromHash = hashRoom();
  let target = validRoom(fromHash) ? fromHash : null;
  if (tab) {
    s.wanted = tab;
    s.nick = tab;
    s.everJoined = true; // a reload: our old connection may still hold the nick for a moment
    const last = restoreRooms(tab);
    target = target || last || rooms.list[0]?.name;
  }
  target = target || DEFAULT_ROOM;
  addRoom(target);
  showRoom(target);
  if (fromHash && !validRoom(fromHash)) followHash();
  if (tab) {
    page.showChat(s.nick);
    drawRoom();
    tabs?.postMessage({ type: 'who', nick: tab, from: tabId });
  } else {
    ui.nick.value = saved.lastNick();
    ui.nick.focus();
  }
  drawRooms();
  connectNow();
}

start();
