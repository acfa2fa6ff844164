// chatd web client: one WebSocket speaking the chat protocol, the state of
// this person in the room, and the forms. Rendering lives in view.js.
import { Conversation, renderUsers as drawUsers, el } from './view.js';

const BACKOFF_FIRST_MS = 500; // first reconnect delay; doubles per failed try
const BACKOFF_MAX_MS = 10000;
const BACKOFF_JITTER = 0.3; // +-30%, so a restarted server is not hit by everyone at once
const MSG_MAX_CODE_POINTS = 2000; // PROTOCOL.md msg limit, only used to warn while typing
const BASE_TITLE = document.title;

const $ = (id) => document.getElementById(id);
const ui = {
  app: $('app'), status: $('status'), me: $('me'), users: $('users'), count: $('user-count'),
  messages: $('messages'), empty: $('empty'), jump: $('jump'),
  joinForm: $('join-form'), nick: $('nick'), join: $('join'), joinError: $('join-error'),
  sendForm: $('send-form'), text: $('text'), send: $('send'), hint: $('send-hint'),
};

const s = {
  ws: null,
  wanted: null, // nick the person asked for; set while they mean to be in the room
  nick: null, // nick as the server stored it, once joined
  joined: false, // this connection has been welcomed
  joinSent: false, // a join is on the wire, unanswered
  everJoined: false, // a refused join is a rejoin (retry) rather than a first try (show it)
  pending: [], // texts sent, oldest first, whose server copy has not come back
  outbox: [], // texts typed while a rejoin was under way, sent once welcomed
  users: [],
  attempt: 0,
  timer: 0,
  unread: 0,
};
const conv = new Conversation(ui.messages, ui.empty, ui.jump);
const addEntry = (kind, e) => conv.add(kind, e);
const addDivider = (text) => conv.divider(text);
const renderUsers = () => drawUsers(ui.users, ui.count, s.users, s.nick);

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

// Delay before reconnect try number `n` (0-based): exponential, capped, jittered.
function backoff(n) {
  const base = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** Math.min(n, 16));
  return Math.round(base * (1 - BACKOFF_JITTER + 2 * BACKOFF_JITTER * Math.random()));
}

function setStatus() {
  const ws = s.ws;
  let state = 'closed';
  let label = 'Offline';
  if (ws && ws.readyState === WebSocket.OPEN) {
    if (s.everJoined && s.wanted && !s.joined) {
      state = 'connecting'; // connected again, but not back in the room yet
      label = 'Rejoining…';
    } else {
      state = 'open';
      label = s.joined ? 'Connected' : 'Ready';
    }
  } else if (ws && ws.readyState === WebSocket.CONNECTING) {
    state = 'connecting';
    label = 'Connecting…';
  } else if (s.timer) {
    label = 'Offline · retrying';
  }
  ui.status.dataset.state = state;
  ui.status.textContent = label;
  ui.send.disabled = !s.wanted;
}

function connect() {
  clearTimeout(s.timer);
  s.timer = 0;
  if (s.ws) return;
  let ws;
  try {
    ws = new WebSocket(serverUrl());
  } catch (e) {
    addError(`Cannot reach the chat server: ${e.message}`);
    return;
  }
  s.ws = ws;
  ws.onopen = () => {
    if (!s.wanted) s.attempt = 0;
    setStatus();
    if (s.wanted) sendJoin();
  };
  ws.onmessage = (ev) => {
    let m;
    try {
      m = JSON.parse(ev.data);
    } catch {
      return; // not ours to show; the server never sends this
    }
    if (m && typeof m === 'object') handle(m);
  };
  ws.onclose = () => {
    if (s.ws !== ws) return;
    s.ws = null;
    const wasJoined = s.joined;
    s.joined = false;
    s.joinSent = false;
    s.pending = []; // their fate is unknown; the text stays in the input
    if (wasJoined) addDivider('Connection lost');
    clearTimeout(s.timer); // a pending join retry belongs to the connection that just ended
    s.timer = setTimeout(connect, backoff(s.attempt++));
    setStatus();
  };
  setStatus();
}

function sendJson(obj) {
  if (!s.ws || s.ws.readyState !== WebSocket.OPEN) return false;
  s.ws.send(JSON.stringify(obj));
  return true;
}

function sendJoin() {
  if (s.joined || s.joinSent || !s.wanted) return;
  s.joinSent = sendJson({ type: 'join', nick: s.wanted });
  ui.join.disabled = s.joinSent;
}

function handle(m) {
  switch (m.type) {
    case 'welcome': return onWelcome(m);
    case 'msg': return onMsg(m);
    case 'system': return onSystem(m);
    case 'error': return onError(m);
    default: return undefined; // newer servers may say more; ignore
  }
}

function onWelcome(m) {
  const rejoin = s.everJoined;
  s.joined = true;
  s.joinSent = false;
  s.everJoined = true;
  s.attempt = 0;
  s.nick = typeof m.nick === 'string' ? m.nick : s.wanted;
  s.wanted = s.nick;
  s.users = Array.isArray(m.users) ? m.users.filter((u) => typeof u === 'string') : [s.nick];
  if (!s.users.includes(s.nick)) s.users.push(s.nick);
  renderUsers();
  ui.app.dataset.phase = 'chat';
  ui.joinForm.hidden = true;
  ui.sendForm.hidden = false;
  ui.joinError.hidden = true;
  ui.me.hidden = false;
  ui.me.replaceChildren('as ', el('strong', null, s.nick));
  ui.hint.textContent = '';
  if (rejoin) addDivider('Reconnected');
  else ui.text.focus();
  setStatus();
  const queued = s.outbox.splice(0);
  for (const text of queued) sendText(text);
}

function onMsg(m) {
  const nick = String(m.nick ?? '');
  const text = String(m.msg ?? '');
  const own = s.nick !== null && nick === s.nick;
  if (own) {
    const i = s.pending.indexOf(text);
    if (i >= 0) {
      s.pending.splice(i, 1);
      if (ui.text.value === text) {
        ui.text.value = '';
        autosize();
      }
    }
  }
  addEntry(own ? 'own' : 'other', { nick, text, ts: m.ts, id: m.id });
  if (!own) noteUnread();
}

function onSystem(m) {
  const nick = String(m.nick ?? '');
  const text = typeof m.text === 'string' ? m.text : `${nick} ${m.event === 'leave' ? 'left' : 'joined'}`;
  if (m.event === 'join' && !s.users.includes(nick)) s.users.push(nick);
  if (m.event === 'leave') s.users = s.users.filter((u) => u !== nick);
  renderUsers();
  addEntry('system', { text, ts: m.ts, id: m.id, event: m.event });
}

function onError(m) {
  const message = String(m.message || m.code || 'error');
  if (!s.joined && s.joinSent) {
    s.joinSent = false;
    if (s.everJoined && m.code === 'nick_taken') {
      // Our old connection may not have timed out yet: try the same nick again later.
      clearTimeout(s.timer);
      s.timer = setTimeout(() => { s.timer = 0; sendJoin(); }, backoff(s.attempt++));
      setStatus();
      return;
    }
    s.wanted = null;
    s.everJoined = false;
    s.outbox = [];
    ui.app.dataset.phase = 'join';
    ui.joinForm.hidden = false;
    ui.sendForm.hidden = true;
    ui.me.hidden = true;
    ui.join.disabled = false;
    ui.joinError.textContent = message;
    ui.joinError.hidden = false;
    addEntry('error', { text: message, code: m.code });
    ui.nick.focus();
    ui.nick.select();
    setStatus();
    return;
  }
  // Errors answer our messages in order: the oldest unanswered one was refused.
  if (s.joined && m.code !== 'already_joined') s.pending.shift();
  addEntry('error', { text: message, code: m.code });
}

function addError(text) {
  addEntry('error', { text });
}

function noteUnread() {
  if (!document.hidden) return;
  s.unread++;
  document.title = `(${s.unread}) ${BASE_TITLE}`;
}

function sendText(text) {
  if (s.joined && sendJson({ type: 'msg', msg: text })) {
    s.pending.push(text);
    return true;
  }
  return false;
}

function submitMessage() {
  const text = ui.text.value;
  if (text === '' || !s.wanted) return;
  if (sendText(text)) {
    ui.hint.textContent = '';
  } else if (s.ws && s.ws.readyState === WebSocket.OPEN && s.joinSent) {
    s.outbox.push(text); // a rejoin is answering right now; send right after it
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

ui.joinForm.addEventListener('submit', (ev) => {
  ev.preventDefault();
  if (s.joinSent) return;
  s.wanted = ui.nick.value;
  s.everJoined = false;
  ui.joinError.hidden = true;
  if (!s.ws) connect();
  else sendJoin();
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

// The status pill doubles as "retry now" while offline.
ui.status.addEventListener('click', () => { if (!s.ws) connect(); });
window.addEventListener('online', () => { if (!s.ws) connect(); });

document.addEventListener('visibilitychange', () => {
  if (document.hidden) return;
  s.unread = 0;
  document.title = BASE_TITLE;
});

connect();
ui.nick.focus();
