// Rendering for the chat page: conversation entries, the users list, and the
// scroll behaviour of the conversation. Text from people only ever becomes
// text nodes (textContent), never markup.

const MAX_ENTRIES = 2000; // oldest entries leave the page past this, so a long session stays light
const NEAR_BOTTOM_PX = 48; // "at the bottom" for following, forgiving sub-pixel rounding

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

// <time datetime="ISO">HH:MM</time> for a server timestamp in ms (now when absent).
function timeEl(ts) {
  const d = new Date(Number.isFinite(ts) ? ts : Date.now());
  const t = el('time', { datetime: d.toISOString() });
  t.textContent = `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
  t.title = d.toLocaleString();
  return t;
}

// The conversation list: appends entries and follows them unless the person
// has scrolled up, in which case `jump` offers the way back down.
export class Conversation {
  constructor(list, empty, jump) {
    this.list = list;
    this.empty = empty;
    this.jump = jump;
    this.stick = true;
    this.lastFrom = null; // consecutive messages of one person are drawn as a group
    list.addEventListener('scroll', () => {
      this.stick = this.atBottom();
      if (this.stick) jump.hidden = true;
    }, { passive: true });
    jump.addEventListener('click', () => this.toBottom());
    // A growing input or a phone keyboard shrinks the list; keep following if we were.
    if (window.ResizeObserver) new ResizeObserver(() => { if (this.stick) this.toBottom(); }).observe(list);
  }

  atBottom() {
    const box = this.list;
    return box.scrollHeight - box.scrollTop - box.clientHeight <= NEAR_BOTTOM_PX;
  }

  toBottom() {
    this.list.scrollTop = this.list.scrollHeight;
    this.stick = true;
    this.jump.hidden = true;
  }

  append(node) {
    this.list.append(node);
    this.empty.hidden = true;
    while (this.list.childElementCount > MAX_ENTRIES) this.list.firstElementChild.remove();
    if (this.stick) this.toBottom();
    else this.jump.hidden = false;
  }

  // Adds one entry; kind is own|other (e.nick, e.text) or system|error (e.text); e.ts in ms.
  add(kind, e) {
    const li = el('li', { 'data-testid': 'message', 'data-kind': kind, class: 'entry' });
    if (e.id !== undefined) li.dataset.id = String(e.id);
    if (e.event) li.dataset.event = String(e.event);
    if (e.code) li.dataset.code = String(e.code);
    const body = el('div', { 'data-testid': 'body', class: 'body' }, e.text);
    if (kind === 'own' || kind === 'other') {
      const from = el('span', { 'data-testid': 'from', class: 'from' }, e.nick);
      from.style.setProperty('--hue', hue(e.nick));
      const meta = el('div', { class: 'meta' });
      meta.append(from, timeEl(e.ts));
      const bubble = el('div', { class: 'bubble' });
      bubble.append(meta, body);
      li.append(bubble);
      const who = `${kind}:${e.nick}`;
      if (this.lastFrom === who) li.classList.add('cont');
      this.lastFrom = who;
    } else {
      li.append(body, timeEl(e.ts));
      this.lastFrom = null;
    }
    this.append(li);
  }

  // A quiet separator that is not an entry (no data-testid), e.g. "Reconnected".
  divider(text) {
    this.append(el('li', { class: 'divider', role: 'separator' }, text));
    this.lastFrom = null;
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
