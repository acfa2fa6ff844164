#include "cluster/broker.h"

#include <algorithm>
#include <charconv>

#include "base/clock.h"
#include "base/epoch.h"
#include "base/log.h"
#include "cluster/broker_script.h"
#include "cluster/redis_reply.h"

namespace chatd {
namespace {

// Consecutive missing events read from a log per sync.
constexpr uint32_t kGapBatch = 1000;
// After Redis answered an error it may outgrow (LOADING, BUSY), the next try.
constexpr int64_t kRetryMs = 250;

std::string_view text(const redisReply* r) {
  return r && r->str ? std::string_view(r->str, r->len) : std::string_view();
}

bool is_string(const redisReply* r) {
  return r && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS);
}

bool integer(const redisReply* r, long long& out) {
  if (!r || r->type != REDIS_REPLY_INTEGER) return false;
  out = r->integer;
  return true;
}

std::string_view channel_room(std::string_view channel) {
  constexpr std::string_view kPrefix = "chatd:{";
  if (channel.size() <= kPrefix.size() + 1 || channel.substr(0, kPrefix.size()) != kPrefix ||
      channel.back() != '}')
    return {};
  return channel.substr(kPrefix.size(), channel.size() - kPrefix.size() - 1);
}

std::string channel_of(std::string_view room) {
  std::string c = "chatd:{";
  c += room;
  c += '}';
  return c;
}

// "<join id> <node> <token> <nick>"
bool parse_member(std::string_view v, BrokerMember& m) {
  auto number = [&](uint64_t& out) {
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
    if (ec != std::errc() || end == v.data() + v.size() || *end != ' ') return false;
    v.remove_prefix(size_t(end - v.data()) + 1);
    return true;
  };
  if (!number(m.join_id)) return false;
  size_t sp = v.find(' ');
  if (sp == 0 || sp == std::string_view::npos) return false;
  m.node = v.substr(0, sp);
  v.remove_prefix(sp + 1);
  if (!number(m.token) || v.empty()) return false;
  m.nick = v;
  return true;
}

RedisClientOptions client_options(uint64_t seed, std::string name) {
  RedisClientOptions o;
  o.seed = seed;
  o.name = std::move(name);
  return o;
}

int64_t beat_period_ms(int64_t node_timeout_ms) {
  return std::max<int64_t>(250, node_timeout_ms / 4);
}

// A command unanswered this long means Redis is too slow to serve.
int64_t stall_ms(int64_t node_timeout_ms) {
  return std::clamp<int64_t>(node_timeout_ms / 4, 500, 2000);
}

}  // namespace

Broker::Broker(EventLoop& loop, uint64_t command_token, uint64_t subscription_token,
               BrokerOptions options, BrokerHooks hooks)
    : loop_(loop),
      options_(std::move(options)),
      hooks_(hooks),
      epoch_state_(options_.seed),
      cmd_(loop, command_token, options_.url,
           client_options(options_.seed, "chatd:" + options_.node_id + ":commands")),
      sub_(loop, subscription_token, options_.url,
           client_options(options_.seed + 1, "chatd:" + options_.node_id + ":subscriptions")) {
  cmd_.set_state_callback(on_cmd_state, this);
  sub_.set_state_callback(on_sub_state, this);
  sub_.set_push_callback(on_push, this);
}

void Broker::start() {
  cmd_.start();
  sub_.start();
}

std::string_view Broker::why_not_ready() const {
  if (cmd_.state() != RedisState::ready || sub_.state() != RedisState::ready)
    return "redis unreachable";
  if (stalled_) return "redis not answering";
  if (!registered_) return "joining the cluster";
  return "";
}

void Broker::on_events(uint64_t token, uint32_t events) {
  if (token == cmd_.token()) cmd_.on_events(events);
  if (token == sub_.token()) sub_.on_events(events);
}

int64_t Broker::next_deadline_ms() const {
  int64_t t = -1;
  auto earlier = [&](int64_t d) {
    if (d >= 0 && (t < 0 || d < t)) t = d;
  };
  earlier(cmd_.next_deadline_ms());
  earlier(sub_.next_deadline_ms());
  if (script_loaded_ && !beat_in_flight_) earlier(next_beat_ms_);
  if (cmd_.state() == RedisState::ready && !script_loaded_ && !load_in_flight_)
    earlier(next_load_ms_);
  if (!stalled_ && !expect_.empty())
    earlier(expect_.front().sent_ms + stall_ms(options_.node_timeout_ms));
  return t;
}

void Broker::on_timer(int64_t now) {
  cmd_.on_timer(now);
  sub_.on_timer(now);
  if (cmd_.state() == RedisState::ready && !script_loaded_ && !load_in_flight_ &&
      now >= next_load_ms_)
    load_script();
  if (script_loaded_ && !beat_in_flight_ && now >= next_beat_ms_) beat();
  if (!stalled_ && !expect_.empty() &&
      now - expect_.front().sent_ms >= stall_ms(options_.node_timeout_ms)) {
    stalled_ = true;
    log_line("cluster: redis has not answered for %lld ms; refusing requests",
             (long long)(now - expect_.front().sent_ms));
    set_health();
  }
}

void Broker::set_health() {
  bool up = ready();
  if (up == healthy_) return;
  healthy_ = up;
  if (hooks_.health) hooks_.health(hooks_.app, up);
}

std::string Broker::fresh_epoch() {
  return make_epoch(epoch_state_, ++epochs_made_);
}

// ---- sending ----

SendResult Broker::send(Sent kind, uint64_t cookie, std::string_view room, int argc,
                        const char* const* argv, const size_t* len) {
  SendResult r = cmd_.command(argc, argv, len, on_reply, this);
  if (r == SendResult::sent) expect_.push_back({kind, cookie, mono_ms(), std::string(room)});
  return r;
}

SendResult Broker::run_script(Sent kind, uint64_t cookie, std::string_view room,
                              std::initializer_list<std::string_view> args) {
  constexpr size_t kMaxArgs = 16;
  const char* argv[kMaxArgs];
  size_t len[kMaxArgs];
  const std::string& sha = sha_;
  argv[0] = "EVALSHA";
  len[0] = 7;
  argv[1] = sha.data();
  len[1] = sha.size();
  argv[2] = "0";
  len[2] = 1;
  int n = 3;
  for (std::string_view a : args) {
    if (n == int(kMaxArgs)) break;
    argv[n] = a.data();
    len[n] = a.size();
    ++n;
  }
  return send(kind, cookie, room, n, argv, len);
}

SendResult Broker::publish(const BrokerProposal& p, uint64_t cookie) {
  if (!ready()) return SendResult::not_ready;
  EventBody body = p.body;
  body.node = options_.node_id;
  body.cookie = cookie;
  args_.clear();
  encode_event_body(body, args_);
  std::string token = std::to_string(p.token);
  std::string retain = std::to_string(options_.retain_events);
  return run_script(Sent::pub, cookie, {},
                    {"pub", p.room, p.epoch, std::string_view(&p.body.kind, 1), options_.node_id,
                     token, p.nick_key, p.body.nick, args_, retain});
}

SendResult Broker::list_rooms(uint64_t cookie) {
  if (!ready()) return SendResult::not_ready;
  return run_script(Sent::rooms, cookie, {}, {"rooms"});
}

SendResult Broker::read_page(std::string_view room, uint64_t from, uint64_t before,
                             uint64_t cookie) {
  if (!ready() || before <= from) return SendResult::not_ready;
  std::string after = std::to_string(from - 1);
  std::string max = std::to_string(before - from);
  std::string fresh = fresh_epoch();
  return run_script(Sent::page, cookie, {}, {"sync", room, fresh, after, max, "0", "", "page"});
}

SendResult Broker::release_nick(std::string_view nick_key, uint64_t token) {
  if (!registered_) return SendResult::not_ready;
  std::string t = std::to_string(token);
  return run_script(Sent::release, 0, {}, {"release", options_.node_id, t, nick_key});
}

SendResult Broker::bye() {
  if (!script_loaded_) return SendResult::not_ready;
  std::string retain = std::to_string(options_.retain_events);
  SendResult r = run_script(Sent::bye, 0, {}, {"bye", options_.node_id, retain});
  bye_pending_ = r == SendResult::sent;
  return r;
}

void Broker::load_script() {
  std::string_view script = broker_script();
  const char* argv[3] = {"SCRIPT", "LOAD", script.data()};
  size_t len[3] = {6, 4, script.size()};
  load_in_flight_ = send(Sent::load, 0, {}, 3, argv, len) == SendResult::sent;
}

void Broker::beat() {
  int64_t period = beat_period_ms(options_.node_timeout_ms);
  std::string ttl = std::to_string(std::max(options_.node_timeout_ms * 2 / 3, 3 * period));
  std::string retain = std::to_string(options_.retain_events);
  next_beat_ms_ = mono_ms() + period;
  if (run_script(Sent::beat, 0, {},
                 {"beat", options_.node_id, ttl, ever_registered_ ? "0" : "1", retain}) ==
      SendResult::sent)
    beat_in_flight_ = true;
}

// ---- rooms ----

void Broker::watch(std::string_view room) {
  auto [it, fresh] = feeds_.try_emplace(std::string(room));
  if (!fresh) return;
  if (sub_.state() == RedisState::ready) (void)sub_.subscribe(channel_of(room));
}

void Broker::unwatch(std::string_view room) {
  auto it = feeds_.find(room);
  if (it == feeds_.end()) return;
  feeds_.erase(it);
  if (sub_.state() == RedisState::ready) (void)sub_.unsubscribe(channel_of(room));
  // Every member of this node has left (the app unwatches only then): the
  // reaper need not walk this room for it. Not done while Redis is away:
  // the room then stays in the node's rooms, as harmless as before.
  if (registered_) (void)run_script(Sent::forget, 0, {}, {"forget", options_.node_id, room});
}

bool Broker::live(std::string_view room) const {
  auto it = feeds_.find(room);
  return it != feeds_.end() && it->second.live;
}

void Broker::request_sync(std::string_view room, Feed& f) {
  if (f.syncing || !f.subscribed || !script_loaded_) return;
  f.live = false;
  bool rebuild = !f.known || f.resetting;
  std::string after = std::to_string(rebuild ? 0 : f.last);
  std::string max = std::to_string(rebuild ? options_.snapshot_events : kGapBatch);
  std::string fresh = fresh_epoch();
  if (run_script(Sent::sync, rebuild ? 1 : 0, room,
                 {"sync", room, fresh, after, max, rebuild ? "1" : "0", f.discard}) ==
      SendResult::sent)
    f.syncing = true;
}

void Broker::hold(Feed& f, std::string_view payload) {
  if (f.held.size() >= options_.max_held ||
      f.held_bytes + payload.size() > options_.max_held_bytes) {
    // Too far behind: everything held is in the log too; the catch-up
    // reads it from there.
    f.held.clear();
    f.held_bytes = 0;
    ++stats_.held_overflows;
  }
  f.held.emplace_back(payload);
  f.held_bytes += payload.size();
}

bool Broker::take(std::string_view room, Feed& f, std::string_view payload) {
  EventPayload p;
  if (!decode_event_payload(payload, p)) {
    ++stats_.bad_payloads;
    return true;
  }
  if (p.epoch != f.epoch) {
    // The room started again under another epoch (Redis lost it, or
    // another node noticed first): rebuild it from Redis.
    f.resetting = f.known;
    hold(f, payload);
    request_sync(room, f);
    return false;
  }
  if (p.id <= f.last) return true;  // already applied (the log and the channel overlap)
  if (p.id > f.last + 1) {
    hold(f, payload);
    ++stats_.gaps_filled;
    request_sync(room, f);
    return false;
  }
  FeedEvent e;
  e.id = p.id;
  f.last = p.id;
  if (!decode_event_body(p.body, e.body)) {
    // Not written by chatd: the id is spent, nobody is told.
    ++stats_.bad_payloads;
    return true;
  }
  ++stats_.events_in;
  hooks_.event(hooks_.app, room, e);
  return true;
}

void Broker::drain(std::string_view room, Feed& f) {
  std::vector<std::string> held;
  held.swap(f.held);
  f.held_bytes = 0;
  for (size_t i = 0; i < held.size(); ++i) {
    if (take(room, f, held[i])) continue;
    for (size_t j = i + 1; j < held.size(); ++j) {
      f.held_bytes += held[j].size();
      f.held.push_back(std::move(held[j]));
    }
    return;
  }
  f.live = true;
  hooks_.live(hooks_.app, room);
}

// ---- callbacks ----

void Broker::on_cmd_state(void* self, RedisState s) {
  auto& b = *static_cast<Broker*>(self);
  if (b.closing_) return;
  if (s == RedisState::ready) {
    b.load_script();
    log_line("cluster: redis %s: connected (commands)", redis_url_for_log(b.cmd_.url()).c_str());
  } else if (b.script_loaded_ || b.registered_) {
    log_line("cluster: redis commands connection %s: %s", std::string(redis_state_name(s)).c_str(),
             b.cmd_.last_error().c_str());
  }
  if (s != RedisState::ready) {
    b.script_loaded_ = false;
    b.registered_ = false;
    b.beat_in_flight_ = false;
    b.stalled_ = false;
    for (auto& [room, f] : b.feeds_) f.live = false;
  }
  b.set_health();
}

void Broker::on_sub_state(void* self, RedisState s) {
  auto& b = *static_cast<Broker*>(self);
  if (b.closing_) return;
  for (auto& [room, f] : b.feeds_) {
    f.subscribed = false;
    f.live = false;
    if (s == RedisState::ready) (void)b.sub_.subscribe(channel_of(room));
  }
  b.set_health();
}

void Broker::on_push(void* self, const redisReply* r) {
  auto& b = *static_cast<Broker*>(self);
  if (b.closing_) return;
  PubSubMessage m;
  if (!decode_pubsub(r, m)) return;
  std::string_view room = channel_room(m.channel);
  auto it = b.feeds_.find(room);
  if (it == b.feeds_.end()) return;  // unwatched since
  Feed& f = it->second;
  if (m.kind == PubSubMessage::Kind::subscribe) {
    f.subscribed = true;
    b.request_sync(room, f);
  } else if (m.kind == PubSubMessage::Kind::message) {
    if (!f.live) return b.hold(f, m.payload);
    (void)b.take(it->first, f, m.payload);
  }
}

void Broker::on_reply(void* self, const redisReply* r) {
  auto& b = *static_cast<Broker*>(self);
  if (b.closing_) return;
  if (b.expect_.empty()) return;
  Expect e = std::move(b.expect_.front());
  b.expect_.pop_front();
  if (r && is_noscript(r) && b.script_loaded_) {
    // SCRIPT FLUSH, or a Redis that restarted behind a proxy: load it again.
    b.script_loaded_ = false;
    b.load_script();
  }
  switch (e.kind) {
    case Sent::load:
      b.load_in_flight_ = false;
      if (r && is_string(r) && text(r).size() == 40) {
        b.sha_ = std::string(text(r));
        b.script_loaded_ = true;
        b.beat();
      } else if (r) {
        // LOADING (a Redis reading its append-only file), BUSY...: again soon.
        log_line("cluster: SCRIPT LOAD failed: %.*s; trying again", int(text(r).size()),
                 text(r).data());
        b.next_load_ms_ = mono_ms() + kRetryMs;
      }
      break;
    case Sent::beat:
      b.beat_in_flight_ = false;
      b.on_beat(r);
      break;
    case Sent::pub:
      b.on_published(e.cookie, r);
      break;
    case Sent::sync:
      b.on_sync(e.room, e.cookie == 1, r);
      break;
    case Sent::rooms:
      b.on_rooms(e.cookie, r);
      break;
    case Sent::page:
      b.on_page(e.cookie, r);
      break;
    case Sent::release:
    case Sent::forget:
      break;
    case Sent::bye:
      b.bye_pending_ = false;
      break;
  }
  if (b.stalled_) {
    int64_t now = mono_ms();
    if (b.expect_.empty() ||
        now - b.expect_.front().sent_ms < stall_ms(b.options_.node_timeout_ms)) {
      b.stalled_ = false;
      log_line("cluster: redis answers again");
    }
  }
  b.set_health();
}

void Broker::on_beat(const redisReply* r) {
  if (!r) return;
  if (r->type == REDIS_REPLY_STRING && text(r) == "reaped") {
    log_line("cluster: node %s was declared dead by another node; its members were let go",
             options_.node_id.c_str());
    registered_ = false;
    ever_registered_ = false;
    next_beat_ms_ = 0;
    set_health();
    if (hooks_.reaped) hooks_.reaped(hooks_.app);
    return;
  }
  long long nodes = 0, reaped = 0;
  if (r->type != REDIS_REPLY_ARRAY || r->elements < 3 || !integer(r->element[1], nodes) ||
      !integer(r->element[2], reaped)) {
    log_line("cluster: heartbeat failed: %.*s", int(text(r).size()), text(r).data());
    return;
  }
  stats_.nodes = uint64_t(nodes);
  stats_.reaped_nodes += uint64_t(reaped);
  if (reaped > 0) log_line("cluster: reaped %lld dead node(s)", reaped);
  if (registered_) {
    // A sync Redis refused (LOADING...) is asked again at each heartbeat.
    for (auto& [room, f] : feeds_) {
      if (!f.live) request_sync(room, f);
    }
    return;
  }
  registered_ = true;
  if (!ever_registered_) {
    log_line("cluster: node %s joined (%lld nodes)", options_.node_id.c_str(), nodes);
  }
  ever_registered_ = true;
  // Back after a lost connection: every room catches up from its log.
  for (auto& [room, f] : feeds_) {
    f.live = false;
    request_sync(room, f);
  }
}

void Broker::on_published(uint64_t cookie, const redisReply* r) {
  PublishStatus st = PublishStatus::failed;
  PublishResult res;
  std::string_view error;
  if (!r) {
    st = PublishStatus::lost;
  } else {
    switch (decode_publish_result(r, res, error)) {
      case ReplyStatus::ok:
        st = PublishStatus::ok;
        ++stats_.events_out;
        break;
      case ReplyStatus::error_reply:
        // Redis puts ERR before a one-word error: either form is read.
        if (error.starts_with("ERR ")) error.remove_prefix(4);
        if (error.starts_with("NICKTAKEN")) {
          st = PublishStatus::nick_taken;
        } else if (error.starts_with("NOTMEMBER")) {
          st = PublishStatus::not_member;
        } else if (error.starts_with("RESYNC")) {
          st = PublishStatus::resync;
        } else if (error.starts_with("REAPED")) {
          st = PublishStatus::reaped;
          next_beat_ms_ = 0;
        }
        break;
      case ReplyStatus::bad_shape:
        break;
    }
  }
  hooks_.published(hooks_.app, cookie, st, st == PublishStatus::ok ? res.id : 0);
}

void Broker::resync(std::string_view room) {
  auto it = feeds_.find(room);
  if (it == feeds_.end()) return;
  it->second.resetting = it->second.known;
  request_sync(it->first, it->second);
}

void Broker::on_sync(const std::string& room, bool rebuild, const redisReply* r) {
  auto it = feeds_.find(room);
  if (it == feeds_.end()) return;
  Feed& f = it->second;
  f.syncing = false;
  long long seq = 0, oldest = 0, first = 0, n = 0;
  if (!r || r->type != REDIS_REPLY_ARRAY || r->elements < 5 || !is_string(r->element[0]) ||
      !integer(r->element[1], seq) || !integer(r->element[2], oldest) ||
      !integer(r->element[3], first) || !integer(r->element[4], n) || n < 0 ||
      size_t(n) > r->elements - 5) {
    if (r)
      log_line("cluster: sync of room %s failed: %.*s", room.c_str(), int(text(r).size()),
               text(r).data());
    return;  // tried again when Redis is back (on_beat), or at the next gap
  }
  std::string_view epoch = text(r->element[0]);
  redisReply* const* entries = r->element + 5 + n;
  size_t n_entries = r->elements - 5 - size_t(n);
  if (f.known && epoch == f.epoch && uint64_t(seq) < f.last) {
    // The same epoch with fewer events than this node applied: Redis went
    // back in time (an older snapshot). Those ids would come twice: the
    // room starts again under a new epoch instead.
    log_line("cluster: room %s: redis has %lld events, this node saw %llu; new epoch", room.c_str(),
             seq, (unsigned long long)f.last);
    f.discard = std::string(epoch);
    f.resetting = true;
    return request_sync(room, f);
  }
  if (!rebuild) {
    if (epoch != f.epoch || uint64_t(first) > f.last + 1) {
      // Another epoch, or the log was trimmed past this node's last id:
      // the gap cannot be filled, the room starts again for its members.
      f.resetting = true;
      return request_sync(room, f);
    }
    for (size_t i = 0; i < n_entries; ++i) {
      if (!is_string(entries[i]) || !take(room, f, text(entries[i]))) break;
    }
    if (f.syncing) return;
    if (f.last < uint64_t(seq)) return request_sync(room, f);
    return drain(room, f);
  }
  members_.clear();
  for (long long i = 0; i < n; ++i) {
    BrokerMember m;
    if (is_string(r->element[5 + i]) && parse_member(text(r->element[5 + i]), m))
      members_.push_back(m);
  }
  std::sort(members_.begin(), members_.end(),
            [](const BrokerMember& a, const BrokerMember& b) { return a.join_id < b.join_id; });
  recent_.clear();
  uint64_t expect_id = uint64_t(first);
  for (size_t i = 0; i < n_entries; ++i) {
    EventPayload p;
    FeedEvent e;
    if (!is_string(entries[i]) || !decode_event_payload(text(entries[i]), p) || p.epoch != epoch ||
        p.id != expect_id || !decode_event_body(p.body, e.body)) {
      ++stats_.bad_payloads;
      recent_.clear();  // a ring with a hole would replay a gap
      break;
    }
    e.id = p.id;
    recent_.push_back(e);
    ++expect_id;
  }
  RoomSnapshot s;
  s.room = it->first;
  s.epoch = epoch;
  s.last_id = uint64_t(seq);
  s.oldest = uint64_t(oldest);
  s.reset = f.known;
  s.members = members_;
  s.recent = recent_;
  ++stats_.snapshots;
  if (s.reset) {
    ++stats_.resets;
    log_line("cluster: room %s starts again (epoch %.*s, %zu members)", room.c_str(),
             int(epoch.size()), epoch.data(), members_.size());
  }
  f.known = true;
  f.resetting = false;
  f.discard.clear();
  f.epoch = std::string(epoch);
  f.last = uint64_t(seq);
  hooks_.synced(hooks_.app, s);
  drain(it->first, f);
}

void Broker::on_page(uint64_t cookie, const redisReply* r) {
  recent_.clear();
  long long seq = 0, oldest = 0, first = 0, n = 0;
  bool ok = r && r->type == REDIS_REPLY_ARRAY && r->elements >= 5 && is_string(r->element[0]) &&
            integer(r->element[1], seq) && integer(r->element[2], oldest) &&
            integer(r->element[3], first) && integer(r->element[4], n) && n == 0;
  std::string_view epoch = ok ? text(r->element[0]) : std::string_view();
  for (size_t i = 5; ok && i < r->elements; ++i) {
    EventPayload p;
    FeedEvent e;
    if (!is_string(r->element[i]) || !decode_event_payload(text(r->element[i]), p) ||
        p.epoch != epoch || p.id != uint64_t(first) + (i - 5) ||
        !decode_event_body(p.body, e.body)) {
      ++stats_.bad_payloads;
      ok = false;  // a page with a hole would pass for the whole history
      break;
    }
    e.id = p.id;
    recent_.push_back(e);
  }
  if (!ok) recent_.clear();
  hooks_.page(hooks_.app, cookie, epoch, uint64_t(std::max<long long>(oldest, 1)), recent_, ok);
}

void Broker::on_rooms(uint64_t cookie, const redisReply* r) {
  lines_.clear();
  bool ok = r && r->type == REDIS_REPLY_ARRAY && r->elements % 3 == 0;
  for (size_t i = 0; ok && i + 2 < r->elements; i += 3) {
    long long users = 0, last = 0;
    if (!is_string(r->element[i]) || !integer(r->element[i + 1], users) ||
        !integer(r->element[i + 2], last)) {
      ok = false;
      break;
    }
    if (users > 0) lines_.push_back({text(r->element[i]), uint64_t(users), uint64_t(last)});
  }
  if (!ok) lines_.clear();
  hooks_.rooms(hooks_.app, cookie, lines_, ok);
}

}  // namespace chatd
