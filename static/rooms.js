// The rooms this person is in: their order, which one is shown, and per room
// what resuming needs (epoch, last id), its members and its unread count.
// No DOM here but the RoomView each room owns.
import { RoomView } from './render.js';

const ROOM_RULE = /^[a-z0-9_-]{1,64}$/; // PROTOCOL.md: 1 to 64 of a-z 0-9 - _
export const DEFAULT_ROOM = 'general';

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
    this.users = [];
    this.joined = false; // welcomed on the current connection
    this.joinRef = null; // ref of the join on the wire, unanswered
    this.liveFrom = Infinity; // events above this id are live (they change the users list)
    this.catchingUp = false; // a fresh replay (resumed: false) is arriving: not new to the reader
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
