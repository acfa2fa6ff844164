// The chat phase of a WebSocket: requests into the engine, events numbered
// and stored, and once the turn's commit succeeds, applied and fanned out.
#include "app/server.h"
#include "base/clock.h"
#include "base/log.h"

namespace chatd {

// At start each room the store holds gets its head and newest events into
// its ring, up to kPreloadRooms rooms (the most recently created first):
// replay and history then work at once after a restart. The others are
// read back when first joined.
void Server::load_rooms() {
  constexpr size_t kPreloadRooms = 1000;
  std::vector<RoomHead> heads = store_->heads();
  size_t from = heads.size() > kPreloadRooms ? heads.size() - kPreloadRooms : 0;
  size_t ring_events = std::max<size_t>(config_.max_replay, kMaxHistory);
  for (size_t i = from; i < heads.size(); ++i) {
    const RoomHead& h = heads[i];
    // A failed read (logged and counted by the store) loads fewer events
    // into the ring: the rest is read again when asked for.
    std::vector<PastEvent> recent;
    (void)history_.read(h.room, 0, h.last_id + 1, ring_events, &recent);
    engine_.load_room(h.room, h.epoch, h.last_id, h.first_id, recent);
  }
  if (!heads.empty()) {
    log_line("store: %zu rooms, %zu loaded into memory", heads.size(), heads.size() - from);
  }
  update_chat_gauges();
}

void Server::handle_text(Connection& c, const uint8_t* data, size_t len) {
  ++metrics_.messages_in;
  Outcome out = engine_.on_text(c.session, token_of(c), data, len, mono_ms());
  if (out.reply) send_direct(c, std::move(out.reply));
  if (!out.message.empty()) send_direct(c, out.message);
  if (out.list_rooms) list_rooms(c, out.ref);
  if (out.fetch) read_page(c, out);
  if (out.has_event) submit(out.event, &c);
}

// Numbers p and adds it to the turn's batch: nothing of it is stored or
// sent before finish_turn().
void Server::submit(const Proposal& p, Connection* origin) {
  if (broker_) return cluster_submit(p, origin, false);
  NumberedEvent e = sequencer_.number(p, wall_ms());
  TurnBatch::Target t;
  if (origin) {
    t = target_of(*origin);
    ++origin->batched;
  }
  batch_.add_event(e, t);
}

// A reply for c alone, in order behind c's events still in the batch.
void Server::send_direct(Connection& c, BlockRef frame) {
  if (c.batched == 0) return enqueue(c, std::move(frame));
  ++c.batched;
  batch_.add_frame(std::move(frame), target_of(c));
}

void Server::send_direct(Connection& c, std::span<const BlockSlice> message) {
  if (c.batched == 0) return enqueue_message(c, message);
  ++c.batched;
  batch_.add_message(message, target_of(c));
}

// The connection's chat ends (close, reset, timeout, drop): one leave event
// per room it was in.
void Server::end_chat(Connection& c) {
  leaving_.clear();
  engine_.on_disconnect(c.session, token_of(c), leaving_);
  if (broker_) {
    for (const Proposal& p : leaving_) cluster_submit(p, &c, true);
    if (c.session.p && !stopping_) release_nick(c.session.p->nick, token_of(c));
  } else {
    for (const Proposal& p : leaving_) submit(p, &c);
  }
  c.session = Session{};
  update_chat_gauges();
}

// Before the flush: commit the turn's events, deliver them, and close the
// members that fell too far behind, whose leave events make another round.
// While the store refuses writes, what is left waits for the next turn.
void Server::finish_turn() {
  if (!retry_leaves_.empty()) {
    std::vector<std::pair<Room*, Member>> owed;
    owed.swap(retry_leaves_);
    for (auto& [room, leaver] : owed) {
      submit({room, EventKind::leave, leaver.id, leaver.nick(), {}, {}}, nullptr);
    }
  }
  while (!batch_.empty() || !overflowed_.empty()) {
    commit_turn();
    settle_overflows();
    if (!store_ok_ || committing_) break;  // the rest waits for the store
  }
}

// Stores the batch's events in one transaction, then delivers the batch.
// With --fsync the writer thread commits it meanwhile, and
// on_commits_done() delivers it; what arrives in the meantime waits in
// batch_ for the next commit (a group commit), one batch in flight at most.
void Server::commit_turn() {
  if (batch_.empty() || committing_) return;
  bool events = false;
  for (size_t i = 0; i < batch_.size(); ++i) {
    TurnBatch::Item item = batch_.item(i);
    if (!item.is_event) continue;
    const Room& room = *item.event.room;
    store_->append(to_record(item.event, room.name(), room.epoch()));
    events = true;
  }
  std::string error;
  bool stored = !events || store_->commit(&error);
  if (events && stored && store_->completion_fd() >= 0) {
    std::swap(in_flight_, batch_);
    committing_ = true;
    return;
  }
  if (events) note_commit(stored, error);
  // Delivering may close connections (backlog), which adds to batch_:
  // those entries go to the next round, after this one.
  TurnBatch turn;
  std::swap(turn, batch_);
  delivered(turn, stored);
  if (batch_.empty()) std::swap(turn, batch_);  // keep the capacity
}

void Server::on_commits_done() {
  commits_done_.clear();
  store_->take_done(&commits_done_);
  for (const BatchDone& d : commits_done_) {
    if (!committing_) break;  // one batch is in flight at a time
    committing_ = false;
    note_commit(d.ok, d.error);
    TurnBatch turn;
    std::swap(turn, in_flight_);
    delivered(turn, d.ok);
    std::swap(turn, in_flight_);  // keep the capacity
  }
}

void Server::note_commit(bool stored, const std::string& error) {
  if (!stored) {
    ++metrics_.store_errors;
    if (store_ok_) log_line("store: %s; refusing events until writes succeed", error.c_str());
  } else if (!store_ok_) {
    log_line("store: writes succeed again");
  }
  store_ok_ = stored;
}

// Delivers a batch the store took (or refused) and leaves it empty. After a
// refusal the events numbered behind it in batch_ get their ids again, from
// the rooms' last applied ids, so ids stay gap-free.
void Server::delivered(TurnBatch& turn, bool stored) {
  for (size_t i = 0; i < turn.size(); ++i) deliver(turn.item(i), stored);
  fan_out_run();
  turn.clear();
  if (!stored) batch_.renumber();
  engine_.sweep_rooms();
  update_chat_gauges();
}

// One entry of a committed (or refused) batch, in order.
void Server::deliver(const TurnBatch::Item& item, bool stored) {
  Connection* c = target(item.target);
  if (c) --c->batched;
  const bool plain_msg = item.is_event && stored && item.event.kind == EventKind::msg;
  if (!plain_msg) fan_out_run();  // whatever follows a run goes after it, as it was numbered
  if (!item.is_event) {
    if (c && item.frame) enqueue(*c, item.frame);
    if (c && !item.message.empty()) enqueue_message(*c, item.message);
    return;
  }
  const NumberedEvent& e = item.event;
  if (!stored) {
    Proposal p{e.room, e.kind, e.member, e.nick, e.text, e.ask};
    if (e.kind == EventKind::leave && (!c || c->phase != Phase::websocket)) {
      // A leave is owed whatever the store says: numbered again later (its
      // proposal stays in flight, so the room stays).
      e.room->sequenced_id = e.room->last_id();
      retry_leaves_.push_back({e.room, Member{e.member, make_nick(e.nick)}});
      return;
    }
    engine_.drop(p, c ? &c->session : nullptr);
    if (c && c->phase == Phase::websocket) {
      ++metrics_.unavailable;
      std::string_view room = e.room->name();
      enqueue(*c, encode_error(ChatError::unavailable, &room, e.ask.ref));
    }
    return;
  }
  Applied a = engine_.apply(e, mono_ms());
  send_applied(e, c, a);
}

void Server::send_applied(const NumberedEvent& e, Connection* c, Applied& a) {
  if (stopping_) return;  // everyone is leaving: no n^2 leave events
  if (e.kind == EventKind::msg) return add_to_run(*e.room, std::move(a.event));
  fan_out_run();  // whatever follows a run goes after it, as it was numbered
  bool to_origin = c && c->phase == Phase::websocket;
  if (a.welcome && to_origin) send_welcome(*c, a);
  fan_out(*e.room, {&a.event, 1});
  // A leave asked for is sent to the leaver too, who is no member any more.
  if (e.kind == EventKind::leave && to_origin) {
    enqueue(*c, a.event);
    ++metrics_.events_out;
  }
}

// A joiner's welcome, then its replay (PROTOCOL.md order, before its join event).
void Server::send_welcome(Connection& c, Applied& a) {
  enqueue(c, std::move(a.welcome));
  for (const BlockRef& b : a.replay) enqueue(c, b);
  metrics_.replayed_events += a.replay.size();
}

// One reference to each framed block for every local member: no copy and
// no allocation per recipient (the queue's slot array is kept between
// turns). A closing member still gets what precedes its own leave event,
// which comes before its close frame; a member whose connection is gone
// (its leave is on the way) gets nothing, even if its slot is in use again.
void Server::fan_out(const Room& room, std::span<const BlockRef> events) {
  for (const Member& m : room.members()) {
    if (m.id == kNoMember) continue;
    Connection& c = slot(uint32_t(m.id));
    if (c.phase == Phase::free || token_of(c) != m.id) continue;
    enqueue_run(c, events);
    metrics_.events_out += events.size();
  }
}

// A msg changes no member list, so the msgs of one room that follow each
// other in a batch (all of a busy room's turn, typically) reach the same
// members: they are fanned out together, member by member, each member's
// connection and queue touched once per run instead of once per event. Each
// member gets them in the same order as one fan-out per event would give.
void Server::add_to_run(const Room& room, BlockRef event) {
  if (&room != run_room_) fan_out_run();
  run_room_ = &room;
  run_.push_back(std::move(event));
}

void Server::fan_out_run() {
  if (run_.empty()) return;
  fan_out(*run_room_, run_);
  run_.clear();
  run_room_ = nullptr;
}

// Members whose unsent output passed --max-backlog during a fan-out are
// dropped after it, never in the middle of iterating a room. Their leave
// events may push others over the limit: finish_turn() works until none are.
void Server::settle_overflows() {
  while (!overflowed_.empty()) {
    Connection& c = slot(overflowed_.back());
    overflowed_.pop_back();
    c.over_backlog = false;
    if (c.phase != Phase::websocket) continue;
    ++metrics_.slow_consumers_dropped;
    close_websocket(c, 1008, "slow consumer");
  }
}

Connection* Server::target(TurnBatch::Target t) {
  if (t.fd == UINT32_MAX || t.fd >= conns_.size()) return nullptr;
  Connection& c = slot(t.fd);
  if (c.phase == Phase::free || c.generation != t.generation) return nullptr;
  return &c;
}

void Server::update_chat_gauges() {
  metrics_.joined_users = engine_.participants();
  metrics_.rooms = engine_.room_count();
  metrics_.rooms_occupied = engine_.occupied_rooms();
  metrics_.memberships = engine_.counters().memberships;
  metrics_.history_requests = engine_.counters().history_requests;
  metrics_.store_ok = store_ok_;
}

}  // namespace chatd
