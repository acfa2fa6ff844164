// The rooms this person is in: their order, which one is shown, and per room
// what resuming needs (epoch, last id), its members and its unread count;
// and how a welcome, an event or a history answer changes a room (ids in
// order and once, live events changing the members, a lost epoch clearing
// what is shown). No DOM here but the RoomView each room owns.
import { RoomView } from './render.js';

const ROOM_RULE = /^[a-z0-9_-]{1,64}$/; // PROTOCOL.md: 1 to 64 of a-z 0-9 - _
export const DEFAULT_ROOM = 'general';
export const ROOM_RULE_TEXT = 'a room name is 1 to 64 characters of a-z, 0-9, - and _';
const NOTICE = 'The server could not resume this room where you left it: older messages may be missing. ' +
  'Its recent history was loaded afresh.';

// The entry an event (msg or system) is drawn as, for the person whose nick is `self`.
export function entryOf(m, self) {
  const nick = String(m.nick ?? '');
  if (m.type === 'msg') {
    return { kind: self !== null && nick === self ? 'own' : 'other', id: m.id, nick, text: String(m.msg ?? ''), ts: m.ts };
  }
  const text = typeof m.text === 'string' ? m.text : `${nick} ${m.event === 'leave' ? 'left' : 'joined'}`;
  return { kind: 'system', id: m.id, nick, text, ts: m.ts, event: m.event };
}

// What a person typed as a room name, as the name to ask for: surrounding
// white space and a leading '#' dropped, letters lower-cased ("#Dev " -> "dev").
export function roomName(typed) {
  return String(typed).trim().replace(/^#/, '').toLowerCase();
}

// True when `name` passes the server's room rule.
export function validRoom(name) {
  return typeof name === 'string' && ROOM_RULE.test(name);
}

// One room: its conversation and what the page knows of it.
export class Room {
  constructor(name, onOlder) {
    this.name = name;
    this.view = new RoomView(name, onOlder);
    this.epoch = null; // the server's name for this room's id sequence, once welcomed
    this.lastId = 0; // newest event id received
    this.unread = 0;
    this.firstUnread = null; // id of the oldest unread message, while unread > 0
    this.users = [];
    this.joined = false; // welcomed on the current connection
    this.joinRef = null; // ref of the join on the wire, unanswered
    this.liveFrom = Infinity; // events above this id are live (they change the users list)
    this.catchingUp = false; // a fresh replay (resumed: false) is arriving: not new to the reader
    this.resumedFrom = null; // after resumed: true, until the first event: the `since` it resumed from
    this.fill = false; // resumed into an empty view (a reload): fetch history once the replay is in
    this.noOlder = false; // the server said there is no older history (`more: false`)
    this.olderRef = null; // ref of the history request on the wire
    this.pending = []; // {text, ref} sent here, oldest first, whose server copy has not come back
    this.outbox = []; // texts typed while the join was under way, sent once welcomed
    this.draft = ''; // the composer's text while another room is shown
  }

  // What is kept across reloads.
  saved() {
    return { name: this.name, epoch: this.epoch, lastId: this.lastId, unread: this.unread };
  }

  // Takes back what saved() gave.
  restore(v) {
    if (typeof v.epoch === 'string') this.epoch = v.epoch;
    if (Number.isInteger(v.lastId) && v.lastId >= 0) this.lastId = v.lastId;
    if (Number.isInteger(v.unread) && v.unread >= 0) this.unread = v.unread;
  }

  // Forgets what this connection knew (the socket closed).
  disconnected() {
    this.joined = false;
    this.joinRef = null;
    this.olderRef = null;
    this.pending = [];
    this.showOlder();
  }

  // Takes in the server's welcome `m` for `self`.
  welcomed(m, self) {
    const askedSince = this.epoch !== null; // joinMessage asked to resume
    const since = this.lastId;
    const resumed = m.resumed === true;
    this.joined = true;
    this.joinRef = null;
    this.liveFrom = Number.isInteger(m.last_id) ? m.last_id : 0;
    this.catchingUp = !resumed;
    this.resumedFrom = resumed ? since : null;
    this.fill = resumed && this.view.size === 0;
    if (!resumed && askedSince) {
      // Another epoch, or too far behind: what is shown may clash with the new ids.
      this.view.clear();
      this.view.setNotice(NOTICE);
      this.lastId = 0;
      this.noOlder = false;
    }
    if (typeof m.epoch === 'string') this.epoch = m.epoch;
    this.users = Array.isArray(m.users) ? m.users.filter((u) => typeof u === 'string') : [self];
    if (!this.users.includes(self)) this.users.push(self);
  }

  // Takes in an event `m` (msg or system). Returns null when it is shown
  // already, else {entry, isNew, fill}: isNew when the reader has not seen it
  // before (not history, not a fresh replay after a lost epoch); fill when
  // the replay is in and the view, resumed empty, wants the history before it.
  applyEvent(m, self) {
    const e = entryOf(m, self);
    const numbered = Number.isInteger(e.id);
    if (numbered && this.view.has(e.id)) return null; // a replay overlapping what is shown
    const live = !numbered || e.id > this.liveFrom;
    if (live) this.catchingUp = false;
    if (numbered && this.resumedFrom !== null) {
      // More was missed than the server replays (--max-replay): it sent the
      // newest, so the replay starts past a gap. Drop what is shown before the
      // gap; "load older" brings the history back without a hole.
      if (e.id > this.resumedFrom + 1 && this.view.size > 0) {
        this.view.clear();
        this.noOlder = false;
      }
      this.resumedFrom = null;
    }
    const isNew = !this.catchingUp && (!numbered || e.id > this.lastId);
    if (numbered) {
      this.view.addEvents([e]);
      this.lastId = Math.max(this.lastId, e.id);
    } else {
      this.view.addLocal(e.kind, e); // a version 1 server: no ids to order by
    }
    // Joins and leaves of the replay happened before the welcome's users list.
    if (m.type === 'system' && live) {
      if (m.event === 'join' && !this.users.includes(e.nick)) this.users.push(e.nick);
      if (m.event === 'leave') this.users = this.users.filter((u) => u !== e.nick);
    }
    const fill = live && this.fill;
    if (live) this.fill = false;
    return { entry: e, isNew, fill };
  }

  // Takes in a `history` answer: older events put in above, in place.
  applyHistory(m, self) {
    this.olderRef = null;
    const events = Array.isArray(m.events) ? m.events.filter((e) => e && (e.type === 'msg' || e.type === 'system')) : [];
    if (m.more === false || events.length === 0) this.noOlder = true;
    this.view.addEvents(events.map((e) => entryOf(e, self)), () => this.showOlder());
    this.showOlder();
  }

  // Whether older history can be asked for: not when the server said there
  // is none, nor when the oldest id shown is the room's first.
  get hasOlder() {
    return !this.noOlder && this.view.oldest !== null && this.view.oldest > 1;
  }

  showOlder() {
    this.view.setOlder(this.hasOlder, this.olderRef !== null);
  }
}

// The ordered set of rooms and the one shown.
export class Rooms {
  constructor() {
    this.list = [];
    this.shown = null; // name of the room shown
  }

  get(name) { return this.list.find((r) => r.name === name) || null; }
  has(name) { return this.get(name) !== null; }
  get current() { return this.get(this.shown); }
  get size() { return this.list.length; }
  names() { return new Set(this.list.map((r) => r.name)); }

  // The room a server message is about: its `room`, or for a server that
  // names none (version 1), the only room, else general. Null if not ours.
  about(m) {
    if (typeof m.room === 'string') return this.get(m.room);
    return this.list.length === 1 ? this.list[0] : this.get(DEFAULT_ROOM);
  }

  // The room `name`, added at the end if new.
  add(name, onOlder) {
    let r = this.get(name);
    if (!r) {
      r = new Room(name, onOlder);
      this.list.push(r);
    }
    return r;
  }

  // Removes `name`; returns the room to show instead (its neighbour) or null.
  remove(name) {
    const i = this.list.findIndex((r) => r.name === name);
    if (i < 0) return this.current;
    this.list.splice(i, 1);
    if (this.shown === name) this.shown = null;
    return this.current || this.list[Math.min(i, this.list.length - 1)] || null;
  }
}
