// chatd web client: wires the connection (connection.js), the rooms
// (rooms.js), what the page remembers (storage.js) and the drawing
// (render.js) to the protocol's messages and the page's forms.
import { Connection, joinMessage, HISTORY } from './connection.js';
import { Rooms, roomName, validRoom, DEFAULT_ROOM } from './rooms.js';
import { el, renderUsers, renderRooms, renderDirectory } from './render.js';
import * as saved from './storage.js';

const MSG_MAX_CODE_POINTS = 2000; // PROTOCOL.md msg limit, only used to warn while typing
const BASE_TITLE = document.title;
const NOTICE = 'The server could not resume this room where you left it: older messages may be missing. ' +
  'Its recent history was loaded afresh.';
const ROOM_RULE_TEXT = 'a room name is 1 to 64 characters of a-z, 0-9, - and _';

const $ = (id) => document.getElementById(id);
const ui = {
  app: $('app'), status: $('status'), me: $('me'), users: $('users'), count: $('user-count'),
  slot: $('messages'), empty: $('empty'), emptyTitle: $('empty-title'), emptyText: $('empty-text'), jump: $('jump'),
  joinForm: $('join-form'), nick: $('nick'), join: $('join'), joinError: $('join-error'),
  sendForm: $('send-form'), text: $('text'), send: $('send'), hint: $('send-hint'),
  rooms: $('rooms'), roomAdd: $('room-add'), roomForm: $('room-form'), roomName: $('room-name'),
  roomError: $('room-error'), browse: $('browse'), directory: $('directory'),
  roomHead: $('room-head'), roomTitle: $('room-title'), roomCount: $('room-count'), leave: $('room-leave'),
};

const s = {
  wanted: null, // nick the person asked for; set while they mean to be in
  nick: null, // nick as the server stored it, once joined
  claimed: false, // this connection holds the nick (a join of it was welcomed)
  claimRef: null, // the join that is to claim the nick on this connection, unanswered
  everJoined: false, // a refused claim is a rejoin to retry rather than a first try to show
  refs: new Map(), // ref -> {kind, room, text} of requests on the wire
  seq: 0,
  unread: 0, // for the title, while the page is hidden
  saveTimer: 0,
};
const rooms = new Rooms();

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

// A new ref for a request, remembered with what it was for.
function ref(kind, room, extra) {
  const r = `r${++s.seq}`;
  s.refs.set(r, { kind, room, ...extra });
  return r;
}

// The request a reply answers (and forgets it), or null.
function answered(r) {
  if (typeof r !== 'string' || !s.refs.has(r)) return null;
  const info = s.refs.get(r);
  s.refs.delete(r);
  return { ref: r, ...info };
}

function sendJoin(room) {
  if (room.joined || room.joinRef || !s.wanted || !conn.open) return;
  if (!s.claimed && s.claimRef) return; // the nick's claim is answered first
  const r = ref('join', room.name);
  if (!conn.send(joinMessage(room, s.nick ?? s.wanted, r))) return;
  room.joinRef = r;
  if (!s.claimed) s.claimRef = r;
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

// Asks for up to HISTORY events of `room` older than `before` (default: its oldest shown).
function requestOlder(room, before = room.view.oldest) {
  if (!room.joined || room.olderRef || !Number.isInteger(before) || before <= 1) return;
  const r = ref('history', room.name);
  if (!conn.send({ type: 'history', room: room.name, before, limit: HISTORY, ref: r })) {
    s.refs.delete(r);
    return;
  }
  room.olderRef = r;
  showOlder(room);
}

function sendText(room, text) {
  const r = ref('msg', room.name, { text });
  if (!room.joined || !conn.send({ type: 'msg', room: room.name, msg: text, ref: r })) {
    s.refs.delete(r);
    return false;
  }
  room.pending.push({ text, ref: r });
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
  s.refs.clear(); // their fate is unknown; typed text stays in the input
  for (const r of rooms.list) {
    r.disconnected();
    showOlder(r);
  }
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

// The room a server message is about: its `room`, or for a server that
// names none, the only room (else general).
function roomOf(m) {
  if (typeof m.room === 'string') return rooms.get(m.room);
  return rooms.size === 1 ? rooms.list[0] : rooms.get(DEFAULT_ROOM);
}

function onWelcome(m) {
  answered(m.ref);
  const first = !s.claimed;
  if (first) {
    s.claimed = true;
    s.claimRef = null;
    s.everJoined = true;
    s.nick = typeof m.nick === 'string' ? m.nick : s.wanted;
    s.wanted = s.nick;
    saved.setTabNick(s.nick);
    conn.succeeded();
    enterChat();
    joinAll();
  }
  const room = roomOf(m);
  if (!room) return; // left while the join was on the wire (its leave is on the wire too)
  const askedSince = room.epoch !== null; // joinMessage asked to resume
  const since = room.lastId;
  room.joined = true;
  room.joinRef = null;
  const resumed = m.resumed === true;
  room.liveFrom = Number.isInteger(m.last_id) ? m.last_id : 0;
  room.catchingUp = !resumed;
  if (!resumed && askedSince) {
    // Another epoch, or too far behind: what is shown may clash with the new ids.
    room.view.clear();
    room.view.setNotice(NOTICE);
    room.lastId = 0;
    room.noOlder = false;
  }
  if (typeof m.epoch === 'string') room.epoch = m.epoch;
  room.users = Array.isArray(m.users) ? m.users.filter((u) => typeof u === 'string') : [s.nick];
  if (!room.users.includes(s.nick)) room.users.push(s.nick);
  // After a reload the replay brings only what was missed; fetch what came before it.
  if (resumed && room.view.size === 0 && since > 0) requestOlder(room, since + 1);
  const queued = room.outbox.splice(0);
  for (const text of queued) sendText(room, text);
  if (room === rooms.current) drawRoom();
  drawRooms();
  scheduleSave();
}

// The entry an event is drawn as.
function item(m) {
  const nick = String(m.nick ?? '');
  if (m.type === 'msg') {
    return { kind: s.nick !== null && nick === s.nick ? 'own' : 'other', id: m.id, nick, text: String(m.msg ?? ''), ts: m.ts };
  }
  const text = typeof m.text === 'string' ? m.text : `${nick} ${m.event === 'leave' ? 'left' : 'joined'}`;
  return { kind: 'system', id: m.id, nick, text, ts: m.ts, event: m.event };
}

function onEvent(m) {
  const room = roomOf(m);
  if (!room) return;
  const e = item(m);
  const numbered = Number.isInteger(e.id);
  if (numbered && room.view.has(e.id)) return; // seen already (a replay overlapping what is shown)
  const live = !numbered || e.id > room.liveFrom;
  if (live) room.catchingUp = false;
  const isNew = !room.catchingUp && (!numbered || e.id > room.lastId);
  if (numbered) {
    room.view.addEvents([e]);
    room.lastId = Math.max(room.lastId, e.id);
  } else {
    room.view.addLocal(e.kind, e); // a version 1 server: no ids to order by
  }
  if (m.type === 'system' && live) {
    if (m.event === 'join' && !room.users.includes(e.nick)) room.users.push(e.nick);
    if (m.event === 'leave') room.users = room.users.filter((u) => u !== e.nick);
  }
  if (e.kind === 'own') acknowledge(room, e.text);
  if (e.kind === 'other' && isNew) {
    if (room !== rooms.current) room.unread++;
    noteUnread();
  }
  if (room === rooms.current) drawRoom();
  if (room !== rooms.current || e.kind === 'other') drawRooms();
  scheduleSave();
}

// The server's copy of one of our messages came back: it is no longer pending, and the input is cleared.
function acknowledge(room, text) {
  const i = room.pending.findIndex((p) => p.text === text);
  if (i < 0) return;
  s.refs.delete(room.pending[i].ref);
  room.pending.splice(i, 1);
  if (room === rooms.current && ui.text.value === text) {
    ui.text.value = '';
    autosize();
  } else if (room.draft === text) {
    room.draft = '';
  }
}

function onHistory(m) {
  answered(m.ref);
  const room = roomOf(m);
  if (!room) return;
  room.olderRef = null;
  const events = Array.isArray(m.events) ? m.events.filter((e) => e && (e.type === 'msg' || e.type === 'system')) : [];
  if (m.more === false || events.length === 0) room.noOlder = true;
  room.view.addEvents(events.map(item), () => showOlder(room));
  showOlder(room);
  if (room === rooms.current) drawRoom();
}

function onRoomsList(m) {
  answered(m.ref);
  const list = Array.isArray(m.rooms) ? m.rooms.filter((r) => r && typeof r.room === 'string') : [];
  renderDirectory(ui.directory, list.map((r) => ({ room: r.room, users: Number(r.users) || 0 })), rooms.names(), openRoom);
}

function onError(m) {
  const message = String(m.message || m.code || 'error');
  let req = answered(m.ref);
  if (!req) req = guessRequest(m);
  const room = req ? rooms.get(req.room) : (typeof m.room === 'string' ? rooms.get(m.room) : null);
  switch (req?.kind) {
    case 'join': return joinRefused(req, room, m, message);
    case 'msg':
      if (room) room.pending = room.pending.filter((p) => p.ref !== req.ref);
      break;
    case 'history':
      if (room) {
        room.olderRef = null;
        showOlder(room);
      }
      break;
    case 'rooms':
      ui.directory.replaceChildren(el('li', { class: 'directory-empty' }, message));
      return undefined;
    case 'leave':
      return undefined; // already gone from the page
    default:
      break;
  }
  (room || rooms.current)?.view.addLocal('error', { text: message, code: m.code });
  drawRoom();
  return undefined;
}

// For a server that does not echo `ref`: the request an error most likely answers.
function guessRequest(m) {
  if (!s.claimed && s.claimRef && s.refs.has(s.claimRef)) return answered(s.claimRef);
  const room = typeof m.room === 'string' ? rooms.get(m.room) : rooms.current;
  if (room && room.joinRef && !room.joined) return answered(room.joinRef);
  // Errors answer messages in order: the oldest unanswered one was refused.
  if (room && room.pending.length && m.code !== 'already_joined') return answered(room.pending[0].ref);
  return null;
}

function joinRefused(req, room, m, message) {
  if (room) room.joinRef = null;
  const claim = !s.claimed;
  if (claim) s.claimRef = null;
  const code = m.code;
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
    ui.app.dataset.phase = 'join';
    ui.joinForm.hidden = false;
    ui.sendForm.hidden = true;
    ui.me.hidden = true;
    ui.joinError.textContent = message;
    ui.joinError.hidden = false;
    rooms.current?.view.addLocal('error', { text: message, code });
    drawRoom();
    drawRooms();
    ui.nick.focus();
    ui.nick.select();
    return;
  }
  // This room cannot be joined (its name, a limit): say so and let it go.
  showRoomError(`Cannot join #${req.room}: ${message}`);
  const here = rooms.current && rooms.current !== room ? rooms.current : null;
  here?.view.addLocal('error', { text: message, code });
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
  room.view.mount(ui.slot, ui.jump);
  ui.slot = room.view.list;
  if (prev !== room) {
    ui.text.value = room.draft;
    autosize();
  }
  room.unread = 0;
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
  ui.app.removeAttribute('data-adding');
  ui.roomAdd.setAttribute('aria-expanded', 'false');
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
    const blank = el('ol', { class: 'messages', 'data-testid': 'messages' });
    ui.slot.replaceWith(blank);
    ui.slot = blank;
    history.replaceState(null, '', location.pathname + location.search);
    drawRoom();
  }
  drawRooms();
  scheduleSave();
}

function leaveRoom() {
  const room = rooms.current;
  if (!room) return;
  if (room.joined || room.joinRef) conn.send({ type: 'leave', room: room.name, ref: ref('leave', room.name) });
  dropRoom(room.name);
}

function showRoomError(text) {
  ui.roomError.textContent = text;
  ui.roomError.hidden = false;
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
    showRoomError(text);
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
  drawRoom();
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
  for (const v of st.rooms) {
    if (!validRoom(v.name)) continue;
    addRoom(v.name).restore(v);
  }
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
  ui.status.dataset.state = state;
  ui.status.textContent = label;
  ui.send.disabled = !s.wanted || !rooms.current;
  ui.join.disabled = !!s.claimRef && !s.everJoined;
}

function showOlder(room) {
  room.view.setOlder(!room.noOlder && room.view.oldest !== null && room.view.oldest > 1, room.olderRef !== null);
}

// Draws what belongs to the room shown: header, people, the empty state.
function drawRoom() {
  const room = rooms.current;
  const chatting = ui.app.dataset.phase === 'chat';
  ui.roomHead.hidden = !room || !chatting;
  if (room) {
    ui.roomTitle.textContent = room.name;
    ui.roomCount.textContent = `${room.users.length} online`;
    ui.text.placeholder = `Message #${room.name}`;
    showOlder(room);
  }
  renderUsers(ui.users, ui.count, room && room.joined ? room.users : [], s.nick);
  const hasEntries = !!room && room.view.list.querySelector('.entry') !== null;
  ui.empty.hidden = hasEntries;
  if (!chatting) {
    ui.emptyTitle.textContent = 'Welcome to chatd';
    ui.emptyText.textContent = room && room.name !== DEFAULT_ROOM
      ? `Pick a nickname below to join #${room.name}.` : 'Pick a nickname below to join the conversation.';
  } else if (!room) {
    ui.emptyTitle.textContent = 'You are in no room';
    ui.emptyText.textContent = 'Join one by name, or browse the rooms people are in.';
  } else {
    ui.emptyTitle.textContent = `#${room.name}`;
    ui.emptyText.textContent = room.joined ? 'Nothing said here yet. Say hello!' : 'Joining…';
  }
  setStatus();
}

function drawRooms() {
  renderRooms(ui.rooms, rooms.list, rooms.shown, showRoom);
}

function enterChat() {
  ui.app.dataset.phase = 'chat';
  ui.joinForm.hidden = true;
  ui.sendForm.hidden = false;
  ui.joinError.hidden = true;
  ui.me.hidden = false;
  ui.me.replaceChildren('as ', el('strong', null, s.nick ?? s.wanted));
  ui.hint.textContent = '';
  ui.text.focus();
  drawRoom();
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

function autosize() {
  ui.text.style.height = 'auto';
  ui.text.style.height = `${ui.text.scrollHeight + 2}px`;
  const n = [...ui.text.value].length;
  ui.hint.classList.toggle('over', n > MSG_MAX_CODE_POINTS);
  if (n > MSG_MAX_CODE_POINTS) ui.hint.textContent = `${n} / ${MSG_MAX_CODE_POINTS} characters`;
  else if (ui.hint.textContent.includes(' characters')) ui.hint.textContent = '';
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
  s.everJoined = false;
  ui.joinError.hidden = true;
  // The same person back in a new tab finds their rooms again.
  const placeholder = rooms.current;
  const fromHash = hashRoom();
  const last = restoreRooms(nick.trim());
  let target = validRoom(fromHash) ? fromHash : (last || placeholder?.name || DEFAULT_ROOM);
  if (placeholder && placeholder.name !== target && rooms.list.length > 1 && placeholder.view.size === 0) {
    rooms.remove(placeholder.name);
  }
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
ui.text.addEventListener('input', autosize);
ui.nick.addEventListener('input', () => { ui.joinError.hidden = true; });

ui.roomForm.addEventListener('submit', (ev) => {
  ev.preventDefault();
  const typed = ui.roomName.value;
  const name = roomName(typed);
  if (!validRoom(name)) {
    showRoomError(name === '' ? 'Type the name of a room.' : `“${typed.trim()}” is not a room name: ${ROOM_RULE_TEXT}.`);
    return;
  }
  ui.roomError.hidden = true;
  ui.roomName.value = '';
  openRoom(name);
});
ui.roomName.addEventListener('input', () => { ui.roomError.hidden = true; });

ui.roomAdd.addEventListener('click', () => {
  const open = !ui.app.hasAttribute('data-adding');
  ui.app.toggleAttribute('data-adding', open);
  ui.roomAdd.setAttribute('aria-expanded', String(open));
  if (open) ui.roomName.focus();
});

ui.browse.addEventListener('click', () => {
  const open = ui.directory.hidden;
  ui.directory.hidden = !open;
  ui.browse.setAttribute('aria-expanded', String(open));
  if (!open) return;
  const r = ref('rooms', null);
  if (conn.send({ type: 'rooms', ref: r })) {
    ui.directory.replaceChildren(el('li', { class: 'directory-empty' }, 'Looking…'));
  } else {
    s.refs.delete(r);
    ui.directory.replaceChildren(el('li', { class: 'directory-empty' }, 'Not connected.'));
  }
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
    enterChat();
  } else {
    ui.nick.value = saved.lastNick();
    ui.nick.focus();
  }
  drawRooms();
  connectNow();
}

start();
