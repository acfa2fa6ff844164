// The WebSocket to the chat server and how the page gets back in after losing
// it: reconnecting with growing, jittered delays, and the join that resumes a
// room where this page left it (`since` its last id, in its `epoch`).

const BACKOFF_FIRST_MS = 500; // first reconnect delay; doubles per failed try
const BACKOFF_MAX_MS = 10000;
const BACKOFF_JITTER = 0.3; // +-30%, so a restarted server is not hit by everyone at once
export const HISTORY = 50; // events shown on entering a room, and fetched per "load older"

// Delay before reconnect try number `n` (0-based): exponential, capped, jittered.
export function backoff(n) {
  const base = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** Math.min(n, 16));
  return Math.round(base * (1 - BACKOFF_JITTER + 2 * BACKOFF_JITTER * Math.random()));
}

// The join for `room` ({name, epoch, lastId}) as `nick`: with `since` and
// `epoch` once the page has seen the room, so the server replays only what
// was missed; `history` in case it cannot (then `resumed` is false).
export function joinMessage(room, nick, ref) {
  const m = { type: 'join', room: room.name, nick, history: HISTORY, ref };
  if (room.epoch !== null) {
    m.since = room.lastId;
    m.epoch = room.epoch;
  }
  return m;
}

// One WebSocket at a time to `url`. Messages come to onMessage(object); when
// the socket closes, onClose() runs and a new one is tried after backoff().
// onChange() runs whenever state() may have changed.
export class Connection {
  constructor(url, { onOpen, onMessage, onClose, onChange }) {
    this.url = url;
    this.handlers = { onOpen, onMessage, onClose, onChange };
    this.ws = null;
    this.attempt = 0; // failed tries since the last success
    this.timer = 0; // pending reconnect (or retry) timer
  }

  get open() { return !!this.ws && this.ws.readyState === WebSocket.OPEN; }
  get waiting() { return this.timer !== 0; }

  // 'open', 'connecting' or 'closed', as the socket is.
  state() {
    if (this.open) return 'open';
    if (this.ws && this.ws.readyState === WebSocket.CONNECTING) return 'connecting';
    return 'closed';
  }

  // Opens a socket unless one is open or opening; throws if the URL is unusable.
  connect() {
    clearTimeout(this.timer);
    this.timer = 0;
    if (this.ws) return;
    const ws = new WebSocket(this.url);
    this.ws = ws;
    ws.onopen = () => {
      this.handlers.onChange();
      this.handlers.onOpen();
    };
    ws.onmessage = (ev) => {
      let m;
      try {
        m = JSON.parse(ev.data);
      } catch {
        return; // not ours to show; the server never sends this
      }
      if (m && typeof m === 'object' && !Array.isArray(m)) this.handlers.onMessage(m);
    };
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.ws = null;
      clearTimeout(this.timer); // a pending retry belongs to the connection that just ended
      this.timer = setTimeout(() => this.connectSafely(), backoff(this.attempt++));
      this.handlers.onClose();
      this.handlers.onChange();
    };
    this.handlers.onChange();
  }

  connectSafely() {
    try {
      this.connect();
    } catch {
      this.timer = setTimeout(() => this.connectSafely(), backoff(this.attempt++));
    }
  }

  // The connection did what it is for: the next loss starts again from the shortest delay.
  succeeded() {
    this.attempt = 0;
  }

  // Runs `fn` after the next backoff delay (a join to retry), unless the socket closes first.
  later(fn) {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = 0;
      fn();
      this.handlers.onChange();
    }, backoff(this.attempt++));
  }

  // Sends one message; false when there is no open socket.
  send(obj) {
    if (!this.open) return false;
    this.ws.send(JSON.stringify(obj));
    return true;
  }
}

// The requests on the wire, by the `ref` they carry, so that a reply (above
// all an `error`) is matched to what it answers.
export class Requests {
  constructor() {
    this.map = new Map(); // ref -> {kind, room, ...}
    this.seq = 0;
  }

  // A new ref for a request of `kind` ('join', 'msg', 'history', 'rooms', 'leave') about `room`.
  add(kind, room, extra) {
    const ref = `r${++this.seq}`;
    this.map.set(ref, { kind, room, ...extra });
    return ref;
  }

  // The request `ref` answers, as {ref, kind, room, ...}, forgotten from now on; null if unknown.
  take(ref) {
    if (typeof ref !== 'string' || !this.map.has(ref)) return null;
    const info = this.map.get(ref);
    this.map.delete(ref);
    return { ref, ...info };
  }

  forget(ref) { this.map.delete(ref); }
  has(ref) { return this.map.has(ref); }

  // The socket closed: no answer will come.
  clear() { this.map.clear(); }
}
