// Rendering for the chat page: one conversation list per room (entries kept in
// id order, day separators, runs of one person grouped), the rooms list, the
// users list and the room directory. Text from people only ever becomes text
// nodes (textContent), never markup.

const MAX_ENTRIES = 3000; // oldest entries leave a followed list past this, so a long session stays light
const NEAR_BOTTOM_PX = 48; // "at the bottom" for following, forgiving sub-pixel rounding
const NEAR_TOP_PX = 80; // scrolled this close to the top: fetch older history
const GROUP_GAP_MS = 10 * 60 * 1000; // a pause this long starts a new group even for one person

// Creates an element with attributes and, if given, text content.
export function el(tag, attrs, text) {
  const node = document.createElement(tag);
  if (attrs) for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

// A stable hue (0-359, as a string) for a nick, so each person keeps a colour.
function hue(nick) {
  let h = 0;
  for (const ch of nick) h = (h * 31 + ch.codePointAt(0)) % 360;
  return String(h);
}

const pad2 = (n) => String(n).padStart(2, '0');

// The local calendar day of a Date as YYYY-MM-DD.
function dayKey(d) {
  return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())}`;
}

// "Today", "Yesterday" or a written-out date for the day separator.
function dayLabel(d) {
  const today = new Date();
  const yesterday = new Date(today.getFullYear(), today.getMonth(), today.getDate() - 1);
  if (dayKey(d) === dayKey(today)) return 'Today';
  if (dayKey(d) === dayKey(yesterday)) return 'Yesterday';
  const opts = { weekday: 'long', day: 'numeric', month: 'long' };
  if (d.getFullYear() !== today.getFullYear()) opts.year = 'numeric';
  return d.toLocaleDateString(undefined, opts);
}

// <time datetime="ISO">HH:MM</time> for a Date.
function timeEl(d) {
  const t = el('time', { datetime: d.toISOString() }, `${pad2(d.getHours())}:${pad2(d.getMinutes())}`);
  t.title = d.toLocaleString();
  return t;
}

const isEntry = (node) => node.dataset.testid === 'message';
const isTalk = (node) => node.dataset.kind === 'own' || node.dataset.kind === 'other';

// Builds one entry; kind is own|other (e.nick, e.text) or system|error (e.text);
// e.ts in ms (now when absent), e.id the event id when it is an event.
function entryEl(kind, e) {
  const d = new Date(Number.isFinite(e.ts) ? e.ts : Date.now());
  const li = el('li', { 'data-testid': 'message', 'data-kind': kind, class: 'entry' });
  li.dataset.day = dayKey(d);
  li.dataset.ms = String(d.getTime());
  if (e.id !== undefined) li.dataset.id = String(e.id);
  if (e.event) li.dataset.event = String(e.event);
  if (e.code) li.dataset.code = String(e.code);
  const body = el('div', { 'data-testid': 'body', class: 'body' }, e.text);
  if (kind === 'own' || kind === 'other') {
    li.dataset.nick = e.nick;
    const from = el('span', { 'data-testid': 'from', class: 'from' }, e.nick);
    from.style.setProperty('--hue', hue(e.nick));
    const meta = el('div', { class: 'meta' });
    meta.append(from, timeEl(d));
    const bubble = el('div', { class: 'bubble' });
    bubble.title = d.toLocaleString();
    bubble.append(meta, body);
    li.append(bubble);
  } else {
    li.append(body, timeEl(d));
  }
  return li;
}

// The conversation of one room: a list element of its own that the page
// mounts while the room is shown. Event entries stay in id order with no id
// twice; local entries (errors) stay where they were added. The list follows
// new entries unless the person has scrolled up, and keeps their place when
// older history is put in above them.
export class RoomView {
  // onOlder: called when the person asks for older history (the control, or scrolling near the top).
  constructor(name, onOlder) {
    this.list = el('ol', { class: 'messages', 'data-testid': 'messages', 'aria-live': 'polite' });
    this.list.setAttribute('aria-label', `Conversation in #${name}`);
    this.head = el('li', { class: 'list-head' }); // stays in view at the top while there is older history
    this.older = el('button', { type: 'button', class: 'older', 'data-testid': 'load-older' }, 'Load older messages');
    this.older.hidden = true;
    this.older.addEventListener('click', onOlder);
    this.head.append(this.older);
    this.list.append(this.head);
    this.ids = []; // event ids shown, ascending
    this.byId = new Map(); // id -> entry element
    this.stick = true;
    this.top = 0; // scrollTop while unmounted
    this.seenTop = 0; // scrollTop as last seen or set here: a scroll above it is the reader's
    this.jump = null;
    this.list.addEventListener('scroll', () => {
      if (!this.list.isConnected) return;
      this.stick = this.atBottom();
      if (this.stick && this.jump) this.jump.hidden = true;
      // Only the reader scrolls up: the list's own moves (following, keeping
      // the place) go down or stay, and on a slow device one can land near
      // the top while the first entries come in, which asked for nothing.
      const top = this.list.scrollTop;
      const up = top < this.seenTop;
      this.seenTop = top;
      if (up && top <= NEAR_TOP_PX && this.list.scrollHeight > this.list.clientHeight) onOlder();
    }, { passive: true });
    if (window.ResizeObserver) {
      // A growing input or a phone keyboard shrinks the list; keep following if we were.
      new ResizeObserver(() => { if (this.stick && this.list.isConnected) this.toBottom(); }).observe(this.list);
    }
  }

  // Puts this list in place of `slot` (the list shown so far), with `jump` as its "new messages" button.
  mount(slot, jump) {
    this.jump = jump;
    if (slot !== this.list) slot.replaceWith(this.list);
    jump.hidden = true;
    if (this.stick) this.toBottom();
    else this.scrollTo(this.top);
  }

  // Remembers the scroll place before the list leaves the page.
  unmount() {
    this.top = this.list.scrollTop;
  }

  get size() { return this.ids.length; }
  get oldest() { return this.ids.length ? this.ids[0] : null; }
  get newest() { return this.ids.length ? this.ids[this.ids.length - 1] : null; }
  has(id) { return this.byId.has(id); }

  atBottom() {
    const box = this.list;
    return box.scrollHeight - box.scrollTop - box.clientHeight <= NEAR_BOTTOM_PX;
  }

  // Sets scrollTop, remembered as the list's own move, not the reader's.
  scrollTo(top) {
    this.list.scrollTop = top;
    this.seenTop = this.list.scrollTop;
  }

  toBottom() {
    this.scrollTo(this.list.scrollHeight);
    this.stick = true;
    if (this.jump) this.jump.hidden = true;
  }

  // Shows or hides the "load older" control; `busy` while a request is out.
  setOlder(more, busy) {
    this.older.hidden = !more;
    this.older.disabled = !!busy;
    this.older.textContent = busy ? 'Loading…' : 'Load older messages';
  }

  // The note that older messages may be missing, right below the head of the list.
  setNotice(text) {
    let note = this.list.querySelector('.notice-item');
    if (!text) {
      note?.remove();
      return;
    }
    if (!note) {
      note = el('li', { class: 'notice-item' });
      note.append(el('p', { class: 'notice', 'data-testid': 'notice', role: 'status' }));
      this.head.after(note);
    }
    note.firstChild.textContent = text;
  }

  // Marks where the unread part begins: a "New" line above the entry of `id`
  // (none when null or not shown).
  markNew(id) {
    this.list.querySelector('.new-marker')?.remove();
    const li = id === null ? null : this.byId.get(id);
    if (!li) return;
    let at = li;
    if (at.previousElementSibling?.classList.contains('day')) at = at.previousElementSibling;
    at.before(el('li', { class: 'new-marker', role: 'separator' }, 'New'));
  }

  // Removes every entry and the notice (a history that is loaded afresh).
  clear() {
    while (this.head.nextSibling) this.head.nextSibling.remove();
    this.ids = [];
    this.byId.clear();
  }

  // Puts event entries in: items of {kind, id, ...} as for entryEl. Ids
  // already shown are skipped. `settle`, if given, runs after they are in and
  // before the place is kept (to show or hide the head). Returns how many were added.
  addEvents(items, settle) {
    const keep = this.keepPlace();
    let added = 0;
    let inside = false; // something went above the newest entry: redraw the separators
    for (const e of items) {
      if (!Number.isInteger(e.id) || this.byId.has(e.id)) continue;
      const li = entryEl(e.kind, e);
      const at = this.slot(e.id);
      if (at === this.ids.length) {
        this.list.append(li);
        if (!inside) this.decorateLast(li);
      } else {
        this.byId.get(this.ids[at]).before(li);
        inside = true;
      }
      this.ids.splice(at, 0, e.id);
      this.byId.set(e.id, li);
      added++;
    }
    if (inside) this.decorate();
    if (added) this.trim();
    if (settle) settle();
    keep(added > 0, inside);
    return added;
  }

  // Adds an entry that is not an event (an error), after everything shown.
  addLocal(kind, e) {
    const keep = this.keepPlace();
    const li = entryEl(kind, e);
    this.list.append(li);
    this.decorateLast(li);
    keep(true);
  }

  // Index in `ids` where `id` belongs (binary search).
  slot(id) {
    let lo = 0;
    let hi = this.ids.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.ids[mid] < id) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  // Before a change: returns a function that, after it, follows the bottom
  // when the list was following, or else keeps what the reader sees in place:
  // when entries went in above (`above`), the first text in view is put back
  // where it was; entries appended below leave the view be and show the
  // "new messages" button.
  keepPlace() {
    const box = this.list;
    const shown = box.isConnected;
    let anchor = null;
    let offset = 0;
    if (shown && !this.stick) {
      const boxTop = box.getBoundingClientRect().top;
      for (const body of box.querySelectorAll('[data-testid="body"]')) {
        const r = body.getBoundingClientRect();
        if (r.bottom > boxTop) {
          anchor = body;
          offset = r.top - boxTop;
          break;
        }
      }
    }
    return (changed, above = false) => {
      if (!changed || !shown) return;
      if (this.stick) {
        this.toBottom();
      } else if (above && anchor && anchor.isConnected) {
        this.scrollTo(box.scrollTop + anchor.getBoundingClientRect().top - box.getBoundingClientRect().top - offset);
      } else if (!above && this.jump) {
        this.jump.hidden = false;
      }
    };
  }

  // Sets the day separator and grouping of `li`, just appended, from the entry before it.
  decorateLast(li) {
    let prev = li.previousElementSibling;
    while (prev && !isEntry(prev) && prev !== this.head) prev = prev.previousElementSibling;
    if (prev === this.head) prev = null;
    this.link(prev, li);
  }

  // Redraws every day separator and group in the list.
  decorate() {
    for (const sep of this.list.querySelectorAll('.day, .new-marker')) sep.remove();
    let prev = null;
    for (let node = this.head.nextElementSibling; node; node = node.nextElementSibling) {
      if (!isEntry(node)) continue;
      this.link(prev, node);
      prev = node;
    }
  }

  // A day separator before `li` when its day differs from `prev`'s; `li`
  // joins `prev`'s group when both are messages of one person close in time.
  link(prev, li) {
    if (!prev || prev.dataset.day !== li.dataset.day) {
      const d = new Date(Number(li.dataset.ms));
      const sep = el('li', { class: 'day', role: 'separator' });
      sep.append(el('time', { datetime: li.dataset.day }, dayLabel(d)));
      li.before(sep);
      prev = null;
    }
    const cont = !!prev && isTalk(li) && isTalk(prev) && prev.dataset.kind === li.dataset.kind &&
      prev.dataset.nick === li.dataset.nick && Number(li.dataset.ms) - Number(prev.dataset.ms) < GROUP_GAP_MS;
    li.classList.toggle('cont', cont);
  }

  // Keeps a followed list from growing without end: drops the oldest entries.
  trim() {
    if (!this.stick || this.ids.length <= MAX_ENTRIES) return;
    while (this.ids.length > MAX_ENTRIES) {
      const id = this.ids.shift();
      const li = this.byId.get(id);
      this.byId.delete(id);
      while (this.head.nextSibling && this.head.nextSibling !== li) this.head.nextSibling.remove();
      li.remove();
    }
    this.decorate();
  }
}

// Replaces the users list: one item per nick, its text exactly the nick, `self` marked data-self.
export function renderUsers(list, count, users, self) {
  const items = users.map((nick) => {
    const li = el('li', { 'data-testid': 'user' }, nick);
    if (nick === self) li.setAttribute('data-self', '');
    li.style.setProperty('--hue', hue(nick));
    return li;
  });
  list.replaceChildren(...items);
  count.textContent = String(users.length);
}

// Replaces the rooms list: rooms of {name, unread, joined}, `shown` marked
// data-active; `pick(name)` is called when one is chosen.
export function renderRooms(list, rooms, shown, pick) {
  const items = rooms.map((r) => {
    const li = el('li', { 'data-testid': 'room', 'data-room': r.name, class: 'room' });
    if (r.name === shown) li.setAttribute('data-active', '');
    if (!r.joined) li.dataset.waiting = '';
    const button = el('button', { type: 'button', class: 'room-button' });
    if (r.name === shown) button.setAttribute('aria-current', 'page');
    button.append(el('span', { class: 'hash', 'aria-hidden': 'true' }, '#'), el('span', { class: 'room-label' }, r.name));
    if (r.unread > 0) {
      const n = el('span', { 'data-testid': 'unread', class: 'unread' }, String(r.unread));
      n.title = `${r.unread} unread`;
      button.append(n);
    }
    button.addEventListener('click', () => pick(r.name));
    li.append(button);
    return li;
  });
  list.replaceChildren(...items);
}

// Replaces the room directory: rooms of {room, users} from the server, those
// in `mine` marked; `pick(name)` joins or shows one.
export function renderDirectory(list, rooms, mine, pick) {
  if (rooms.length === 0) {
    list.replaceChildren(el('li', { class: 'directory-empty' }, 'No rooms with people in them yet.'));
    return;
  }
  const items = rooms.map((r) => {
    const li = el('li', { 'data-testid': 'directory-room', 'data-room': r.room });
    const button = el('button', { type: 'button', class: 'directory-button' });
    const people = `${r.users} ${r.users === 1 ? 'person' : 'people'}`;
    button.append(el('span', { class: 'room-label' }, `#${r.room}`), el('span', { class: 'members' }, people));
    if (mine.has(r.room)) li.dataset.mine = '';
    button.addEventListener('click', () => pick(r.room));
    li.append(button);
    return li;
  });
  list.replaceChildren(...items);
}
