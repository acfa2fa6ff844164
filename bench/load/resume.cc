// Resume run: C clients join (one room, or spread over --rooms), then M of
// them drop abruptly (RST or a bare FIN, no close frame). Once the others
// have seen their leave events, the clients that stayed send S messages per
// room; then the M reconnect at once (up to --inflight in progress) and join
// again with since = the last id each saw and the epoch of its first welcome.
//
// Measured: the time from the start of the reconnects until every returning
// client has seen the newest id its room had then (the catch-up), and the
// replayed events received. With --ports a client comes back on the next
// node of the list, so every resume crosses nodes. Checked: every welcome is resumed under the same
// epoch, each returning client's ids continue exactly from its last id
// (replay, its join, later events: no gap, no duplicate), no errors, no
// closes the run did not cause.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "client_pool.h"
#include "event_scan.h"
#include "histogram.h"
#include "modes.h"
#include "report.h"
#include "rooms.h"

namespace chatd::load {

namespace {

constexpr int64_t kPhaseLimitUs = 60'000'000;  // each phase done by then, or the run fails
constexpr int64_t kTurnUs = 10'000;

struct Client {
  uint32_t room = 0;
  bool stays = false;      // sends while the others are away
  bool welcomed = false;   // the current session's welcome arrived
  bool returning = false;  // dropped, now reconnecting or back
  bool caught_up = false;
  uint64_t last_id = 0;          // last event id seen, across the drop
  uint64_t since = 0;            // last_id when it dropped
  uint64_t welcome_last_id = 0;  // of the current session's welcome
  uint64_t replayed = 0;         // events at or below welcome_last_id after a resume welcome
  uint32_t in_flight = 0;        // stayers: own messages not yet seen back
  std::string epoch;             // from the first welcome
};

struct RoomState {
  uint64_t head = 0;     // newest id any member has seen
  uint64_t target = 0;   // newest id when the reconnects start
  uint32_t dropped = 0;  // members that drop
  uint32_t to_send = 0;  // messages still to send while they are away
};

enum class Phase : uint8_t { joining, away, back };

class ResumeRun final : public ConnHandler {
 public:
  explicit ResumeRun(const Options& o)
      : opt_(o), pool_(o, *this), clients_(o.clients), rooms_(std::max(o.rooms, 1u)) {
    text_.resize(kMaxSize + kMaxRequestHead);
    // The first C - M clients stay (every room gets at least one, as
    // parse_options checked), the last M drop.
    for (uint32_t i = 0; i < o.clients; ++i) {
      clients_[i].room = room_of(i, o.rooms);
      clients_[i].stays = i < o.clients - o.drop;
      if (!clients_[i].stays) ++rooms_[clients_[i].room].dropped;
    }
  }

  int run();

  void on_open(Conn& c) override {
    Client& s = clients_[c.index];
    char join[kMaxRequestHead];
    // Rooms are always named, even without --rooms (room r0): a join that
    // names none is a version 1 client's, whose welcome has no epoch.
    size_t n = s.returning ? format_join(join, 'u', c.index, true, s.room, s.since,
                                         s.epoch.empty() ? std::string_view("-") : s.epoch)
                           : format_join(join, 'u', c.index, true, s.room);
    pool_.send_text(c, join, n);
  }

  void on_text(Conn& c, const char* p, size_t n) override {
    ScannedEvent ev = scan_event(p, n);
    Client& s = clients_[c.index];
    if (ev.kind == EventKind::welcome) return on_welcome(s, ev);
    if (ev.kind == EventKind::error) {
      ++errors_;
      return;
    }
    if (!ev.has_id) return;
    if (s.last_id != 0 && ev.id != s.last_id + 1) {
      if (ev.id > s.last_id)
        gaps_ += ev.id - s.last_id - 1;
      else
        ++duplicates_;
    }
    if (ev.id > s.last_id) s.last_id = ev.id;
    RoomState& r = rooms_[s.room];
    r.head = std::max(r.head, ev.id);
    if (s.returning && ev.id <= s.welcome_last_id) ++s.replayed;
    if (s.returning && !s.caught_up && phase_ == Phase::back && s.last_id >= r.target) {
      s.caught_up = true;
      ++caught_up_;
      const int64_t us = pool_.read_time_us() - t_back_;
      catch_up_.record(us);
      t_last_caught_ = std::max(t_last_caught_, pool_.read_time_us());
    }
    if (ev.kind == EventKind::msg && ev.ours && ev.sender == c.index && s.in_flight > 0) {
      --s.in_flight;
      send_more(c.index);
    }
  }

  void on_closed(Conn& c, CloseReason why, uint16_t) override {
    clients_[c.index].welcomed = false;
    if (why == CloseReason::local) return;  // our own drops
    if (why == CloseReason::connect_failed || why == CloseReason::handshake_failed)
      ++setup_failures_;
    else
      ++closes_;
  }

 private:
  void on_welcome(Client& s, const ScannedEvent& ev) {
    if (!s.welcomed) ++welcomed_;
    s.welcomed = true;
    s.welcome_last_id = ev.last_id;
    rooms_[s.room].head = std::max(rooms_[s.room].head, ev.last_id);
    if (!s.returning) {
      s.epoch.assign(ev.epoch);
      return;
    }
    if (!ev.resumed) ++not_resumed_;
    if (ev.epoch != s.epoch) ++epoch_changed_;
  }

  // Sends the stayer's next messages while its window and its room's quota allow.
  void send_more(uint32_t i) {
    Client& s = clients_[i];
    RoomState& r = rooms_[s.room];
    while (s.stays && s.in_flight < opt_.window && r.to_send > 0) {
      const size_t head = format_msg_head(text_.data(), true, s.room);
      size_t len = head + format_text(text_.data() + head, opt_.size, mono_us(), i);
      text_[len++] = '"';
      text_[len++] = '}';
      if (!pool_.send_text(pool_.conn(i), text_.data(), len)) return;
      ++s.in_flight;
      --r.to_send;
      ++sent_;
    }
  }

  // Runs the loop until done() or the phase limit; false on the limit.
  template <class Done>
  bool loop_until(Done done, bool pump = false) {
    const int64_t start = mono_us();
    while (!done()) {
      if (mono_us() - start > kPhaseLimitUs) return false;
      if (pump) pump_connects();
      if (pool_.run_once(kTurnUs) < 0) return false;
    }
    return true;
  }

  // Every connected client has seen its own join event (the id after its
  // welcome's last_id) and its room's newest id.
  bool settled() const {
    for (const Client& s : clients_)
      if (s.welcomed && (s.last_id <= s.welcome_last_id || s.last_id < rooms_[s.room].head))
        return false;
    return true;
  }

  // Starts connects (first joins, then the reconnects) up to --inflight.
  void pump_connects() {
    if (phase_ == Phase::joining) return pool_.pump_connects(opt_.inflight);
    while (pool_.in_progress() < opt_.inflight && next_back_ < back_.size())
      pool_.restart(pool_.conn(back_[next_back_++]));
  }

  bool join_all();
  void drop_some();
  bool send_while_away();
  bool come_back();
  int report(bool completed);

  const Options& opt_;
  ClientPool pool_;
  std::vector<Client> clients_;
  std::vector<RoomState> rooms_;
  std::vector<uint32_t> back_;  // the clients that drop, in reconnect order
  size_t next_back_ = 0;
  std::vector<char> text_;
  LatencyHistogram catch_up_;
  Phase phase_ = Phase::joining;
  uint32_t welcomed_ = 0, caught_up_ = 0, setup_failures_ = 0, closes_ = 0;
  uint64_t sent_ = 0, gaps_ = 0, duplicates_ = 0, errors_ = 0;
  uint64_t not_resumed_ = 0, epoch_changed_ = 0;
  int64_t t_join_ = 0, t_away_ = 0, t_back_ = 0, t_last_caught_ = 0;
};

bool ResumeRun::join_all() {
  const int64_t start = mono_us();
  bool ok = loop_until(
      [&] { return welcomed_ + setup_failures_ + closes_ >= opt_.clients && settled(); }, true);
  t_join_ = mono_us() - start;
  return ok && welcomed_ == opt_.clients;
}

void ResumeRun::drop_some() {
  phase_ = Phase::away;
  for (uint32_t i = 0; i < opt_.clients; ++i) {
    Client& s = clients_[i];
    if (s.stays) continue;
    s.since = s.last_id;
    s.returning = true;
    back_.push_back(i);
    // "all" alternates the two abrupt ends; neither sends a close frame.
    const bool rst = opt_.leave == "rst" || (opt_.leave == "all" && back_.size() % 2 == 1);
    pool_.abort(pool_.conn(i), rst);
  }
}

bool ResumeRun::send_while_away() {
  const int64_t start = mono_us();
  // The leave events first, so that what is sent next is all the away
  // clients miss, and the server has dropped their nicks.
  std::vector<uint64_t> after_leaves(rooms_.size());
  for (size_t r = 0; r < rooms_.size(); ++r) after_leaves[r] = rooms_[r].head + rooms_[r].dropped;
  bool ok = loop_until([&] {
    for (const Client& s : clients_)
      if (s.stays && s.last_id < after_leaves[s.room]) return false;
    return true;
  });
  for (RoomState& r : rooms_) r.to_send = opt_.messages;
  for (uint32_t i = 0; i < opt_.clients; ++i) send_more(i);
  ok = ok && loop_until([&] {
         for (const RoomState& r : rooms_)
           if (r.to_send > 0) return false;
         for (const Client& s : clients_)
           if (s.stays && (s.in_flight > 0 || s.last_id < rooms_[s.room].head)) return false;
         return true;
       });
  t_away_ = mono_us() - start;
  return ok;
}

bool ResumeRun::come_back() {
  for (RoomState& r : rooms_) r.target = r.head;
  phase_ = Phase::back;
  t_back_ = t_last_caught_ = mono_us();
  const uint32_t returning = static_cast<uint32_t>(back_.size());
  bool ok = loop_until([&] { return caught_up_ + setup_failures_ + closes_ >= returning; }, true);
  // Then everyone sees the rejoins, so the id checks cover them too.
  return loop_until([&] { return settled(); }) && ok && caught_up_ == returning;
}

int ResumeRun::report(bool completed) {
  const uint32_t returning = static_cast<uint32_t>(back_.size());
  uint64_t replayed = 0, missed = 0, short_replays = 0;
  for (const Client& s : clients_) {
    if (!s.returning) continue;
    replayed += s.replayed;
    missed += rooms_[s.room].target - s.since;
    if (s.replayed != s.welcome_last_id - std::min(s.since, s.welcome_last_id)) ++short_replays;
  }
  const double catch_up_s = caught_up_ == returning ? double(t_last_caught_ - t_back_) / 1e6 : 0;
  const bool ok = completed && caught_up_ == returning && gaps_ == 0 && duplicates_ == 0 &&
                  errors_ == 0 && closes_ == 0 && setup_failures_ == 0 && not_resumed_ == 0 &&
                  epoch_changed_ == 0 && short_replays == 0;
  const double p50 = double(catch_up_.percentile(0.5)), p99 = double(catch_up_.percentile(0.99));
  if (!opt_.json_only) {
    std::printf(
        "resume %s:%s: %u clients in %u room(s) (joined in %.2f s), %u drop (%s), %u "
        "msgs per room while away (%.2f s)\n",
        opt_.host.c_str(), port_list(opt_).c_str(), opt_.clients, std::max(opt_.rooms, 1u),
        double(t_join_) / 1e6, returning, opt_.leave.c_str(), opt_.messages, double(t_away_) / 1e6);
    std::printf("  catch-up     %u of %u back in %.3f s (p50 %.1f ms, p99 %.1f ms)\n", caught_up_,
                returning, catch_up_s, p50 / 1e3, p99 / 1e3);
    std::printf("  replayed     %llu events (%.1f per client; %llu missed)\n",
                (unsigned long long)replayed, returning ? double(replayed) / returning : 0,
                (unsigned long long)missed);
    std::printf(
        "  checks       gaps %llu, duplicates %llu, not resumed %llu, epoch changed %llu, "
        "short replays %llu, errors %llu, closes %u, setup failures %u\n",
        (unsigned long long)gaps_, (unsigned long long)duplicates_,
        (unsigned long long)not_resumed_, (unsigned long long)epoch_changed_,
        (unsigned long long)short_replays, (unsigned long long)errors_, closes_, setup_failures_);
    if (!ok) std::printf("  RESULT: FAILED checks\n");
  }
  JsonLine j;
  j.add("mode", std::string_view("resume"));
  j.add("clients", opt_.clients);
  j.add("rooms", std::max(opt_.rooms, 1u));
  j.add("dropped", returning);
  j.add("leave", std::string_view(opt_.leave));
  j.add("messages_per_room", opt_.messages);
  j.add("size", opt_.size);
  j.add("join_s", double(t_join_) / 1e6);
  j.add("away_s", double(t_away_) / 1e6);
  j.add("sent", sent_);
  j.add("caught_up", caught_up_);
  j.add("catch_up_s", catch_up_s);
  j.add("catch_up_p50_us", p50);
  j.add("catch_up_p99_us", p99);
  j.add("catch_up_max_us", catch_up_.max());
  j.add("replayed", replayed);
  j.add("replayed_per_client", returning ? double(replayed) / returning : 0);
  j.add("missed", missed);
  j.add("gaps", gaps_);
  j.add("duplicates", duplicates_);
  j.add("not_resumed", not_resumed_);
  j.add("epoch_changed", epoch_changed_);
  j.add("short_replays", short_replays);
  j.add("errors", errors_);
  j.add("closes", closes_);
  j.add("setup_failures", setup_failures_);
  j.add("ports", std::vector<uint64_t>(opt_.ports.begin(), opt_.ports.end()));
  j.add("ok", ok);
  std::printf("%s\n", j.str().c_str());
  return ok ? 0 : 1;
}

int ResumeRun::run() {
  if (long r = pool_.init(opt_.clients); r < 0) {
    std::fprintf(stderr, "chat_load: epoll: %s\n", std::strerror(int(-r)));
    return 3;
  }
  if (!join_all()) {
    std::fprintf(stderr, "chat_load: only %u of %u clients joined (%u setup failures, %u closes)\n",
                 welcomed_, opt_.clients, setup_failures_, closes_);
    return report(false);
  }
  drop_some();
  if (!send_while_away()) {
    std::fprintf(stderr, "chat_load: the messages sent while away did not all arrive\n");
    return report(false);
  }
  return report(come_back());
}

}  // namespace

int run_resume(const Options& opt) {
  ResumeRun r(opt);
  return r.run();
}

}  // namespace chatd::load
