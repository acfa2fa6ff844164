// The page's fixed parts, drawn from state handed in: the status pill, the
// join and send forms, the room header, the empty state, the rooms and users
// lists, and the slot where the shown room's conversation goes.
import { el, renderUsers, renderRooms } from './render.js';
import { DEFAULT_ROOM } from './rooms.js';

const MSG_MAX_CODE_POINTS = 2000; // PROTOCOL.md msg limit, only used to warn while typing

const $ = (id) => document.getElementById(id);
export const ui = {
  app: $('app'), status: $('status'), me: $('me'), users: $('users'), count: $('user-count'),
  slot: $('messages'), empty: $('empty'), emptyTitle: $('empty-title'), emptyText: $('empty-text'), jump: $('jump'),
  joinForm: $('join-form'), nick: $('nick'), join: $('join'), joinError: $('join-error'),
  sendForm: $('send-form'), text: $('text'), send: $('send'), hint: $('send-hint'),
  rooms: $('rooms'), roomForm: $('room-form'), roomName: $('room-name'),
  roomError: $('room-error'), browse: $('browse'), directory: $('directory'),
  roomHead: $('room-head'), roomTitle: $('room-title'), roomCount: $('room-count'), leave: $('room-leave'),
};

export const chatting = () => ui.app.dataset.phase === 'chat';

// The connection pill: state is connecting|open|closed (data-state), label its words.
export function drawStatus(state, label) {
  ui.status.dataset.state = state;
  ui.status.textContent = label;
}

// Switches to the conversation, as `nick`.
export function showChat(nick) {
  ui.app.dataset.phase = 'chat';
  ui.joinForm.hidden = true;
  ui.sendForm.hidden = false;
  ui.joinError.hidden = true;
  ui.me.hidden = false;
  ui.me.replaceChildren('as ', el('strong', null, nick));
  ui.hint.textContent = '';
  ui.text.focus();
}

// Back to the nickname form, saying why (the server's message).
export function showJoinForm(message) {
  ui.app.dataset.phase = 'join';
  ui.joinForm.hidden = false;
  ui.sendForm.hidden = true;
  ui.me.hidden = true;
  ui.joinError.textContent = message;
  ui.joinError.hidden = false;
  ui.nick.focus();
  ui.nick.select();
}

export function showRoomError(text) {
  ui.roomError.textContent = text;
  ui.roomError.hidden = false;
}

// Puts `room`'s conversation in the slot (or an empty list when null).
export function mount(room) {
  if (room) {
    room.view.mount(ui.slot, ui.jump);
    ui.slot = room.view.list;
    return;
  }
  const blank = el('ol', { class: 'messages', 'data-testid': 'messages' });
  ui.slot.replaceWith(blank);
  ui.slot = blank;
  ui.jump.hidden = true;
}

// Draws what belongs to the room shown (`room`, or null): header, people, the empty state.
export function drawRoom(room, self) {
  const inChat = chatting();
  ui.roomHead.hidden = !room || !inChat;
  if (!room) ui.text.placeholder = 'Join a room to talk';
  if (room) {
    ui.roomTitle.textContent = room.name;
    ui.roomCount.textContent = `${room.users.length} online`;
    ui.text.placeholder = `Message #${room.name}`;
    room.showOlder();
  }
  renderUsers(ui.users, ui.count, room && room.joined ? room.users : [], self);
  ui.empty.hidden = !!room && room.view.list.querySelector('.entry') !== null;
  if (!inChat) {
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
}

export function drawRooms(rooms, pick) {
  renderRooms(ui.rooms, rooms.list, rooms.shown, pick);
}

// Sets the message input's text (a room's draft), sized to fit.
export function setText(text) {
  ui.text.value = text;
  autosize();
}

// Grows the input with its text, and warns past the server's length limit.
export function autosize() {
  ui.text.style.height = 'auto';
  ui.text.style.height = `${ui.text.scrollHeight + 2}px`;
  const n = [...ui.text.value].length;
  ui.hint.classList.toggle('over', n > MSG_MAX_CODE_POINTS);
  if (n > MSG_MAX_CODE_POINTS) ui.hint.textContent = `${n} / ${MSG_MAX_CODE_POINTS} characters`;
  else if (ui.hint.textContent.includes(' characters')) ui.hint.textContent = '';
}
