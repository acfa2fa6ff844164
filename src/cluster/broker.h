// Broker: this node's side of the cluster. It turns proposals into calls of
// the broker script (number, append, publish in one atomic step), follows
// each room this node has members in on its channel, and hands the app
// every event of those rooms in id order, gap-free: a gap on the
// subscription is filled from the room's log before anything later goes
// through, and a room whose log is gone comes back as a fresh snapshot. It
// also beats the node's heartbeat, reaps dead nodes, and says when Redis is
// too far away to serve (down, or silent: the oldest command unanswered
// past a bound).
//
// Two RedisClients on the app's loop: one for commands (replies come back
// in the order sent, so each reply is matched with the front of a FIFO of
// what was sent: no allocation per command) and one for subscriptions.
//
// Ownership: owns both clients and the per-room feeds; views handed to the
// hooks live only during the call. Hooks run on the loop from inside
// on_events()/on_timer(); they may call publish() and the other senders but
// not watch()/unwatch() for the room being reported.
#pragma once

#include <cstdint>
#include <deque>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "cluster/event_body.h"
#include "cluster/redis_client.h"

namespace chatd {

struct BrokerOptions {
  RedisUrl url;
  std::string node_id;
  int64_t node_timeout_ms = 10000;
  uint64_t retain_events = 100000;  // the cap of each room's log (0: none)
  uint32_t snapshot_events = 1000;  // the newest events a first sync brings
  uint32_t max_held = 10000;        // pushes held per room while it catches up
  size_t max_held_bytes = 4 << 20;  // and their bytes
  uint64_t seed = 1;                // backoff jitter and fresh epochs
};

// One member of a room as Redis lists it.
struct BrokerMember {
  uint64_t join_id = 0;
  std::string_view node;
  uint64_t token = 0;  // the member's id on its node
  std::string_view nick;
};

// One event of a room, numbered by Redis.
struct FeedEvent {
  uint64_t id = 0;
  EventBody body;
};

// A room as Redis has it now. `reset`: the node knew the room, but its
// history as the node knew it is gone (a new epoch, or the log no longer
// reaches the node's last id): members must start again.
struct RoomSnapshot {
  std::string_view room;
  std::string_view epoch;
  uint64_t last_id = 0;
  uint64_t oldest = 0;  // the oldest id in the log (last_id + 1 if empty)
  bool reset = false;
  std::span<const BrokerMember> members;  // in join order
  std::span<const FeedEvent> recent;      // oldest first, ending at last_id
};

enum class PublishStatus {
  ok,          // numbered: the event comes back on the room's channel
  lost,        // the connection dropped: it may or may not have run
  nick_taken,  // another connection on some node holds the nick
  not_member,  // the member is not in the room any more (reaped)
  resync,      // the room started again: the node must catch up first
  reaped,      // this node was declared dead
  failed,      // any other error: nothing was done
};

// One line of the service's room list.
struct ListedRoom {
  std::string_view room;
  uint64_t users = 0;
  uint64_t last_id = 0;
};

struct BrokerHooks {
  void* app = nullptr;
  void (*synced)(void* app, const RoomSnapshot& s) = nullptr;
  // Every event after the last snapshot, in id order, each exactly once.
  void (*event)(void* app, std::string_view room, const FeedEvent& e) = nullptr;
  // The room has caught up with Redis: proposals for it may be published,
  // and a publish whose answer was lost before this point never ran.
  void (*live)(void* app, std::string_view room) = nullptr;
  // The answer to publish(): `id` is the event's when ok (its epoch is the
  // one published with), 0 otherwise. Answers come in the order sent, each
  // before the snapshot of a sync sent after it.
  void (*published)(void* app, uint64_t cookie, PublishStatus status, uint64_t id) = nullptr;
  // The answer to list_rooms(): ok false if Redis failed to answer.
  void (*rooms)(void* app, uint64_t cookie, std::span<const ListedRoom> rooms, bool ok) = nullptr;
  // The answer to read_page(): the room's epoch and oldest kept id, and the
  // events found (oldest first, consecutive); ok false if Redis failed.
  void (*page)(void* app, uint64_t cookie, std::string_view epoch, uint64_t oldest,
               std::span<const FeedEvent> events, bool ok) = nullptr;
  void (*health)(void* app, bool up) = nullptr;
  // Another node declared this one dead and announced its members' leaves.
  void (*reaped)(void* app) = nullptr;
};

// What a node proposes; views are the caller's.
struct BrokerProposal {
  std::string_view room;
  std::string_view epoch;  // the room's epoch as the node synced it
  std::string_view nick_key;
  uint64_t token = 0;  // the member
  EventBody body;      // body.node and body.cookie are filled in
};

struct BrokerStats {
  uint64_t events_in = 0;   // events received and handed on
  uint64_t events_out = 0;  // proposals numbered by Redis
  uint64_t gaps_filled = 0;
  uint64_t snapshots = 0;
  uint64_t resets = 0;
  uint64_t reaped_nodes = 0;  // nodes this one reaped
  uint64_t held_overflows = 0;
  uint64_t bad_payloads = 0;
  uint64_t nodes = 0;  // live nodes, at the last heartbeat
};

class Broker {
 public:
  Broker(EventLoop& loop, uint64_t command_token, uint64_t subscription_token,
         BrokerOptions options, BrokerHooks hooks);
  ~Broker() { closing_ = true; }
  Broker(const Broker&) = delete;
  Broker& operator=(const Broker&) = delete;

  void start();
  // Both connections up, the script loaded, the node registered, and Redis
  // answering: requests that need Redis may go.
  bool ready() const { return registered_ && sub_.state() == RedisState::ready && !stalled_; }
  // Why not, for /healthz.
  std::string_view why_not_ready() const;
  const std::string& node_id() const { return options_.node_id; }

  // The node has members in `room` (or one is joining): follow it. The
  // first snapshot comes through hooks.synced, then live.
  void watch(std::string_view room);
  // No member left: stop following it.
  void unwatch(std::string_view room);
  bool live(std::string_view room) const;
  // A publish answered `resync`: catch the room up before anything else.
  void resync(std::string_view room);

  SendResult publish(const BrokerProposal& p, uint64_t cookie);
  SendResult list_rooms(uint64_t cookie);
  // Reads events [from, before) of `room` from its log (a history page).
  SendResult read_page(std::string_view room, uint64_t from, uint64_t before, uint64_t cookie);
  SendResult release_nick(std::string_view nick_key, uint64_t token);
  // Leaves the cluster (shutdown): every member's leave, nicks freed. Done
  // when bye_pending() turns false.
  SendResult bye();
  bool bye_pending() const { return bye_pending_; }

  void on_events(uint64_t token, uint32_t events);
  int64_t next_deadline_ms() const;
  void on_timer(int64_t now_ms);

  const BrokerStats& stats() const { return stats_; }
  const RedisClient& commands() const { return cmd_; }
  const RedisClient& subscriptions() const { return sub_; }

 private:
  enum class Sent : uint8_t { load, beat, pub, sync, page, rooms, release, forget, bye };
  struct Expect {
    Sent kind;
    uint64_t cookie = 0;
    int64_t sent_ms = 0;
    std::string room;  // sync only
  };
  struct Feed {
    bool subscribed = false;  // confirmed on the current connection
    bool syncing = false;     // a sync is in flight
    bool live = false;
    bool known = false;      // epoch and last hold a snapshot
    bool resetting = false;  // the next snapshot is a reset
    std::string discard;     // an epoch Redis must drop (it went back in time)
    std::string epoch;
    uint64_t last = 0;
    std::vector<std::string> held;  // pushes waiting behind a sync
    size_t held_bytes = 0;
  };
  struct NameHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };

  static void on_cmd_state(void* self, RedisState s);
  static void on_sub_state(void* self, RedisState s);
  static void on_push(void* self, const redisReply* r);
  static void on_reply(void* self, const redisReply* r);

  SendResult send(Sent kind, uint64_t cookie, std::string_view room, int argc,
                  const char* const* argv, const size_t* len);
  SendResult run_script(Sent kind, uint64_t cookie, std::string_view room,
                        std::initializer_list<std::string_view> args);
  void load_script();
  void beat();
  void request_sync(std::string_view room, Feed& f);
  void on_beat(const redisReply* r);
  void on_sync(const std::string& room, bool rebuild, const redisReply* r);
  void on_rooms(uint64_t cookie, const redisReply* r);
  void on_page(uint64_t cookie, const redisReply* r);
  void on_published(uint64_t cookie, const redisReply* r);
  // One payload from the channel or the log; false when it had to be held.
  bool take(std::string_view room, Feed& f, std::string_view payload);
  void drain(std::string_view room, Feed& f);
  void hold(Feed& f, std::string_view payload);
  void set_health();
  std::string fresh_epoch();

  EventLoop& loop_;
  BrokerOptions options_;
  BrokerHooks hooks_;
  std::deque<Expect> expect_;
  std::unordered_map<std::string, Feed, NameHash, std::equal_to<>> feeds_;
  std::string sha_;  // the script's, as SCRIPT LOAD answered
  bool script_loaded_ = false;
  bool load_in_flight_ = false;
  int64_t next_load_ms_ = 0;
  bool registered_ = false;  // the last heartbeat answered ok
  bool ever_registered_ = false;
  bool beat_in_flight_ = false;
  bool stalled_ = false;
  bool healthy_ = false;
  bool bye_pending_ = false;
  int64_t next_beat_ms_ = 0;
  uint64_t epoch_state_;
  uint64_t epochs_made_ = 0;
  std::string args_;  // scratch for the event body
  std::vector<BrokerMember> members_;
  std::vector<FeedEvent> recent_;
  std::vector<ListedRoom> lines_;
  BrokerStats stats_;
  // Last, so destroyed first: their destructors run every pending callback
  // with null while the rest is still whole, and `closing_` makes those
  // callbacks do nothing (no hook reaches an app that is going away).
  bool closing_ = false;
  RedisClient cmd_;
  RedisClient sub_;
};

}  // namespace chatd
