#include "chat/engine.h"

#include <algorithm>
#include <cassert>

#include "base/epoch.h"
#include "chat/history_answer.h"
#include "chat/rules.h"

namespace chatd {

namespace {

// A room table holds at most this many rooms per room with members: the
// others are rooms at rest, kept for their history until the table is full.
constexpr size_t kTableRoomsPerOccupied = 2;

std::string_view view(const TextField& f) {
  return f.present ? f.text : std::string_view{};
}

}  // namespace

ChatEngine::ChatEngine(const ChatLimits& limits, HistorySource* source, bool durable_source)
    : limits_(limits),
      source_(source),
      durable_source_(durable_source),
      reader_(limits.max_message) {
  ring_limits_.max_events = std::max<size_t>(limits.max_replay, kMaxHistory);
  ring_limits_.max_bytes = limits.history_memory;
  for (size_t e = 1; e < kChatErrorCount; ++e) error_frames_[e] = encode_error(ChatError(e));
}

Outcome ChatEngine::fail(ChatError e, const ParsedMessage& m) {
  ++counters_.errors;
  std::string_view ref = view(m.ref);
  if (!m.room.present && ref.empty())
    return {error_frames_[size_t(e)], false, {}, {}, false, false, nullptr, 0, 0, {}};
  return {encode_error(e, m.room.present ? &m.room.text : nullptr, ref),
          false,
          {},
          {},
          false,
          false,
          nullptr,
          0,
          0,
          {}};
}

Outcome ChatEngine::on_text(Session& s, MemberId id, const uint8_t* json, size_t len,
                            int64_t mono_ms) {
  ++counters_.messages_in;
  answer_.clear();
  ParsedMessage m = reader_.parse(json, len);
  if (m.error != ChatError::none) return fail(m.error, m);
  switch (m.type) {
    case MsgType::join:
      return join(s, id, m);
    case MsgType::msg:
      return msg(s, id, m, mono_ms);
    case MsgType::leave:
      return leave(s, id, m);
    case MsgType::history:
      return history(s, m, mono_ms);
    case MsgType::rooms:
      return rooms(s, m, mono_ms);
    case MsgType::unknown:
      break;
  }
  return fail(ChatError::bad_type, m);
}

std::string ChatEngine::nick_key(std::string_view nick) {
  std::string k(nick);
  for (char& c : k) {
    if (c >= 'A' && c <= 'Z') c = char(c - 'A' + 'a');
  }
  return k;
}

Outcome ChatEngine::join(Session& s, MemberId id, const ParsedMessage& m) {
  std::string_view name = m.room.present ? m.room.text : kDefaultRoom;
  if (!validate_room(name)) return fail(ChatError::room_invalid, m);
  std::optional<std::string_view> nick;
  if (m.nick.present) {
    nick = validate_nick(m.nick.text);
    if (!nick) return fail(ChatError::nick_invalid, m);
  }
  if (s.p) {
    for (Room* r : s.p->rooms) {
      if (r->name() == name) return fail(ChatError::already_joined, m);
    }
    // A later join may omit the nick; if it gives one it must be the same.
    if (nick && *nick != s.p->nick) return fail(ChatError::bad_field, m);
    if (s.p->rooms.size() >= limits_.max_rooms_per_conn) return fail(ChatError::room_limit, m);
  } else {
    if (!nick) return fail(ChatError::bad_field, m);
    if (nicks_.count(nick_key(*nick))) return fail(ChatError::nick_taken, m);
  }
  Room* room = open_room(name, 0);
  if (!room) return fail(ChatError::room_limit, m);
  if (!s.p) {
    s.p = std::make_unique<Participant>();
    s.p->nick = std::string(*nick);
    nicks_.emplace(nick_key(*nick), NickHold{id, false, make_nick(*nick)});
  }
  hold(s, room);
  ++room->in_flight;
  Outcome out;
  out.has_event = true;
  out.event.room = room;
  out.event.kind = EventKind::join;
  out.event.member = id;
  out.event.nick = s.p->nick;
  JoinAsk& ask = out.event.ask;
  ask.has_since = m.since.present;
  ask.since = m.since.value;
  ask.epoch = view(m.epoch);
  ask.has_history = m.history.present;
  ask.history = m.history.value;
  ask.ref = view(m.ref);
  ask.v1 = !m.room.present && !m.since.present && !m.epoch.present && !m.history.present &&
           !m.ref.present;
  return out;
}

std::string_view ChatEngine::target_room(const Session& s, const ParsedMessage& m) const {
  if (m.room.present) return m.room.text;
  if (s.p && s.p->rooms.size() == 1) return s.p->rooms.front()->name();
  return kDefaultRoom;
}

// True when the room lists the member (its join was applied).
static bool is_member(const Room& r, MemberId id) {
  for (const Member& m : r.members()) {
    if (m.id == id) return true;
  }
  return false;
}

// The room of a request by a member, or null when it is not one.
static Room* listed_room(const Session& s, std::string_view name) {
  if (!s.p) return nullptr;
  for (Room* r : s.p->rooms) {
    if (r->name() == name) return r;
  }
  return nullptr;
}

Outcome ChatEngine::msg(Session& s, MemberId id, const ParsedMessage& m, int64_t mono_ms) {
  std::string_view name = target_room(s, m);
  if (!validate_room(name)) return fail(ChatError::room_invalid, m);
  Room* room = listed_room(s, name);
  if (!room) return fail(ChatError::not_joined, m);
  if (!validate_msg(m.msg.text)) return fail(ChatError::msg_invalid, m);
  if (!s.bucket.take(mono_ms, limits_.rate_per_sec, limits_.burst)) {
    ++counters_.rate_limited;
    return fail(ChatError::rate_limited, m);
  }
  ++room->in_flight;
  Outcome out;
  out.has_event = true;
  out.event = {room, EventKind::msg, id, s.p->nick, m.msg.text, {}};
  out.event.ask.ref = view(m.ref);  // for an `unavailable` reply
  return out;
}

Outcome ChatEngine::leave(Session& s, MemberId id, const ParsedMessage& m) {
  std::string_view name = target_room(s, m);
  if (!validate_room(name)) return fail(ChatError::room_invalid, m);
  Room* room = listed_room(s, name);
  if (!room) return fail(ChatError::not_joined, m);
  Outcome out;
  out.has_event = true;
  out.event = {room, EventKind::leave, id, {}, {}, {}};
  out.event.ask.ref = view(m.ref);
  ++room->in_flight;
  release(*s.p, room);
  // The session keeps its nick while it is in no room: it is held until
  // the connection ends (PROTOCOL.md).
  out.event.nick = s.p->nick;
  return out;
}

Outcome ChatEngine::history(Session& s, const ParsedMessage& m, int64_t mono_ms) {
  std::string_view name = target_room(s, m);
  if (!validate_room(name)) return fail(ChatError::room_invalid, m);
  Room* room = listed_room(s, name);
  if (!room) return fail(ChatError::not_joined, m);
  if (!s.bucket.take(mono_ms, limits_.rate_per_sec, limits_.burst)) {
    ++counters_.rate_limited;
    return fail(ChatError::rate_limited, m);
  }
  ++counters_.history_requests;
  uint64_t before =
      m.before.present ? std::min(m.before.value, room->last_id() + 1) : room->last_id() + 1;
  size_t limit = m.limit.present ? size_t(m.limit.value) : 50;
  if (limits_.shared_rooms) {
    // Older than the ring: the broker reads the page from the room's log.
    uint64_t from = std::max(before > limit ? before - limit : 1, room->oldest_available());
    uint64_t ring_first = room->ring().empty() ? room->last_id() + 1 : room->ring().first_id();
    if (from < before && from < ring_first) {
      Outcome out;
      out.fetch = true;
      out.fetch_room = room;
      out.fetch_from = from;
      out.fetch_before = before;
      out.ref = view(m.ref);
      return out;
    }
  }
  if (!collect(*room, 0, before, limit, replay_)) {
    // The store failed to read: a short page would pass for the whole
    // history (PROTOCOL.md: `unavailable`, the client may retry).
    replay_.clear();
    return fail(ChatError::unavailable, m);
  }
  uint64_t first = replay_.empty() ? before : before - replay_.size();
  bool more = first > room->oldest_available() && first > 1;
  Outcome out;
  history_answer(room->name(), replay_, more, view(m.ref), answer_);
  replay_.clear();
  out.message = answer_;
  return out;
}

Outcome ChatEngine::rooms(Session& s, const ParsedMessage& m, int64_t mono_ms) {
  if (!s.bucket.take(mono_ms, limits_.rate_per_sec, limits_.burst)) {
    ++counters_.rate_limited;
    return fail(ChatError::rate_limited, m);
  }
  Outcome out;
  if (limits_.shared_rooms) {
    out.list_rooms = true;
    out.ref = view(m.ref);
    return out;
  }
  constexpr size_t kMaxListed = 100;
  std::vector<RoomLine> lines;
  for (const auto& [name, room] : rooms_) {
    if (room->size() > 0) lines.push_back({room->name(), room->size(), room->last_id()});
  }
  auto busier = [](const RoomLine& a, const RoomLine& b) {
    return a.users != b.users ? a.users > b.users : a.room < b.room;
  };
  size_t n = std::min(lines.size(), kMaxListed);
  std::partial_sort(lines.begin(), lines.begin() + ptrdiff_t(n), lines.end(), busier);
  lines.resize(n);
  out.reply = encode_rooms(lines, view(m.ref));
  return out;
}

void ChatEngine::on_disconnect(Session& s, MemberId id, std::vector<Proposal>& out) {
  if (!s.p) return;
  for (Room* r : s.p->rooms) {
    ++r->in_flight;
    // The nick's storage goes with the session: the app copies it (as it
    // copies every proposal's views) before the session is reset.
    out.push_back({r, EventKind::leave, id, s.p->nick, {}, {}});
  }
  while (!s.p->rooms.empty()) release(*s.p, s.p->rooms.back());
  nicks_.erase(nick_key(s.p->nick));
  // The Participant itself stays until the app resets the session, since
  // the proposals' nick views point into it.
}

Applied ChatEngine::apply(const NumberedEvent& e, int64_t mono_ms) {
  Room& room = *e.room;
  assert(room.in_flight > 0);
  --room.in_flight;
  room.last_used_ms = mono_ms;
  const bool local_join = e.kind == EventKind::join && e.member != kNoMember;
  NickHold* held = local_join ? hold_of(e.nick, e.member) : nullptr;
  Applied out;
  out.event = room.apply(e, ring_limits_, held ? held->nick : BlockRef());
  ++counters_.events;
  if (e.kind == EventKind::join) ++counters_.memberships;
  if (e.kind == EventKind::leave && counters_.memberships > 0) --counters_.memberships;
  if (local_join) welcome_joined(room, e, e.id - 1, held, out);
  maybe_idle(&room);
  return out;
}

Applied ChatEngine::welcome_admitted(const NumberedEvent& e) {
  Room& room = *e.room;
  assert(room.in_flight > 0);
  --room.in_flight;
  Applied out;
  welcome_joined(room, e, room.last_id(), hold_of(e.nick, e.member), out);
  return out;
}

ChatEngine::NickHold* ChatEngine::hold_of(std::string_view nick, MemberId id) {
  auto it = nicks_.find(nick_key(nick));
  return it != nicks_.end() && it->second.id == id ? &it->second : nullptr;
}

void ChatEngine::welcome_joined(Room& room, const NumberedEvent& e, uint64_t last, NickHold* held,
                                Applied& out) {
  const JoinAsk& ask = e.ask;
  bool resumable = ask.has_since && ask.epoch == room.epoch() && ask.since <= last &&
                   (ask.since == last || room.oldest_available() <= ask.since + 1);
  // From now on the nick is held until the connection ends, whatever
  // becomes of its later joins (see drop()).
  if (held) held->joined = true;
  replay_.clear();
  if (resumable) {
    collect(room, ask.since, last + 1, limits_.max_replay, replay_);
    if (!ask.prefix.empty()) with_prefix(room, ask, last + 1, replay_);
    // Fewer than the missed events (up to max_replay) means the source had
    // a hole: the replay would skip ids, so this is no resume after all.
    if (replay_.size() < std::min<uint64_t>(last - ask.since, limits_.max_replay)) {
      resumable = false;
      replay_.clear();
    }
  }
  if (!resumable && ask.has_history) collect(room, 0, last + 1, size_t(ask.history), replay_);
  out.resumed = resumable;
  out.replay = replay_;
  counters_.replayed += replay_.size();
  out.welcome = encode_welcome(
      {room.name(), e.nick, room.members(), room.epoch(), last, resumable, ask.ref, ask.v1});
}

Applied ChatEngine::apply_external(const NumberedEvent& e, int64_t mono_ms) {
  ++e.room->in_flight;
  return apply(e, mono_ms);
}

void ChatEngine::sync_room(Room* r, std::string_view epoch, uint64_t last_id, uint64_t oldest,
                           std::span<const SyncedMember> members, std::span<const MemberId> joining,
                           std::span<const PastEvent> recent, std::vector<MemberId>* dropped,
                           std::vector<MemberId>* admitted) {
  std::vector<Member> next;
  next.reserve(members.size());
  for (const SyncedMember& m : members) {
    if (m.id != kNoMember) {
      // This node's member keeps its shared nick block, if it still is one.
      auto it = std::find_if(r->members().begin(), r->members().end(),
                             [&](const Member& x) { return x.id == m.id; });
      if (it != r->members().end()) {
        next.push_back(*it);
      } else if (std::find(joining.begin(), joining.end(), m.id) != joining.end()) {
        NickHold* held = hold_of(m.nick, m.id);
        next.push_back(Member{m.id, held ? held->nick : make_nick(m.nick)});
        if (admitted) admitted->push_back(m.id);
      }
      // Any other is a member this node no longer has (a connection gone
      // with its leave on the way): its leave finds no one.
      continue;
    }
    next.push_back(Member{kNoMember, make_nick(m.nick)});
  }
  for (const Member& m : r->members()) {
    if (m.id == kNoMember) continue;
    bool still =
        std::any_of(next.begin(), next.end(), [&](const Member& x) { return x.id == m.id; });
    if (!still && dropped) dropped->push_back(m.id);
  }
  counters_.memberships -= std::min<uint64_t>(counters_.memberships, r->size());
  counters_.memberships += next.size();
  r->restore(epoch, last_id, oldest, std::move(next));
  for (const PastEvent& ev : recent) {
    r->preload(ev.id, encode_event(r->name(), ev.kind, ev.id, ev.ts, ev.nick, ev.text),
               ring_limits_);
  }
  maybe_idle(r);
}

std::optional<Proposal> ChatEngine::rejoin(Session& s, MemberId id, Room* r) {
  if (!s.p || listed_room(s, r->name()) != r) return std::nullopt;
  ++r->in_flight;
  return Proposal{r, EventKind::join, id, s.p->nick, {}, {}};
}

void ChatEngine::drop(const Proposal& p, Session* s) {
  Room* room = p.room;
  assert(room->in_flight > 0);
  --room->in_flight;
  room->sequenced_id = room->last_id();
  if (s && s->p) {
    if (p.kind == EventKind::join) {
      if (listed_room(*s, room->name())) release(*s->p, room);
      // A connection left in no room by a join that never happened holds no
      // nick: it may try again with any. Not so once one of its joins was
      // applied: PROTOCOL.md holds the nick until the connection ends.
      auto held = nicks_.find(nick_key(s->p->nick));
      if (s->p->rooms.empty() && held != nicks_.end() && !held->second.joined) {
        nicks_.erase(held);
        s->p.reset();
      }
    } else if (p.kind == EventKind::leave && !listed_room(*s, room->name()) &&
               is_member(*room, p.member)) {
      // The leave did not happen: still a member. Unless its join failed in
      // the same batch, when it never was one.
      hold(*s, room);
    }
  }
  maybe_idle(room);
}

void ChatEngine::load_room(std::string_view name, std::string_view epoch, uint64_t last_id,
                           uint64_t oldest_id, std::span<const PastEvent> recent) {
  auto room = std::make_unique<Room>(name, epoch, last_id,
                                     durable_source_ ? std::max<uint64_t>(oldest_id, 1) : 0);
  for (const PastEvent& ev : recent) {
    room->preload(ev.id, encode_event(name, ev.kind, ev.id, ev.ts, ev.nick, ev.text), ring_limits_);
  }
  rooms_[std::string(name)] = std::move(room);
}

std::unique_ptr<Room> ChatEngine::read_back_room(std::string_view name) {
  PastRoom past;
  if (!source_ || !source_->head(name, &past)) return nullptr;
  auto room = std::make_unique<Room>(name, past.epoch, past.last_id,
                                     durable_source_ ? std::max<uint64_t>(past.first_id, 1) : 0);
  // A failed read preloads fewer events: collect() reads the rest when asked.
  std::vector<PastEvent> recent;
  (void)source_->read(name, 0, past.last_id + 1, ring_limits_.max_events, &recent);
  for (const PastEvent& ev : recent) {
    room->preload(ev.id, encode_event(name, ev.kind, ev.id, ev.ts, ev.nick, ev.text), ring_limits_);
  }
  return room;
}

Room* ChatEngine::find_room(std::string_view name) const {
  auto it = rooms_.find(name);
  return it == rooms_.end() ? nullptr : it->second.get();
}

Room* ChatEngine::open_room(std::string_view name, int64_t mono_ms) {
  Room* room = find_room(name);
  if (room && room->holders > 0) return room;
  if (occupied_ >= limits_.max_rooms) return nullptr;
  if (room) return room;
  size_t cap = std::max<size_t>(limits_.max_rooms, 1) * kTableRoomsPerOccupied;
  if (rooms_.size() >= cap && !evict_one_empty_room()) return nullptr;
  // A room the store still has keeps its epoch and ids; else it is new.
  std::unique_ptr<Room> fresh = read_back_room(name);
  // With a durable source every event of a new room is stored from id 1
  // on, so history and resume reach past its ring.
  if (!fresh) fresh = std::make_unique<Room>(name, new_epoch(), 0, durable_source_ ? 1 : 0);
  fresh->last_used_ms = mono_ms;
  room = fresh.get();
  rooms_.emplace(std::string(name), std::move(fresh));
  return room;
}

void ChatEngine::hold(Session& s, Room* r) {
  s.p->rooms.push_back(r);
  if (r->holders++ == 0) ++occupied_;
}

void ChatEngine::release(Participant& p, Room* r) {
  auto it = std::find(p.rooms.begin(), p.rooms.end(), r);
  assert(it != p.rooms.end());
  p.rooms.erase(it);
  if (--r->holders == 0) --occupied_;
}

// A room with nobody in it and nothing on the way is dropped from memory as
// soon as its history is safe elsewhere (a durable store), and read back
// when someone joins it again. With the memory store its ring is its only
// history, so it stays until the table is full. Freeing waits for
// sweep_rooms(): the caller of apply() still uses the room.
bool ChatEngine::in_use(const Room& r) const {
  if (r.holders || r.in_flight) return true;
  if (limits_.shared_rooms) return r.local_members() > 0;
  return r.size() > 0 || (!durable_source_ && !r.ring().empty());
}

void ChatEngine::maybe_idle(Room* r) {
  if (!in_use(*r)) idle_.emplace_back(r->name());
}

void ChatEngine::sweep_rooms(std::vector<std::string>* freed) {
  for (std::string& name : idle_) {
    auto it = rooms_.find(name);
    if (it == rooms_.end() || in_use(*it->second)) continue;
    rooms_.erase(it);
    if (freed) freed->push_back(std::move(name));
  }
  idle_.clear();
}

bool ChatEngine::evict_one_empty_room() {
  auto victim = rooms_.end();
  for (auto it = rooms_.begin(); it != rooms_.end(); ++it) {
    const Room& r = *it->second;
    if (r.holders || r.in_flight || r.size()) continue;
    if (limits_.shared_rooms) continue;  // freed at once by sweep_rooms()
    if (victim == rooms_.end() || r.last_used_ms < victim->second->last_used_ms) victim = it;
  }
  if (victim == rooms_.end()) return false;
  rooms_.erase(victim);
  return true;
}

std::string ChatEngine::new_epoch() {
  return make_epoch(limits_.epoch_seed, ++epochs_made_);
}

bool ChatEngine::collect(const Room& r, uint64_t after, uint64_t before, size_t limit,
                         std::vector<BlockRef>& out) {
  out.clear();
  if (before <= after + 1 || limit == 0) return true;
  uint64_t from = std::max(after + 1, before > limit ? before - limit : 1);
  from = std::max(from, r.oldest_available());
  if (from >= before) return true;
  const EventRing& ring = r.ring();
  // Clamped to `before`: a page older than the whole ring is read from the
  // source alone.
  uint64_t ring_from = ring.empty() ? before : std::clamp(ring.first_id(), from, before);
  bool ok = true;
  if (from < ring_from && source_) {
    past_.clear();
    ok = source_->read(r.name(), from - 1, ring_from, ring_from - from, &past_);
    for (const PastEvent& ev : past_) {
      out.push_back(encode_event(r.name(), ev.kind, ev.id, ev.ts, ev.nick, ev.text));
    }
    past_.clear();
    // Only a run that reaches the ring is usable: a hole would be a gap.
    if (!ok || out.size() != ring_from - from) out.clear();
  }
  for (uint64_t id = ring_from; id < before && ring.holds(id); ++id) out.push_back(ring.at(id));
  return ok;
}

void ChatEngine::with_prefix(const Room& r, const JoinAsk& ask, uint64_t before,
                             std::vector<BlockRef>& out) {
  uint64_t from =
      std::max(ask.since + 1, before > limits_.max_replay ? before - limits_.max_replay : 1);
  if (from >= before || out.size() == before - from) return;  // the ring had it all
  out.clear();
  const EventRing& ring = r.ring();
  for (uint64_t id = from; id < before; ++id) {
    if (ring.holds(id)) {
      out.push_back(ring.at(id));
    } else if (id >= ask.prefix_first && id - ask.prefix_first < ask.prefix.size()) {
      out.push_back(ask.prefix[id - ask.prefix_first]);
    } else {
      break;  // a hole: no resume (the caller sees the short replay)
    }
  }
}

size_t ChatEngine::rooms_memory_bytes() const {
  size_t total = 0;
  for (const auto& [name, room] : rooms_) total += room->memory_bytes() + name.capacity();
  return total;
}

}  // namespace chatd
