// Fan-out run: join everyone, then send for a fixed time and verify that
// every client saw every message exactly once, in id order. With --rooms the
// clients are spread over rooms r0.., each with its own senders; every
// event must then carry its receiver's room, and every member of a room
// must have seen the same event under each id. With --ports the clients
// are spread over several nodes of one service, and that same-event check
// runs across all of them (in the one room too): every node must deliver
// one id order.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "client_pool.h"
#include "event_scan.h"
#include "histogram.h"
#include "modes.h"
#include "report.h"
#include "rooms.h"

namespace chatd::load {

namespace {

constexpr int64_t kJoinTimeoutUs = 120'000'000;  // all clients joined by then, or give up
constexpr int64_t kMaxTurnUs = 50'000;           // longest epoll wait, so phases end on time

struct ClientState {
  uint64_t last_id = 0;    // last event id seen (0: none yet)
  bool joined = false;     // welcome received
  uint32_t in_flight = 0;  // senders: own messages not yet seen back
};

enum class Phase : uint8_t { joining, sending, draining };

class Fanout final : public ConnHandler {
 public:
  explicit Fanout(const Options& o)
      : opt_(o),
        pool_(o, *this),
        state_(o.clients),
        order_(o.rooms),
        room_sent_(std::max(o.rooms, 1u)),
        room_members_(std::max(o.rooms, 1u)),
        cross_check_(o.rooms > 0 || o.ports.size() > 1),
        port_joined_(o.ports.size()),
        port_deliveries_(o.ports.size()),
        port_latency_(o.ports.size()) {
    text_.resize(kMaxSize + kMaxRequestHead);
    for (uint32_t i = 0; i < o.clients; ++i) ++room_members_[room_of(i, o.rooms)];
  }

  int run();

  void on_open(Conn& c) override {
    char join[kMaxRequestHead];
    size_t n = format_join(join, 'u', c.index, opt_.rooms > 0, room_of(c.index, opt_.rooms));
    pool_.send_text(c, join, n);
  }

  void on_text(Conn& c, const char* p, size_t n) override {
    ScannedEvent ev = scan_event(p, n);
    ClientState& s = state_[c.index];
    if (ev.kind == EventKind::welcome) {
      if (!s.joined) {
        ++joined_;
        ++port_joined_[c.port_slot];
      }
      s.joined = true;
      return;
    }
    if (ev.kind == EventKind::error) {
      ++errors_;
      return;
    }
    if (cross_check_ && ev.has_id) check_room(c.index, p, n, ev.id);
    if (ev.has_id) {
      if (s.last_id != 0 && ev.id != s.last_id + 1) {
        if (ev.id > s.last_id)
          gaps_ += ev.id - s.last_id - 1;
        else
          ++duplicates_;
      }
      if (ev.id > s.last_id) s.last_id = ev.id;
    }
    if (ev.kind != EventKind::msg) return;
    if (!ev.ours) {
      ++foreign_;
      return;
    }
    ++deliveries_;
    ++port_deliveries_[c.port_slot];
    if (phase_ == Phase::sending) ++deliveries_window_;
    const int64_t latency_us = pool_.read_time_us() - ev.send_us;
    latency_.record(latency_us);
    if (port_latency_.size() > 1) port_latency_[c.port_slot].record(latency_us);
    if (ev.sender == c.index && c.index < opt_.senders && s.in_flight > 0) {
      --s.in_flight;
      if (phase_ == Phase::sending && opt_.rate == 0) send_one(c.index, mono_us());
    }
  }

  void on_closed(Conn&, CloseReason why, uint16_t) override {
    if (why == CloseReason::connect_failed || why == CloseReason::handshake_failed)
      ++setup_failures_;
    else
      ++closes_;
  }

 private:
  // Counts an event that names another room than the receiver's, or that
  // differs from what another member of the room (on any node) saw under
  // the same id.
  void check_room(uint32_t index, const char* p, size_t n, uint64_t id) {
    const uint32_t room = room_of(index, opt_.rooms);
    char name[12];
    if (opt_.rooms > 0 && scan_room(p, n) != std::string_view(name, format_room(name, room)))
      ++wrong_room_;
    if (!order_.check(room, id, event_hash(p, n))) ++mismatches_;
  }

  void send_one(uint32_t sender, int64_t stamp_us) {
    const uint32_t room = room_of(sender, opt_.rooms);
    const size_t head = format_msg_head(text_.data(), opt_.rooms > 0, room);
    size_t len = head + format_text(text_.data() + head, opt_.size, stamp_us, sender);
    text_[len++] = '"';
    text_[len++] = '}';
    if (!pool_.send_text(pool_.conn(sender), text_.data(), len)) return;
    ++state_[sender].in_flight;
    ++room_sent_[room];
    ++sent_;
    if (phase_ == Phase::sending) ++sent_window_;
  }

  bool wait_for_joins();
  void send_phase();
  void drain_phase();
  int report();
  // Deliveries due for everything sent: each message once per member of its room.
  uint64_t expected() const {
    uint64_t sum = 0;
    for (size_t r = 0; r < room_sent_.size(); ++r) sum += room_sent_[r] * room_members_[r];
    return sum;
  }

  const Options& opt_;
  ClientPool pool_;
  std::vector<ClientState> state_;
  std::vector<char> text_;
  RoomOrder order_;
  std::vector<uint64_t> room_sent_, room_members_;  // per room (one when there are none)
  uint64_t wrong_room_ = 0, mismatches_ = 0;
  const bool cross_check_;  // the same event under each id for every member
  // Per node (Options::ports): clients joined there, deliveries to them, and
  // their latencies (kept only with several nodes).
  std::vector<uint64_t> port_joined_, port_deliveries_;
  std::vector<LatencyHistogram> port_latency_;
  LatencyHistogram latency_;
  Phase phase_ = Phase::joining;
  uint32_t joined_ = 0, setup_failures_ = 0, closes_ = 0;
  uint64_t sent_ = 0, sent_window_ = 0, deliveries_ = 0, deliveries_window_ = 0;
  uint64_t gaps_ = 0, duplicates_ = 0, errors_ = 0, foreign_ = 0;
  int64_t t_join_ = 0, t0_ = 0, t_stop_ = 0, t_end_ = 0;
  double cpu0_ = 0, cpu_stop_ = 0;
  double server_cpu0_ = -1, server_cpu_stop_ = -1;  // the server's CPU seconds, if known
};

bool Fanout::wait_for_joins() {
  int64_t start = mono_us();
  while (joined_ + setup_failures_ + closes_ < opt_.clients) {
    pool_.pump_connects(opt_.inflight);
    if (pool_.run_once(10'000) < 0 || mono_us() - start > kJoinTimeoutUs) break;
  }
  t_join_ = mono_us() - start;
  return joined_ == opt_.clients;
}

void Fanout::send_phase() {
  phase_ = Phase::sending;
  t0_ = mono_us();
  cpu0_ = cpu_seconds();
  if (opt_.server_pid) server_cpu0_ = service_cpu_seconds(opt_.server_pids);
  const int64_t duration_us = static_cast<int64_t>(opt_.duration_s * 1e6);
  // Paced mode: each sender keeps its own schedule, staggered so the total
  // stream is evenly spaced at `rate`.
  const double interval_us = opt_.rate > 0 ? 1e6 * opt_.senders / opt_.rate : 0;
  std::vector<double> due_exact(opt_.senders);
  for (uint32_t s = 0; s < opt_.senders; ++s) {
    due_exact[s] = double(t0_) + s * 1e6 / std::max(opt_.rate, 1e-9);
    if (opt_.rate == 0)
      for (uint32_t w = 0; w < opt_.window; ++w) send_one(s, mono_us());
  }
  for (;;) {
    int64_t now = mono_us();
    if (now - t0_ >= duration_us) break;
    int64_t wait = std::min<int64_t>(kMaxTurnUs, t0_ + duration_us - now);
    if (opt_.rate > 0) {
      for (uint32_t s = 0; s < opt_.senders; ++s) {
        // Open loop: a message is stamped with the time it was due, so a
        // server that falls behind shows up as latency, not as a lower rate.
        while (int64_t(due_exact[s]) <= now) {
          send_one(s, int64_t(due_exact[s]));
          due_exact[s] += interval_us;
        }
        wait = std::min<int64_t>(wait, int64_t(due_exact[s]) - now);
      }
    }
    if (pool_.run_once(wait) < 0) break;
  }
  t_stop_ = mono_us();
  cpu_stop_ = cpu_seconds();
  if (opt_.server_pid) server_cpu_stop_ = service_cpu_seconds(opt_.server_pids);
}

void Fanout::drain_phase() {
  phase_ = Phase::draining;
  const int64_t limit = mono_us() + static_cast<int64_t>(opt_.drain_s * 1e6);
  const uint64_t expected = this->expected();
  while (deliveries_ < expected && mono_us() < limit) {
    if (pool_.run_once(std::min<int64_t>(kMaxTurnUs, limit - mono_us())) < 0) break;
  }
  t_end_ = mono_us();
}

int Fanout::report() {
  const double secs = double(t_stop_ - t0_) / 1e6;
  const uint64_t expected = this->expected();
  const bool match = deliveries_ == expected;
  const double cpu_pct = secs > 0 ? 100.0 * (cpu_stop_ - cpu0_) / secs : 0;
  // The server's CPU over the sending window, per delivery in that window:
  // a rate at 100 % of a core is a cost per delivery, this says which.
  const bool have_server_cpu = server_cpu0_ >= 0 && server_cpu_stop_ >= 0;
  const double server_cpu_s = have_server_cpu ? server_cpu_stop_ - server_cpu0_ : 0;
  const double server_pct = have_server_cpu && secs > 0 ? 100.0 * server_cpu_s / secs : 0;
  const double server_ns_per_delivery = have_server_cpu && deliveries_window_ > 0
                                            ? 1e9 * server_cpu_s / double(deliveries_window_)
                                            : 0;
  const bool all_joined = joined_ == opt_.clients;
  const bool ok = all_joined && match && gaps_ == 0 && duplicates_ == 0 && errors_ == 0 &&
                  closes_ == 0 && setup_failures_ == 0 && wrong_room_ == 0 && mismatches_ == 0;
  const double p50 = double(latency_.percentile(0.5)), p90 = double(latency_.percentile(0.9)),
               p99 = double(latency_.percentile(0.99)), p999 = double(latency_.percentile(0.999));
  if (!opt_.json_only) {
    std::printf("fanout %s:%s: %u clients (joined in %.2f s), %u senders, %s %g, %u B, %.2f s\n",
                opt_.host.c_str(), port_list(opt_).c_str(), opt_.clients, double(t_join_) / 1e6,
                opt_.senders, opt_.rate > 0 ? "rate" : "window",
                opt_.rate > 0 ? opt_.rate : double(opt_.window), opt_.size, secs);
    if (opt_.rooms > 0)
      std::printf(
          "  rooms        %u (%llu to %llu clients each), checks: wrong room %llu, "
          "differing events %llu\n",
          opt_.rooms, (unsigned long long)room_members_.back(),
          (unsigned long long)room_members_.front(), (unsigned long long)wrong_room_,
          (unsigned long long)mismatches_);
    if (opt_.ports.size() > 1) {
      std::printf("  nodes        %zu, differing events across them %llu\n", opt_.ports.size(),
                  (unsigned long long)mismatches_);
      for (size_t k = 0; k < opt_.ports.size(); ++k)
        std::printf("    :%u        %llu joined, %llu deliveries, p99 %llu us\n", opt_.ports[k],
                    (unsigned long long)port_joined_[k], (unsigned long long)port_deliveries_[k],
                    (unsigned long long)port_latency_[k].percentile(0.99));
    }
    std::printf("  sent         %llu msgs, %.0f/s\n", (unsigned long long)sent_window_,
                secs > 0 ? double(sent_window_) / secs : 0);
    std::printf("  deliveries   %.0f/s (%llu in the window, %llu in all, expected %llu: %s)\n",
                secs > 0 ? double(deliveries_window_) / secs : 0,
                (unsigned long long)deliveries_window_, (unsigned long long)deliveries_,
                (unsigned long long)expected, match ? "match" : "MISMATCH");
    std::printf("  latency us   p50 %.0f  p90 %.0f  p99 %.0f  p99.9 %.0f  max %llu\n", p50, p90,
                p99, p999, (unsigned long long)latency_.max());
    std::printf(
        "  checks       gaps %llu, duplicates %llu, errors %llu, closes %u, setup "
        "failures %u, foreign %llu\n",
        (unsigned long long)gaps_, (unsigned long long)duplicates_, (unsigned long long)errors_,
        closes_, setup_failures_, (unsigned long long)foreign_);
    std::printf("  chat_load    %.0f%% of one core%s\n", cpu_pct,
                cpu_pct > 90 ? " (SATURATED: figures are the load generator's limit)" : "");
    if (have_server_cpu)
      std::printf("  server       %.0f%% of one core, %.1f ns CPU per delivery\n", server_pct,
                  server_ns_per_delivery);
    if (!ok) std::printf("  RESULT: FAILED checks\n");
  }
  JsonLine j;
  j.add("mode", std::string_view("fanout"));
  j.add("clients", opt_.clients);
  j.add("senders", opt_.senders);
  j.add("window", opt_.rate > 0 ? 0u : opt_.window);
  j.add("rate", opt_.rate);
  j.add("size", opt_.size);
  j.add("duration_s", secs);
  j.add("join_s", double(t_join_) / 1e6);
  j.add("joined", joined_);
  j.add("sent", sent_window_);
  j.add("sent_total", sent_);
  j.add("sent_per_s", secs > 0 ? double(sent_window_) / secs : 0);
  j.add("deliveries", deliveries_window_);
  j.add("deliveries_per_s", secs > 0 ? double(deliveries_window_) / secs : 0);
  j.add("deliveries_total", deliveries_);
  j.add("expected_total", expected);
  j.add("deliveries_match", match);
  j.add("p50_us", p50);
  j.add("p90_us", p90);
  j.add("p99_us", p99);
  j.add("p999_us", p999);
  j.add("max_us", latency_.max());
  j.add("mean_us", latency_.mean());
  j.add("gaps", gaps_);
  j.add("duplicates", duplicates_);
  j.add("errors", errors_);
  j.add("closes", closes_);
  j.add("setup_failures", setup_failures_);
  j.add("load_cpu_pct", cpu_pct);
  if (opt_.rooms > 0) {
    j.add("rooms", opt_.rooms);
    j.add("wrong_room", wrong_room_);
  }
  if (cross_check_) j.add("mismatches", mismatches_);
  j.add("ports", std::vector<uint64_t>(opt_.ports.begin(), opt_.ports.end()));
  if (opt_.ports.size() > 1) {
    std::vector<uint64_t> p99s;
    for (const LatencyHistogram& h : port_latency_) p99s.push_back(h.percentile(0.99));
    j.add("nodes", uint64_t(opt_.ports.size()));
    j.add("port_joined", port_joined_);
    j.add("port_deliveries", port_deliveries_);
    j.add("port_p99_us", p99s);
  }
  if (have_server_cpu) {
    j.add("server_cpu_pct", server_pct);
    j.add("server_ns_per_delivery", server_ns_per_delivery);
  }
  j.add("ok", ok);
  std::printf("%s\n", j.str().c_str());
  return ok ? 0 : 1;
}

int Fanout::run() {
  if (long r = pool_.init(opt_.clients); r < 0) {
    std::fprintf(stderr, "chat_load: epoll: %s\n", std::strerror(int(-r)));
    return 3;
  }
  if (!wait_for_joins()) {
    // Measuring a half-joined room would report numbers nobody asked for.
    std::fprintf(stderr, "chat_load: only %u of %u clients joined (%u setup failures, %u closes)\n",
                 joined_, opt_.clients, setup_failures_, closes_);
    t0_ = t_stop_ = t_end_ = mono_us();
    return report();
  }
  send_phase();
  drain_phase();
  return report();
}

}  // namespace

int run_fanout(const Options& opt) {
  Fanout f(opt);
  return f.run();
}

}  // namespace chatd::load
