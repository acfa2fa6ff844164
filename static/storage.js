// What survives a reload: this tab's nick (sessionStorage, so two tabs with
// different nicks keep theirs) and, per nick (localStorage, so a reload or a
// new tab of the same person finds them), the rooms with each one's epoch,
// last id and unread count, and the room shown. Nicks are unique without
// regard to ASCII case, so the key lower-cases them. Storage that is off or
// full is not an error: the page just forgets.

const TAB_NICK = 'chatd.tab-nick';
const LAST_NICK = 'chatd.last-nick';
const perNick = (nick) => `chatd.nick.${nick.toLowerCase()}`;

function read(store, key) {
  try {
    return store.getItem(key);
  } catch {
    return null;
  }
}

function write(store, key, value) {
  try {
    if (value === null) store.removeItem(key);
    else store.setItem(key, value);
  } catch {
    // private mode or over quota: nothing to keep
  }
}

// The nick this tab chats as, or null when it has none yet.
export function tabNick() {
  return read(sessionStorage, TAB_NICK);
}

// Remembers (or, with null, forgets) the nick this tab chats as; the last one is also kept to prefill a new tab.
export function setTabNick(nick) {
  write(sessionStorage, TAB_NICK, nick);
  if (nick !== null) write(localStorage, LAST_NICK, nick);
}

// The nick last used in any tab, to prefill the form ('' if none).
export function lastNick() {
  return read(localStorage, LAST_NICK) || '';
}

// {rooms: [{name, epoch, lastId, unread}], shown} saved for `nick`, or null.
export function loadState(nick) {
  const raw = read(localStorage, perNick(nick));
  if (!raw) return null;
  try {
    const v = JSON.parse(raw);
    if (!v || !Array.isArray(v.rooms)) return null;
    return { rooms: v.rooms.filter((r) => r && typeof r.name === 'string'), shown: typeof v.shown === 'string' ? v.shown : null };
  } catch {
    return null;
  }
}

// Saves `state` (as loadState returns it) for `nick`.
export function saveState(nick, state) {
  write(localStorage, perNick(nick), JSON.stringify(state));
}
