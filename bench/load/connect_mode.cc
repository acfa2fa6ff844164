// Connect run: open N WebSockets as fast as the in-progress cap allows, hold
// them, and measure handshakes/s and the server's memory per connection.
// With --rooms-per-conn K each connection joins K rooms (r0.. spread over
// --rooms, K consecutive ones mod N), so runs with different K give the
// server's memory per extra membership.
#include <cstdio>
#include <cstring>
#include <string_view>
#include <vector>

#include "client_pool.h"
#include "event_scan.h"
#include "modes.h"
#include "report.h"
#include "rooms.h"

namespace chatd::load {

namespace {

constexpr int64_t kSetupTimeoutUs = 120'000'000;  // every connection up by then, or give up
constexpr int64_t kSettleUs = 500'000;            // quiet time before reading the server's RSS
constexpr int64_t kTurnUs = 10'000;

class ConnectRun final : public ConnHandler {
 public:
  explicit ConnectRun(const Options& o) : opt_(o), pool_(o, *this) {}

  int run();

  void on_open(Conn& c) override {
    t_last_open_ = mono_us();
    if (!opt_.join) {
      ++ready_;
      return;
    }
    if (opt_.rooms_per_conn > 0) return join_rooms(c);
    char join[64];
    int n = std::snprintf(join, sizeof join, "{\"type\":\"join\",\"nick\":\"c%u\"}", c.index);
    pool_.send_text(c, join, static_cast<size_t>(n));
  }

  void on_text(Conn& c, const char* p, size_t n) override {
    ScannedEvent ev = scan_event(p, n);
    if (opt_.rooms_per_conn > 0) return on_room_answer(c, ev.kind);
    if (ev.kind == EventKind::welcome) ++ready_;
    if (ev.kind == EventKind::error) ++errors_;
  }

  void on_closed(Conn&, CloseReason why, uint16_t code) override {
    if (why == CloseReason::connect_failed)
      ++connect_failures_;
    else if (why == CloseReason::handshake_failed)
      ++handshake_failures_;
    else
      ++closes_;
    if (holding_) ++closes_in_hold_;
    if (code) last_close_code_ = code;
  }

 private:
  bool settled() const {
    return ready_ + refused_ + connect_failures_ + handshake_failures_ + closes_ >= opt_.clients;
  }
  void loop_for(int64_t us) {
    const int64_t end = mono_us() + us;
    for (int64_t now = mono_us(); now < end; now = mono_us())
      if (pool_.run_once(std::min(kTurnUs, end - now)) < 0) break;
  }
  int report(double setup_s, double cpu_pct, long rss_before, long rss_after);

  // Joins rooms (index * K + j) mod N for j < K: distinct as K <= N, and
  // every room gets about C * K / N members.
  void join_rooms(Conn& c) {
    char join[kMaxRequestHead];
    for (uint32_t j = 0; j < opt_.rooms_per_conn; ++j) {
      uint32_t room = uint32_t((uint64_t(c.index) * opt_.rooms_per_conn + j) % opt_.rooms);
      pool_.send_text(c, join, format_join(join, 'c', c.index, true, room));
    }
  }
  // A connection is ready once every one of its rooms welcomed it, and
  // refused once each answered and one of them with an error.
  void on_room_answer(Conn& c, EventKind kind) {
    if (kind != EventKind::welcome && kind != EventKind::error) return;
    if (answers_.empty()) answers_.resize(opt_.clients);
    Answers& a = answers_[c.index];
    if (kind == EventKind::welcome) ++a.welcomes, ++memberships_;
    if (kind == EventKind::error) ++a.errors, ++errors_;
    if (a.welcomes + a.errors < opt_.rooms_per_conn) return;
    if (a.errors == 0)
      ++ready_;
    else
      ++refused_;
  }

  const Options& opt_;
  ClientPool pool_;
  struct Answers {
    uint8_t welcomes = 0, errors = 0;
  };
  std::vector<Answers> answers_;  // --rooms-per-conn: per connection
  uint64_t memberships_ = 0;
  uint32_t refused_ = 0;  // connections with an error among their joins
  bool holding_ = false;
  uint32_t ready_ = 0, connect_failures_ = 0, handshake_failures_ = 0, closes_ = 0;
  uint32_t closes_in_hold_ = 0, errors_ = 0;
  uint16_t last_close_code_ = 0;
  int64_t t_last_open_ = 0;
  int64_t t0_ = 0;
};

int ConnectRun::run() {
  if (long r = pool_.init(opt_.clients); r < 0) {
    std::fprintf(stderr, "chat_load: epoll: %s\n", std::strerror(int(-r)));
    return 3;
  }
  const long rss_before = opt_.server_pid ? service_rss_kib(opt_.server_pids) : -1;
  t0_ = t_last_open_ = mono_us();
  const double cpu0 = cpu_seconds();
  while (!settled() && mono_us() - t0_ < kSetupTimeoutUs) {
    pool_.pump_connects(opt_.inflight);
    if (pool_.run_once(kTurnUs) < 0) break;
  }
  const double setup_s = double(mono_us() - t0_) / 1e6;
  const double cpu_pct = setup_s > 0 ? 100.0 * (cpu_seconds() - cpu0) / setup_s : 0;
  // Let join events and the server's own bookkeeping finish, and hold the
  // connections, before measuring: the figure is what holding them costs,
  // not the high-water mark of setting them up.
  loop_for(kSettleUs);
  holding_ = true;
  loop_for(static_cast<int64_t>(opt_.hold_s * 1e6));
  holding_ = false;
  const long rss_after = opt_.server_pid ? service_rss_kib(opt_.server_pids) : -1;
  return report(setup_s, cpu_pct, rss_before, rss_after);
}

int ConnectRun::report(double setup_s, double cpu_pct, long rss_before, long rss_after) {
  const double open_s = double(t_last_open_ - t0_) / 1e6;
  const double hs_per_s = open_s > 0 ? pool_.opened() / open_s : 0;
  const bool have_rss = rss_before >= 0 && rss_after >= 0 && ready_ > 0;
  const double rss_per_conn = have_rss ? double(rss_after - rss_before) * 1024.0 / ready_ : 0;
  const uint32_t held = ready_ >= closes_ ? ready_ - closes_ : 0;
  const bool ok = ready_ == opt_.clients && connect_failures_ == 0 && handshake_failures_ == 0 &&
                  closes_ == 0 && errors_ == 0;
  if (!opt_.json_only) {
    std::printf("connect %s:%s: %u connections%s, inflight cap %u, %u source addresses\n",
                opt_.host.c_str(), port_list(opt_).c_str(), opt_.clients,
                opt_.join ? " with join" : "", opt_.inflight, opt_.sources);
    std::printf("  ready        %u in %.2f s (handshakes %.0f/s)\n", ready_, setup_s, hs_per_s);
    std::printf("  held         %u after %.1f s (closes in hold %u, last close code %u)\n", held,
                opt_.hold_s, closes_in_hold_, last_close_code_);
    std::printf("  failures     connect %u, handshake %u, closes %u, errors %u\n",
                connect_failures_, handshake_failures_, closes_, errors_);
    if (have_rss)
      std::printf("  server RSS   %ld KiB -> %ld KiB: %.0f B per connection\n", rss_before,
                  rss_after, rss_per_conn);
    if (opt_.rooms_per_conn > 0)
      std::printf("  rooms        %u per connection over %u rooms: %llu memberships\n",
                  opt_.rooms_per_conn, opt_.rooms, (unsigned long long)memberships_);
    std::printf("  chat_load    %.0f%% of one core during setup\n", cpu_pct);
    if (!ok) std::printf("  RESULT: FAILED checks\n");
  }
  JsonLine j;
  j.add("mode", std::string_view("connect"));
  j.add("connections", opt_.clients);
  j.add("join", opt_.join);
  j.add("ready", ready_);
  j.add("held", held);
  j.add("setup_s", setup_s);
  j.add("handshakes_per_s", hs_per_s);
  j.add("connect_failures", connect_failures_);
  j.add("handshake_failures", handshake_failures_);
  j.add("closes", closes_);
  j.add("closes_in_hold", closes_in_hold_);
  j.add("errors", errors_);
  j.add("rss_before_kib", static_cast<int64_t>(rss_before));
  j.add("rss_after_kib", static_cast<int64_t>(rss_after));
  j.add("rss_per_conn_bytes", rss_per_conn);
  j.add("hold_s", opt_.hold_s);
  if (opt_.rooms_per_conn > 0) {
    j.add("rooms_per_conn", opt_.rooms_per_conn);
    j.add("rooms", opt_.rooms);
    j.add("memberships", memberships_);
    j.add("rss_delta_bytes", have_rss ? double(rss_after - rss_before) * 1024.0 : 0.0);
  }
  j.add("load_cpu_pct", cpu_pct);
  j.add("ports", std::vector<uint64_t>(opt_.ports.begin(), opt_.ports.end()));
  j.add("ok", ok);
  std::printf("%s\n", j.str().c_str());
  return ok ? 0 : 1;
}

}  // namespace

int run_connect(const Options& opt) {
  ConnectRun r(opt);
  return r.run();
}

}  // namespace chatd::load
