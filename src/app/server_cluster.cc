// Several nodes, one service (docs/CLUSTER.md): with --redis the broker
// numbers every event instead of this node. A proposal waits here, as a
// PendingEvent, until its event comes back on its room's channel; then it is
// applied and fanned out exactly like a stored event on one node
// (send_applied). Events of other nodes take the same path without a
// proposal. Nothing is stored on this node: the rooms' logs are in Redis.
#include <unistd.h>

#include <algorithm>

#include "app/server.h"
#include "base/clock.h"
#include "base/log.h"
#include "chat/errors.h"
#include "chat/history_answer.h"
#include "chat/json_writer.h"

namespace chatd {

namespace {

constexpr uint64_t kRedisCommandToken = ~uint64_t{0} - 3;
constexpr uint64_t kRedisSubscriptionToken = ~uint64_t{0} - 4;
// Proposals waiting for Redis, all rooms together: past it, `unavailable`.
constexpr size_t kMaxPending = 65536;
// A leave owed by a connection that is gone is tried again this often
// after Redis refused it with an error (not a lost connection).
constexpr uint8_t kMaxLeaveAttempts = 5;

// An event's kind as it travels through Redis (cluster/event_body.h).
char event_kind_code(EventKind k) {
  return k == EventKind::join ? 'j' : k == EventKind::leave ? 'l' : 'm';
}

EventKind event_kind(char code) {
  return code == 'j' ? EventKind::join : code == 'l' ? EventKind::leave : EventKind::msg;
}

std::string generated_node_id() {
  char host[64] = {};
  if (gethostname(host, sizeof host - 1) != 0 || !host[0]) snprintf(host, sizeof host, "node");
  for (char* p = host; *p; ++p) {
    if (*p == ' ') *p = '-';
  }
  uint64_t r = 0;
  (void)getentropy(&r, sizeof r);
  char id[128];
  snprintf(id, sizeof id, "%s-%d-%04x", host, int(getpid()), unsigned(r & 0xffff));
  return id;
}

}  // namespace

bool Server::is_broker_token(uint64_t token) {
  return token == kRedisCommandToken || token == kRedisSubscriptionToken;
}

void Server::start_broker() {
  BrokerOptions o;
  o.url = config_.redis;
  o.node_id = config_.node_id.empty() ? generated_node_id() : config_.node_id;
  o.node_timeout_ms = int64_t(config_.node_timeout_s) * 1000;
  o.retain_events = config_.retain_events;
  o.snapshot_events = std::max<uint32_t>(config_.max_replay, kMaxHistory);
  uint64_t seed = 0;
  (void)getentropy(&seed, sizeof seed);
  o.seed = seed | 1;
  BrokerHooks h;
  h.app = this;
  h.synced = [](void* s, const RoomSnapshot& r) { static_cast<Server*>(s)->on_broker_synced(r); };
  h.event = [](void* s, std::string_view room, const FeedEvent& e) {
    static_cast<Server*>(s)->on_broker_event(room, e);
  };
  h.live = [](void* s, std::string_view room) { static_cast<Server*>(s)->on_broker_live(room); };
  h.published = [](void* s, uint64_t cookie, PublishStatus st, uint64_t id) {
    static_cast<Server*>(s)->on_broker_published(cookie, st, id);
  };
  h.rooms = [](void* s, uint64_t cookie, std::span<const ListedRoom> rooms, bool ok) {
    static_cast<Server*>(s)->on_broker_rooms(cookie, rooms, ok);
  };
  h.page = [](void* s, uint64_t cookie, std::string_view epoch, uint64_t oldest,
              std::span<const FeedEvent> events, bool ok) {
    static_cast<Server*>(s)->on_broker_page(cookie, epoch, oldest, events, ok);
  };
  h.health = [](void* s, bool up) { static_cast<Server*>(s)->on_broker_health(up); };
  h.reaped = [](void* s) { static_cast<Server*>(s)->on_broker_reaped(); };
  log_line("cluster: node %s, redis %s, node timeout %u s", o.node_id.c_str(),
           redis_url_for_log(config_.redis).c_str(), config_.node_timeout_s);
  broker_ =
      std::make_unique<Broker>(loop_, kRedisCommandToken, kRedisSubscriptionToken, std::move(o), h);
  broker_->start();
}

// After the broker handed over a read's worth of events: the runs go out,
// and rooms nobody here is in any more are let go.
void Server::after_broker() {
  fan_out_run();
  settle_overflows();
  freed_rooms_.clear();
  engine_.sweep_rooms(&freed_rooms_);
  for (const std::string& room : freed_rooms_) broker_->unwatch(room);
  freed_rooms_.clear();
  update_chat_gauges();
}

// A proposal waits for its event. `owed`: a leave of a connection that is
// ending; it is kept until Redis takes it, so the member leaves exactly once.
void Server::cluster_submit(const Proposal& p, Connection* origin, bool owed) {
  if (stopping_) return;  // the node's farewell (bye) lets every member go at once
  std::string_view room = p.room->name();
  if (!owed && (!broker_->ready() || pending_.size() >= kMaxPending)) {
    engine_.drop(p, origin ? &origin->session : nullptr);
    ++metrics_.unavailable;
    if (origin && origin->phase == Phase::websocket)
      enqueue(*origin, encode_error(ChatError::unavailable, &room, p.ask.ref));
    return;
  }
  uint64_t cookie = next_cookie_++;
  PendingEvent& pe = pending_[cookie];
  pe.room = p.room;
  pe.kind = p.kind;
  pe.member = p.member;
  pe.nick = std::string(p.nick);
  pe.text = std::string(p.text);
  pe.epoch = std::string(p.ask.epoch);
  pe.ref = std::string(p.ask.ref);
  pe.ask = p.ask;
  pe.ask.epoch = {};
  pe.ask.ref = {};
  if (origin) pe.target = target_of(*origin);
  pe.owed = owed;
  if (!broker_->live(room)) return broker_->watch(room);  // published by on_broker_live
  if (read_resume_prefix(cookie, pe)) return;
  // Behind a resume still reading, a proposal waits its turn (its sender's
  // msg must not overtake its join). Reads are rare: with none under way
  // (prefix_asks_ empty) a msg goes without walking the pending table.
  if (!prefix_asks_.empty()) {
    for (const auto& [c, other] : pending_) {
      if (c < cookie && other.room == pe.room && other.state == PendingEvent::State::reading)
        return;
    }
  }
  publish_pending(cookie, pe);
}

bool Server::read_resume_prefix(uint64_t cookie, PendingEvent& pe) {
  const Room& room = *pe.room;
  const JoinAsk& ask = pe.ask;
  if (pe.kind != EventKind::join || !ask.has_since || pe.epoch != room.epoch() ||
      ask.since >= room.last_id() || !pe.prefix.empty() || room.oldest_available() > ask.since + 1)
    return false;
  uint64_t next = room.last_id() + 1;
  uint64_t from =
      std::max(ask.since + 1, next > config_.max_replay ? next - config_.max_replay : 1);
  uint64_t ring_first = room.ring().empty() ? next : room.ring().first_id();
  if (from >= ring_first) return false;
  // Up to the newest event, not only to the ring's start: applying the join
  // may push the ring's oldest out.
  uint64_t page = next_cookie_++;
  if (broker_->read_page(room.name(), from, next, page) != SendResult::sent) return false;
  prefix_asks_[page] = cookie;
  pe.state = PendingEvent::State::reading;
  return true;
}

void Server::on_resume_prefix(uint64_t cookie, std::span<const FeedEvent> events, bool ok) {
  auto it = pending_.find(cookie);
  if (it == pending_.end()) return;
  PendingEvent& pe = it->second;
  pe.state = PendingEvent::State::waiting;
  // A failed read leaves the resume to the ring: resumed false if it falls short.
  if (ok && !events.empty()) {
    pe.prefix_first = events.front().id;
    for (const FeedEvent& e : events) {
      pe.prefix.push_back(encode_event(pe.room->name(), event_kind(e.body.kind), e.id, e.body.ts,
                                       e.body.nick, e.body.text));
    }
  }
  publish_waiting(pe.room->name());
}

void Server::publish_pending(uint64_t cookie, PendingEvent& pe) {
  BrokerProposal bp;
  bp.room = pe.room->name();
  bp.epoch = pe.room->epoch();
  std::string key = ChatEngine::nick_key(pe.nick);
  bp.nick_key = key;
  bp.token = pe.member;
  bp.body.kind = event_kind_code(pe.kind);
  bp.body.ts = wall_ms();
  bp.body.nick = pe.nick;
  bp.body.text = pe.text;
  if (broker_->publish(bp, cookie) == SendResult::sent) {
    pe.state = PendingEvent::State::sent;
  } else if (pe.owed) {
    pe.state = PendingEvent::State::waiting;
  } else {
    fail_pending(cookie, ChatError::unavailable);
  }
}

// The proposal will not be numbered: undone, and its sender told why (none
// for a leave that is not needed any more).
void Server::fail_pending(uint64_t cookie, std::optional<ChatError> error) {
  auto it = pending_.find(cookie);
  if (it == pending_.end()) return;
  PendingEvent& pe = it->second;
  JoinAsk ask = ask_of(pe);
  ask.prefix = {};
  Proposal p{pe.room, pe.kind, pe.member, pe.nick, pe.text, ask};
  Connection* c = target(pe.target);
  engine_.drop(p, c ? &c->session : nullptr);
  if (error && c && c->phase == Phase::websocket) {
    if (*error == ChatError::unavailable) ++metrics_.unavailable;
    std::string_view room = pe.room->name();
    enqueue(*c, encode_error(*error, &room, pe.ref));
  }
  pending_.erase(it);
}

void Server::on_broker_published(uint64_t cookie, PublishStatus st, uint64_t id) {
  auto it = pending_.find(cookie);
  if (it == pending_.end()) return;  // its event came back first
  PendingEvent& pe = it->second;
  switch (st) {
    case PublishStatus::ok:
      pe.numbered = id;  // a rebuild of the room before it comes back settles it
      return;
    case PublishStatus::lost:
      // It may have run: its event then comes from the room's log when the
      // room catches up; if it did not, it is sent again then (on_broker_live).
      pe.state = PendingEvent::State::uncertain;
      return;
    case PublishStatus::nick_taken:
      return fail_pending(cookie, ChatError::nick_taken);
    case PublishStatus::not_member:
      // Reaped meanwhile: a leave is then already done, a msg is refused.
      return fail_pending(cookie, pe.kind == EventKind::leave
                                      ? std::nullopt
                                      : std::optional(ChatError::unavailable));
    case PublishStatus::resync:
      broker_->resync(pe.room->name());
      break;
    case PublishStatus::reaped:
    case PublishStatus::failed:
      break;
  }
  if (pe.owed && ++pe.attempts < kMaxLeaveAttempts) {
    pe.state = PendingEvent::State::waiting;  // again once the room is live
    return;
  }
  fail_pending(cookie, ChatError::unavailable);
}

// Proposals that waited for the room (a first sync, a catch-up after Redis
// came back) go in the order they were made; one whose answer was lost
// did not run, or its event would have come with the catch-up.
void Server::on_broker_live(std::string_view room) {
  publish_waiting(room);
}

void Server::publish_waiting(std::string_view room) {
  if (!broker_->live(room)) return;
  live_cookies_.clear();
  for (auto& [cookie, pe] : pending_) {
    if (pe.room->name() != room || pe.state == PendingEvent::State::sent) continue;
    if (pe.state == PendingEvent::State::reading) break;  // the rest waits behind it
    live_cookies_.push_back(cookie);
  }
  for (uint64_t cookie : live_cookies_) {
    auto it = pending_.find(cookie);  // publishing may fail and erase earlier ones
    if (it == pending_.end()) continue;
    if (read_resume_prefix(cookie, it->second)) break;
    publish_pending(cookie, it->second);
  }
}

void Server::on_broker_event(std::string_view room_name, const FeedEvent& fe) {
  Room* room = engine_.find_room(room_name);
  if (!room) return;
  if (fe.id != room->last_id() + 1) {
    log_line("cluster: room %.*s: event %llu after %llu; catching up", int(room_name.size()),
             room_name.data(), (unsigned long long)fe.id, (unsigned long long)room->last_id());
    return broker_->resync(room_name);
  }
  NumberedEvent e{
      room, event_kind(fe.body.kind), fe.id, fe.body.ts, kNoMember, fe.body.nick, fe.body.text, {}};
  const bool ours = fe.body.node == broker_->node_id();
  auto it = ours && fe.body.cookie ? pending_.find(fe.body.cookie) : pending_.end();
  if (it != pending_.end()) {
    PendingEvent& pe = it->second;
    e.member = pe.member;
    e.ask = ask_of(pe);
    Connection* c = target(pe.target);
    Applied a = engine_.apply(e, mono_ms());
    send_applied(e, c, a);
    pending_.erase(it);
    return;
  }
  if (ours && e.kind == EventKind::leave) {
    // The reaper let one of this node's members go (this node was cut off):
    // the member is found by its nick.
    for (const Member& m : room->members()) {
      if (m.id != kNoMember && m.nick() == e.nick) e.member = m.id;
    }
  }
  Applied a = engine_.apply_external(e, mono_ms());
  send_applied(e, nullptr, a);
}

void Server::on_broker_synced(const RoomSnapshot& s) {
  Room* room = engine_.find_room(s.room);
  if (!room) return;
  synced_.clear();
  for (const BrokerMember& m : s.members) {
    synced_.push_back({m.node == broker_->node_id() ? MemberId(m.token) : kNoMember, m.nick});
  }
  past_.clear();
  for (const FeedEvent& e : s.recent) {
    past_.push_back({event_kind(e.body.kind), e.id, e.body.ts, std::string(e.body.nick),
                     std::string(e.body.text)});
  }
  // What this node proposed and Redis numbered before the snapshot never
  // comes back as an event: the snapshot is its answer. A join among them
  // whose member it lists ran, and so did one whose answer was lost.
  const bool same_epoch = s.epoch == room->epoch();
  joining_.clear();
  for (const auto& [cookie, pe] : pending_) {
    if (pe.room != room || pe.kind != EventKind::join) continue;
    if (pe.state == PendingEvent::State::uncertain || numbered_before(pe, s, same_epoch))
      joining_.push_back(pe.member);
  }
  std::vector<MemberId> dropped;
  admitted_.clear();
  engine_.sync_room(room, s.epoch, s.last_id, s.oldest, synced_, joining_, past_, &dropped,
                    &admitted_);
  if (s.reset) restart_members(*room, dropped);
  settle_pending(*room, s, same_epoch);
}

bool Server::numbered_before(const PendingEvent& pe, const RoomSnapshot& s, bool same_epoch) {
  return pe.numbered != 0 && same_epoch && pe.numbered <= s.last_id;
}

// The room's history as its members knew it is gone: each starts again,
// with a fresh welcome (resumed false), those Redis no longer lists by
// joining again. Joins the snapshot took in get their own welcome.
void Server::restart_members(Room& room, std::span<const MemberId> dropped) {
  for (const Member& m : room.members()) {
    if (m.id == kNoMember || std::find(admitted_.begin(), admitted_.end(), m.id) != admitted_.end())
      continue;
    Connection& c = slot(uint32_t(m.id));
    if (c.phase != Phase::websocket || token_of(c) != m.id) continue;
    enqueue(c, encode_welcome({room.name(),
                               m.nick(),
                               room.members(),
                               room.epoch(),
                               room.last_id(),
                               false,
                               {},
                               false}));
  }
  for (MemberId id : dropped) {
    Connection& c = slot(uint32_t(id));
    if (c.phase != Phase::websocket || token_of(c) != id) continue;
    if (std::optional<Proposal> p = engine_.rejoin(c.session, id, &room))
      cluster_submit(*p, &c, false);
  }
}

// This node's proposals for `room` that its snapshot answers:
// - a join the snapshot took in (sync_room's `admitted`) gets its welcome
//   and history, as if its event had come;
// - one numbered before the snapshot ran: a msg or leave is done and its
//   sender gets its copy; a join whose member the snapshot no longer lists
//   was let go since, and is refused (`unavailable`: the client joins again).
//   One whose answer was lost ran if the snapshot's events hold it (by its
//   cookie, kind, nick and text); if not, it is sent again once live.
// - one numbered in an epoch Redis no longer has was lost with it: refused
//   (`unavailable`), or for a leave owed by a connection gone, sent again.
void Server::settle_pending(Room& room, const RoomSnapshot& s, bool same_epoch) {
  ran_.clear();  // answers lost, of proposals the snapshot's events hold: one walk of them
  for (const FeedEvent& e : s.recent) {
    if (!e.body.cookie || e.body.node != broker_->node_id()) continue;
    auto it = pending_.find(e.body.cookie);
    if (it != pending_.end() && it->second.state == PendingEvent::State::uncertain &&
        is_own_event(it->second, e))
      ran_.push_back({it->first, e.id});
  }
  for (auto it = pending_.begin(); it != pending_.end();) {
    const uint64_t cookie = it->first;
    PendingEvent& pe = it->second;
    ++it;  // what is settled leaves the table
    if (pe.room != &room || pe.state == PendingEvent::State::waiting ||
        pe.state == PendingEvent::State::reading)
      continue;
    if (pe.kind == EventKind::join &&
        std::find(admitted_.begin(), admitted_.end(), pe.member) != admitted_.end()) {
      admit(cookie, pe);
      continue;
    }
    uint64_t id = numbered_before(pe, s, same_epoch) ? pe.numbered : 0;
    if (!id && pe.state == PendingEvent::State::uncertain) {
      auto found =
          std::find_if(ran_.begin(), ran_.end(), [&](auto& r) { return r.first == cookie; });
      if (found != ran_.end()) id = found->second;
    }
    if (id) {
      if (pe.kind == EventKind::join) {
        fail_pending(cookie, ChatError::unavailable);
        continue;
      }
      Connection* c = target(pe.target);
      if (c && c->phase == Phase::websocket && room.ring().holds(id)) {
        enqueue(*c, room.ring().at(id));
        ++metrics_.events_out;
      }
      fail_pending(cookie, std::nullopt);
    } else if (pe.numbered && !same_epoch) {
      if (!pe.owed) {
        fail_pending(cookie, ChatError::unavailable);
        continue;
      }
      pe.numbered = 0;
      pe.state = PendingEvent::State::waiting;  // published again once the room is live
    }
  }
}

// Whether `e`, of this node and with pe's cookie, is pe's event: a node
// restarted under the same --node-id counts cookies from 1 again, so an
// event of its earlier life must not pass for this one's.
bool Server::is_own_event(const PendingEvent& pe, const FeedEvent& e) {
  return event_kind(e.body.kind) == pe.kind && e.body.nick == pe.nick && e.body.text == pe.text;
}

// A join the snapshot took in: its welcome and history, as apply() gives
// them; the other members heard of it in the snapshot.
void Server::admit(uint64_t cookie, PendingEvent& pe) {
  NumberedEvent e{pe.room, EventKind::join, 0, 0, pe.member, pe.nick, {}, ask_of(pe)};
  Applied a = engine_.welcome_admitted(e);
  Connection* c = target(pe.target);
  if (c && c->phase == Phase::websocket) send_welcome(*c, a);
  pending_.erase(cookie);
}

// What a join asked for, as its proposal had it.
JoinAsk Server::ask_of(const PendingEvent& pe) {
  JoinAsk ask = pe.ask;
  ask.epoch = pe.epoch;
  ask.ref = pe.ref;
  ask.prefix = pe.prefix;
  ask.prefix_first = pe.prefix_first;
  return ask;
}

void Server::list_rooms(Connection& c, std::string_view ref) {
  uint64_t cookie = next_cookie_++;
  if (rooms_asks_.size() >= kMaxPending || broker_->list_rooms(cookie) != SendResult::sent) {
    ++metrics_.unavailable;
    return enqueue(c, encode_error(ChatError::unavailable, nullptr, ref));
  }
  rooms_asks_[cookie] = {target_of(c), std::string(ref)};
}

void Server::on_broker_rooms(uint64_t cookie, std::span<const ListedRoom> rooms, bool ok) {
  auto it = rooms_asks_.find(cookie);
  if (it == rooms_asks_.end()) return;
  Connection* c = target(it->second.target);
  if (c && c->phase == Phase::websocket) {
    if (ok) {
      std::vector<RoomLine> lines;
      lines.reserve(rooms.size());
      for (const ListedRoom& r : rooms) lines.push_back({r.room, size_t(r.users), r.last_id});
      enqueue(*c, encode_rooms(lines, it->second.ref));
    } else {
      ++metrics_.unavailable;
      enqueue(*c, encode_error(ChatError::unavailable, nullptr, it->second.ref));
    }
  }
  rooms_asks_.erase(it);
}

// A history page older than the room's ring is read from its log in Redis.
void Server::read_page(Connection& c, const Outcome& out) {
  uint64_t cookie = next_cookie_++;
  std::string_view room = out.fetch_room->name();
  if (page_asks_.size() >= kMaxPending ||
      broker_->read_page(room, out.fetch_from, out.fetch_before, cookie) != SendResult::sent) {
    ++metrics_.unavailable;
    return enqueue(c, encode_error(ChatError::unavailable, &room, out.ref));
  }
  page_asks_[cookie] = {target_of(c), std::string(room), std::string(out.fetch_room->epoch()),
                        std::string(out.ref), out.fetch_before};
}

void Server::on_broker_page(uint64_t cookie, std::string_view epoch, uint64_t oldest,
                            std::span<const FeedEvent> events, bool ok) {
  if (auto p = prefix_asks_.find(cookie); p != prefix_asks_.end()) {
    uint64_t pending = p->second;
    prefix_asks_.erase(p);
    auto pe = pending_.find(pending);
    bool same = pe != pending_.end() && epoch == pe->second.room->epoch();
    return on_resume_prefix(pending, events, ok && same);
  }
  auto it = page_asks_.find(cookie);
  if (it == page_asks_.end()) return;
  PageAsk ask = std::move(it->second);
  page_asks_.erase(it);
  Connection* c = target(ask.target);
  if (!c || c->phase != Phase::websocket) return;
  // Another epoch: the room started again meanwhile, this page is of none.
  if (!ok || epoch != ask.epoch) {
    ++metrics_.unavailable;
    std::string_view room = ask.room;
    return enqueue(*c, encode_error(ChatError::unavailable, &room, ask.ref));
  }
  page_blocks_.clear();
  for (const FeedEvent& e : events) {
    if (e.id >= ask.before) break;
    page_blocks_.push_back(
        encode_event(ask.room, event_kind(e.body.kind), e.id, e.body.ts, e.body.nick, e.body.text));
  }
  uint64_t first = events.empty() ? ask.before : events.front().id;
  bool more = first > oldest && first > 1;
  history_answer(ask.room, page_blocks_, more, ask.ref, page_answer_);
  enqueue_message(*c, page_answer_);
  page_blocks_.clear();
  page_answer_.clear();
}

// A connection's nick is free again once it is gone (after its leaves).
void Server::release_nick(const std::string& nick, MemberId id) {
  std::string key = ChatEngine::nick_key(nick);
  if (broker_->release_nick(key, id) != SendResult::sent) owed_releases_.push_back({key, id});
}

void Server::on_broker_health(bool up) {
  log_line("cluster: %s", up ? "serving" : std::string(broker_->why_not_ready()).c_str());
  if (!up) return;
  std::vector<std::pair<std::string, MemberId>> owed;
  owed.swap(owed_releases_);
  for (auto& [key, id] : owed) {
    if (broker_->release_nick(key, id) != SendResult::sent) owed_releases_.push_back({key, id});
  }
}

// Another node declared this one dead (it was cut off from Redis past
// --node-timeout) and announced its members' leaves: they are members no
// more anywhere, so their connections close and their clients join again.
void Server::on_broker_reaped() {
  for (Connection& c : conns_) {
    if (c.phase == Phase::websocket) close_websocket(c, 1001, "node rejoining the cluster");
  }
}

}  // namespace chatd
