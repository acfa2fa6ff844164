// Churn run: C client slots come and go at random for D seconds. A session
// connects, joins with a fresh nick, sends a few messages and leaves by a
// close frame, an RST, a plain FIN, or by no longer reading and then closing.
// Every session checks that its ids are consecutive from its own join event
// on; a ring of (id, hash) checks that all sessions saw the same event under
// each id; slot 0 is an observer that stays joined throughout and checks
// that every session produced exactly one join and one leave event.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string_view>
#include <vector>

#include "churn_stats.h"
#include "client_pool.h"
#include "event_scan.h"
#include "handshake.h"
#include "modes.h"
#include "report.h"

namespace chatd::load {

namespace {

constexpr uint32_t kMaxMsgsPerSession = 5;
constexpr int64_t kMaxMsgGapUs = 200'000;       // between one session's messages
constexpr int64_t kMaxIdleUs = 500'000;         // between two sessions of one slot
constexpr int64_t kStallMinUs = 200'000;        // a stalled session stops reading
constexpr int64_t kStallMaxUs = 3'000'000;      //   for this long, then closes
constexpr int64_t kCloseWaitUs = 5'000'000;     // for the server's close echo
constexpr int64_t kSetupLimitUs = 10'000'000;   // connect + upgrade + welcome
constexpr int64_t kEndLimitUs = 20'000'000;     // every session gone after D
constexpr int64_t kObserveLimitUs = 5'000'000;  // observer sees the last leaves
constexpr int64_t kSettleUs = 500'000;          // before the last RSS read
constexpr int64_t kRssSampleUs = 1'000'000;
constexpr int64_t kTurnUs = 5'000;
constexpr uint32_t kSlotBits = 15;  // slot < kMaxConnections < 2^15: tag = gen << 15 | slot
constexpr uint32_t kOrderRing = 1u << 16;
static_assert(kMaxConnections < (1u << kSlotBits));

enum class Step : uint8_t { waiting, joining, chatting, closing, stalled };

struct Session {
  Step step = Step::waiting;
  uint32_t gen = 0;      // sessions this slot has started
  int64_t due_us = 0;    // next start, send, or give-up time
  int64_t leave_us = 0;  // chatting: leave once every message is out
  uint32_t to_send = 0, sent = 0, acked = 0;
  uint64_t last_id = 0;  // 0: own join event not seen yet
  bool welcomed = false;
  uint32_t welcomes = 0, join_events = 0, leave_events = 0;  // over all sessions of the slot
};

uint64_t fnv1a(const char* p, size_t n) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < n; ++i) h = (h ^ uint8_t(p[i])) * 0x100000001b3ull;
  return h;
}

bool contains(const char* p, size_t n, std::string_view s) {
  return memmem(p, n, s.data(), s.size()) != nullptr;
}

// Parses "nick":"k<slot>g<gen>" out of a system event; false for other nicks.
bool parse_nick(const char* p, size_t n, uint32_t& slot, uint32_t& gen) {
  static constexpr std::string_view kKey = "\"nick\":\"k";
  const char* q = static_cast<const char*>(memmem(p, n, kKey.data(), kKey.size()));
  if (!q) return false;
  const char* end = p + n;
  q += kKey.size();
  uint64_t a = 0, b = 0;
  const char* s = q;
  while (q < end && *q >= '0' && *q <= '9' && q - s < 6) a = a * 10 + uint64_t(*q++ - '0');
  if (q == s || q >= end || *q++ != 'g') return false;
  s = q;
  while (q < end && *q >= '0' && *q <= '9' && q - s < 10) b = b * 10 + uint64_t(*q++ - '0');
  if (q == s || q >= end || *q != '"') return false;
  slot = static_cast<uint32_t>(a);
  gen = static_cast<uint32_t>(b);
  return true;
}

class Churn final : public ConnHandler {
 public:
  explicit Churn(const Options& o) : opt_(o), pool_(o, *this), sess_(o.clients), ring_(kOrderRing) {
    rng_ = (o.seed + 1) * 0x9E3779B97F4A7C15ull;
    text_.resize(kMaxSize + 64);
  }

  int run();

  void on_open(Conn& c) override {
    char join[64];
    int n = std::snprintf(join, sizeof join, "{\"type\":\"join\",\"nick\":\"k%ug%u\"}", c.index,
                          sess_[c.index].gen);
    pool_.send_text(c, join, static_cast<size_t>(n));
  }

  void on_text(Conn& c, const char* p, size_t n) override;
  void on_closed(Conn& c, CloseReason why, uint16_t code) override;

 private:
  int64_t rand_us(int64_t max) { return max > 0 ? int64_t(next_random(rng_) % uint64_t(max)) : 0; }
  uint32_t tag(uint32_t slot) const { return (sess_[slot].gen << kSlotBits) | slot; }
  void start(uint32_t i, int64_t now);
  void tick(int64_t now);
  void send_msg(uint32_t i, int64_t now);
  void begin_leave(uint32_t i, int64_t now);
  void check_order(uint64_t id, const char* p, size_t n);
  void observe(const char* p, size_t n);
  bool others_gone() const;
  void loop_until(int64_t limit, bool (Churn::*done)() const);
  bool observed_all() const;
  bool all_gone() const { return sess_[0].step == Step::waiting && others_gone(); }
  bool observer_in() const { return sess_[0].welcomed || sess_[0].step == Step::waiting; }
  bool never() const { return false; }
  int report();

  const Options& opt_;
  ClientPool pool_;
  std::vector<Session> sess_;
  std::vector<std::pair<uint64_t, uint64_t>> ring_;  // id -> hash of its bytes
  std::vector<char> text_;
  uint64_t rng_;
  bool ending_ = false;
  int64_t next_rss_us_ = 0;
  ChurnStats st_;
};

void Churn::on_text(Conn& c, const char* p, size_t n) {
  Session& s = sess_[c.index];
  const int64_t now = mono_us();
  ScannedEvent ev = scan_event(p, n);
  if (ev.kind == EventKind::welcome) {
    if (s.welcomed || s.step != Step::joining) ++st_.protocol_surprises;
    s.welcomed = true;
    ++s.welcomes;
    ++st_.sessions_joined;
    st_.joined_peak = std::max(st_.joined_peak, ++st_.joined_now);
    s.step = Step::chatting;
    s.to_send = c.index == 0 ? 0 : 1 + uint32_t(next_random(rng_) % kMaxMsgsPerSession);
    s.due_us = now + rand_us(kMaxMsgGapUs);
    s.leave_us = now + rand_us(int64_t(opt_.hold_s * 1e6));
    return;
  }
  if (ev.kind == EventKind::error) {
    ++st_.errors;
    return;
  }
  if (!ev.has_id) return;
  ++st_.deliveries;
  check_order(ev.id, p, n);
  if (s.last_id == 0) {
    // The first event a session sees must be its own join.
    char own[40];
    int k = std::snprintf(own, sizeof own, "\"nick\":\"k%ug%u\"", c.index, s.gen);
    if (!s.welcomed || ev.kind != EventKind::system || !contains(p, n, "\"event\":\"join\"") ||
        !contains(p, n, std::string_view(own, size_t(k))))
      ++st_.first_event_mismatch;
    s.last_id = ev.id;
  } else if (ev.id != s.last_id + 1) {
    if (ev.id > s.last_id)
      st_.gaps += ev.id - s.last_id - 1;
    else
      ++st_.duplicates;
  }
  if (ev.id > s.last_id) s.last_id = ev.id;
  if (c.index == 0 && ev.kind == EventKind::system) observe(p, n);
  if (ev.kind == EventKind::msg && ev.ours) {
    st_.latency.record(pool_.read_time_us() - ev.send_us);
    if (ev.sender == tag(c.index)) ++s.acked;
  }
}

void Churn::on_closed(Conn& c, CloseReason why, uint16_t code) {
  Session& s = sess_[c.index];
  if (why == CloseReason::connect_failed || why == CloseReason::handshake_failed) {
    ++st_.setup_failures;
  } else if (why == CloseReason::close_frame && s.step == Step::closing && code == 1000) {
    // The server handles input in order: every message sent before our
    // close frame comes back before its echo.
    ++st_.clean_closes;
    st_.lost_acks += s.sent - std::min(s.acked, s.sent);
  } else if (why != CloseReason::local) {
    ++st_.unexpected_closes;
    st_.last_close_code = code;
  }
  if (c.index == 0 && !ending_) st_.observer_lost = true;
  if (s.welcomed) --st_.joined_now;
  s.step = Step::waiting;
  ++s.gen;
  s.due_us = mono_us() + rand_us(kMaxIdleUs);
  s.to_send = s.sent = s.acked = 0;
  s.last_id = 0;
  s.welcomed = false;
}

void Churn::start(uint32_t i, int64_t now) {
  Session& s = sess_[i];
  s.step = Step::joining;
  s.due_us = now + kSetupLimitUs;
  ++st_.sessions_started;
  pool_.restart(pool_.conn(i));  // a failed connect lands in on_closed at once
}

void Churn::send_msg(uint32_t i, int64_t now) {
  static constexpr char kHead[] = "{\"type\":\"msg\",\"msg\":\"";
  constexpr size_t kHeadLen = sizeof kHead - 1;
  std::memcpy(text_.data(), kHead, kHeadLen);
  size_t len = kHeadLen + format_text(text_.data() + kHeadLen, opt_.size, now, tag(i));
  text_[len++] = '"';
  text_[len++] = '}';
  Session& s = sess_[i];
  ++s.sent;
  ++st_.sent;
  s.due_us = now + rand_us(kMaxMsgGapUs);
  pool_.send_text(pool_.conn(i), text_.data(), len);
}

void Churn::begin_leave(uint32_t i, int64_t now) {
  Session& s = sess_[i];
  Conn& c = pool_.conn(i);
  static constexpr std::string_view kWays[] = {"close", "rst", "fin", "stall"};
  uint32_t way = 0;
  while (way < 3 && kWays[way] != opt_.leave) ++way;
  if (opt_.leave == "all") way = uint32_t(next_random(rng_) % 4);
  ++st_.leaves[way];
  switch (way) {
    case 0:
      s.step = Step::closing;
      s.due_us = now + kCloseWaitUs;
      pool_.send_close(c, 1000);
      break;
    case 1:
    case 2:
      pool_.abort(c, way == 1);
      break;
    default:
      s.step = Step::stalled;
      s.due_us = now + kStallMinUs + rand_us(kStallMaxUs - kStallMinUs);
      pool_.set_reading(c, false);
  }
}

void Churn::tick(int64_t now) {
  for (uint32_t i = 0; i < sess_.size(); ++i) {
    Session& s = sess_[i];
    switch (s.step) {
      case Step::waiting:
        if (!ending_ && i != 0 && now >= s.due_us && pool_.in_progress() < opt_.inflight)
          start(i, now);
        break;
      case Step::joining:
        if (now >= s.due_us) ++st_.setup_timeouts, pool_.abort(pool_.conn(i), true);
        break;
      case Step::chatting:
        if (i == 0) break;  // the observer leaves last, from run()
        if (!ending_ && s.sent < s.to_send && now >= s.due_us) send_msg(i, now);
        if (s.step == Step::chatting && (ending_ || (s.sent >= s.to_send && now >= s.leave_us)))
          begin_leave(i, now);
        break;
      case Step::closing:
        if (now >= s.due_us) ++st_.close_timeouts, pool_.abort(pool_.conn(i), true);
        break;
      case Step::stalled:
        if (now >= s.due_us) pool_.abort(pool_.conn(i), false);
        break;
    }
  }
  if (opt_.server_pid && now >= next_rss_us_) {
    st_.rss_peak_kib = std::max(st_.rss_peak_kib, service_rss_kib(opt_.server_pids));
    next_rss_us_ = now + kRssSampleUs;
  }
}

void Churn::check_order(uint64_t id, const char* p, size_t n) {
  auto& e = ring_[id & (kOrderRing - 1)];
  uint64_t h = fnv1a(p, n);
  if (e.first == id && e.second != h) ++st_.order_mismatch;
  if (e.first < id) e = {id, h};
}

void Churn::observe(const char* p, size_t n) {
  uint32_t slot = 0, gen = 0;
  if (!parse_nick(p, n, slot, gen) || slot == 0 || slot >= sess_.size()) return;
  if (contains(p, n, "\"event\":\"join\"")) ++sess_[slot].join_events;
  if (contains(p, n, "\"event\":\"leave\"")) ++sess_[slot].leave_events;
}

bool Churn::others_gone() const {
  for (uint32_t i = 1; i < sess_.size(); ++i)
    if (sess_[i].step != Step::waiting) return false;
  return true;
}

bool Churn::observed_all() const {
  for (uint32_t i = 1; i < sess_.size(); ++i)
    if (sess_[i].leave_events < sess_[i].welcomes) return false;
  return true;
}

void Churn::loop_until(int64_t limit, bool (Churn::*done)() const) {
  for (int64_t now = mono_us(); now < limit && !(this->*done)(); now = mono_us()) {
    tick(now);
    if (pool_.run_once(std::min(kTurnUs, limit - now)) < 0) break;
  }
}

int Churn::run() {
  if (long r = pool_.init(opt_.clients); r < 0) {
    std::fprintf(stderr, "chat_load: epoll: %s\n", std::strerror(int(-r)));
    return 3;
  }
  st_.rss_start_kib = opt_.server_pid ? service_rss_kib(opt_.server_pids) : -1;
  st_.cpu0 = cpu_seconds();
  int64_t now = mono_us();
  start(0, now);  // the observer first, so it sees every other session
  for (uint32_t i = 1; i < sess_.size(); ++i) sess_[i].due_us = now + rand_us(kMaxIdleUs);
  ending_ = true;  // no other session starts before the observer is in
  loop_until(now + kSetupLimitUs, &Churn::observer_in);
  ending_ = false;
  st_.t0 = mono_us();
  if (sess_[0].welcomed) loop_until(st_.t0 + int64_t(opt_.duration_s * 1e6), &Churn::never);
  st_.t_stop = mono_us();
  ending_ = true;
  loop_until(st_.t_stop + kEndLimitUs, &Churn::others_gone);
  loop_until(mono_us() + kObserveLimitUs, &Churn::observed_all);
  st_.all_left = others_gone();
  if (sess_[0].step == Step::chatting) {
    sess_[0].step = Step::closing;
    sess_[0].due_us = mono_us() + kCloseWaitUs;
    ++st_.leaves[0];
    pool_.send_close(pool_.conn(0), 1000);
  }
  loop_until(mono_us() + kCloseWaitUs + kSetupLimitUs, &Churn::all_gone);
  st_.all_left = st_.all_left && all_gone();
  st_.t_end = mono_us();
  st_.cpu1 = cpu_seconds();
  for (uint32_t i = 1; i < sess_.size(); ++i) {
    const Session& s = sess_[i];
    st_.join_events_missing += s.welcomes > s.join_events ? s.welcomes - s.join_events : 0;
    st_.leave_mismatch += s.leave_events != s.welcomes;
    st_.leave_events += s.leave_events;
  }
  st_.observer_joined = sess_[0].welcomes > 0;
  if (opt_.server_pid) {
    loop_until(mono_us() + kSettleUs, &Churn::never);
    st_.rss_end_kib = service_rss_kib(opt_.server_pids);
  }
  return print_churn_report(opt_, st_);
}

}  // namespace

int run_churn(const Options& opt) {
  Churn r(opt);
  return r.run();
}

}  // namespace chatd::load
