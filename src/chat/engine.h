// ChatEngine: the chat protocol's core (PROTOCOL.md v2). Takes one client
// text message at a time and returns what the app must send or number;
// never sees an fd, never learns where events are stored or who numbers them.
//
// The path of an event: on_text() checks a request against the rules and
// returns a Proposal; the app numbers it (at once on one node, later from a
// broker), stores it, and hands the NumberedEvent back to apply(), the one
// place a room changes. apply() returns the framed event for the room's
// members and, for a join, the joiner's welcome and replay.
//
// Ownership: the engine owns the room table, the nick table and the one
// reused JSON parser. Each connection's Session lives in the app's
// connection and is passed in; a Room* stays valid while a session lists it
// or a proposal for it is in flight (between on_text and apply or drop).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/block.h"
#include "chat/errors.h"
#include "chat/event.h"
#include "chat/history_source.h"
#include "chat/json_reader.h"
#include "chat/json_writer.h"
#include "chat/rate_limiter.h"
#include "chat/room.h"

namespace chatd {

struct ChatLimits {
  uint32_t rate_per_sec = 20;  // 0 disables rate limiting (--rate 0)
  uint32_t burst = 40;
  // The WebSocket message limit. The parser is allocated for up to
  // kDefaultJsonCapacity of it at start (a 16 MiB limit would cost simdjson
  // ~100 MB up front) and grows once, then stays, if a longer message comes.
  size_t max_message = kDefaultJsonCapacity;
  uint32_t max_rooms_per_conn = 32;    // --max-rooms-per-conn
  uint32_t max_rooms = 10000;          // --max-rooms: rooms with members on this node
  uint32_t max_replay = 1000;          // --max-replay
  size_t history_memory = 256 * 1024;  // --history-memory: ring bytes per room
  uint64_t epoch_seed = 0;             // makes new epochs differ between runs
  // Several nodes (--redis): a broker numbers the events, keeps the rooms'
  // history and lists the rooms; members of other nodes do not keep a room
  // in this node's memory.
  bool shared_rooms = false;
};

// A connection's chat identity: its nick (held from the first join until the
// connection ends) and the rooms it is in or joining, in join order.
struct Participant {
  std::string nick;
  std::vector<Room*> rooms;
};

// Per-connection chat state, kept by the app in its connection. Idle
// connections hold no Participant, so they cost only this struct.
struct Session {
  std::unique_ptr<Participant> p;
  TokenBucket bucket;
  bool joined() const { return p != nullptr; }
};

// What one client message produces: at most one direct reply (error,
// rooms: `reply`; history: `message`) and at most one event to number.
struct Outcome {
  BlockRef reply;
  bool has_event = false;
  Proposal event;
  // A reply made of pieces of blocks (history_answer.h), to be sent in
  // order with nothing between them; valid until the next on_text().
  std::span<const BlockSlice> message;
  // Shared rooms: a `rooms` request the broker must answer, or a history
  // page older than the room's ring, ids [fetch_from, fetch_before), for
  // the broker to read from the room's log (`ref` and `fetch_room` valid
  // until the next on_text()).
  bool list_rooms = false;
  bool fetch = false;
  Room* fetch_room = nullptr;
  uint64_t fetch_from = 0;
  uint64_t fetch_before = 0;
  std::string_view ref;
};

// What applying one numbered event produces.
struct Applied {
  BlockRef event;                    // for every local member of the room (the joiner included)
  BlockRef welcome;                  // join by a local member: its welcome, sent first
  std::span<const BlockRef> replay;  // then these (valid until the next apply)
  bool resumed = false;
};

// Totals since start, for /metrics.
struct ChatCounters {
  uint64_t messages_in = 0;   // text messages passed to on_text
  uint64_t events = 0;        // events applied (join, leave, msg): one block each
  uint64_t errors = 0;        // error replies, rate_limited included
  uint64_t rate_limited = 0;  // requests dropped by the rate limit
  uint64_t replayed = 0;      // events handed to joiners as their replay
  uint64_t history_requests = 0;
  uint64_t memberships = 0;  // members of every room now (gauge)
};

class ChatEngine {
 public:
  // `source` (may be null) serves events older than a room's ring.
  explicit ChatEngine(const ChatLimits& limits = {}, HistorySource* source = nullptr,
                      bool durable_source = false);

  // Handles one complete text message json[0, len) from connection `id`
  // (kJsonPadding readable bytes must follow it; they are not modified).
  // mono_ms drives the rate limit. Views in the returned proposal point into
  // the parser's buffer: the app copies them before the next call.
  Outcome on_text(Session& s, MemberId id, const uint8_t* json, size_t len, int64_t mono_ms);

  // Ends a connection's chat: appends one leave proposal per room it was in
  // (or joining) to `out`, frees its nick and empties the session.
  void on_disconnect(Session& s, MemberId id, std::vector<Proposal>& out);

  // Folds a numbered event into its room (PROTOCOL.md order: welcome, replay,
  // then the event). For a join by a local member the welcome and replay
  // come back too, following e.ask.
  Applied apply(const NumberedEvent& e, int64_t mono_ms);

  // Folds in an event that no proposal of this engine is waiting for: one
  // numbered on another node (member kNoMember), or a join the app makes
  // for a member of this node again after its room started again.
  Applied apply_external(const NumberedEvent& e, int64_t mono_ms);

  // A member of a shared room, as the broker lists it: one of this node's
  // (id) or another's (kNoMember).
  struct SyncedMember {
    MemberId id = kNoMember;
    std::string_view nick;
  };
  // Starts a shared room again from the broker's snapshot: epoch, last id,
  // the oldest id the broker keeps, members in join order, its newest
  // events (oldest first). Members of
  // this node that the snapshot lacks are no members any more; they are
  // appended to `dropped` (their sessions still list the room). Members of
  // this node with a join in flight (`joining`) that the snapshot lists,
  // and that were not members here, are members now: their join ran, and
  // its event, older than the snapshot, will never come. They are appended
  // to `admitted`; the app gives each its welcome (welcome_admitted).
  void sync_room(Room* r, std::string_view epoch, uint64_t last_id, uint64_t oldest,
                 std::span<const SyncedMember> members, std::span<const MemberId> joining,
                 std::span<const PastEvent> recent, std::vector<MemberId>* dropped,
                 std::vector<MemberId>* admitted = nullptr);

  // The welcome (and history, following e.ask) of a local join that a
  // room's snapshot took in (sync_room's `joining`), as apply() would give
  // it had its event come: e is the join as proposed, e.id unused. The
  // welcome's last id is the room's; the replay may hold the join itself.
  Applied welcome_admitted(const NumberedEvent& e);

  // A proposal that will not be numbered (its store write failed): undoes
  // what on_text did for it in `s` (null when the connection is gone) and
  // lets the room's numbering restart from its last applied id. p.room
  // stays valid until sweep_rooms().
  void drop(const Proposal& p, Session* s);

  // Frees the rooms that became idle (no member, nothing in flight) since
  // the last call, once their history is safe in a durable store; with the
  // memory store a room keeps its ring until the table is full. The app
  // calls it after a batch is delivered, when no Room* of it is held.
  void sweep_rooms(std::vector<std::string>* freed = nullptr);

  // Adds a room found in the store at start, with its newest events (already
  // stored, oldest first) in its ring. Rooms not loaded so are read back
  // from the HistorySource when first joined.
  void load_room(std::string_view name, std::string_view epoch, uint64_t last_id,
                 uint64_t oldest_id, std::span<const PastEvent> recent);

  // A member of this node that a shared room's snapshot no longer lists (the
  // room started again) joins it again, if its session still lists the
  // room; none if it does not (its leave ran before the snapshot).
  std::optional<Proposal> rejoin(Session& s, MemberId id, Room* r);

  // The key nicks are compared by: ASCII lower case (PROTOCOL.md).
  static std::string nick_key(std::string_view nick);

  Room* find_room(std::string_view name) const;
  size_t room_count() const { return rooms_.size(); }
  size_t occupied_rooms() const { return occupied_; }
  size_t participants() const { return nicks_.size(); }
  const ChatCounters& counters() const { return counters_; }
  const ChatLimits& limits() const { return limits_; }
  // Bytes the rooms hold (members, rings): what rooms cost at rest.
  size_t rooms_memory_bytes() const;

 private:
  struct NameHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  using RoomTable =
      std::unordered_map<std::string, std::unique_ptr<Room>, NameHash, std::equal_to<>>;

  Outcome fail(ChatError e, const ParsedMessage& m);
  Outcome join(Session& s, MemberId id, const ParsedMessage& m);
  Outcome msg(Session& s, MemberId id, const ParsedMessage& m, int64_t mono_ms);
  Outcome leave(Session& s, MemberId id, const ParsedMessage& m);
  Outcome history(Session& s, const ParsedMessage& m, int64_t mono_ms);
  Outcome rooms(Session& s, const ParsedMessage& m, int64_t mono_ms);

  // The room a msg, leave or history request means (PROTOCOL.md's room-less rule).
  std::string_view target_room(const Session& s, const ParsedMessage& m) const;
  // The room named `name`, created (and counted) if need be; null: room_limit.
  Room* open_room(std::string_view name, int64_t mono_ms);
  void hold(Session& s, Room* r);
  void release(Participant& p, Room* r);
  void maybe_idle(Room* r);
  // A room the store knows but memory does not: its head and newest events.
  std::unique_ptr<Room> read_back_room(std::string_view name);
  bool evict_one_empty_room();
  // Whether r must stay in memory: members here (anywhere, unless shared),
  // sessions listing it, proposals in flight, or its only copy of history.
  bool in_use(const Room& r) const;
  std::string new_epoch();
  // The newest `limit` events of r with after < id < before, oldest first,
  // into out (the source for those older than the ring, then the ring).
  // Returns false when the source's read failed: out then holds only what
  // the ring has, and is no complete answer.
  bool collect(const Room& r, uint64_t after, uint64_t before, size_t limit,
               std::vector<BlockRef>& out);
  // A resume's replay (the newest max_replay events after ask.since, below
  // `before`) from the ring and the events ask.prefix brought from the
  // broker, when the ring alone (already in out) fell short.
  void with_prefix(const Room& r, const JoinAsk& ask, uint64_t before, std::vector<BlockRef>& out);
  struct NickHold;
  // The hold of `nick`, if member `id` is its holder.
  NickHold* hold_of(std::string_view nick, MemberId id);
  // apply()'s part for a local join: the welcome and replay of a member
  // who joined `room` when its newest event was `last` (`held`: its nick's
  // hold, if it is the holder).
  void welcome_joined(Room& room, const NumberedEvent& e, uint64_t last, NickHold* held,
                      Applied& out);

  ChatLimits limits_;
  RingLimits ring_limits_;
  HistorySource* source_;
  bool durable_source_;
  RoomTable rooms_;
  size_t occupied_ = 0;  // rooms some session lists (joined or joining)
  struct NickHold {
    MemberId id;
    bool joined;    // one of its holder's joins was applied: held until it disconnects
    BlockRef nick;  // the bytes every room's Member of this holder shares
  };
  std::unordered_map<std::string, NickHold> nicks_;  // nick_key -> holder
  JsonReader reader_;
  ChatCounters counters_;
  uint64_t epochs_made_ = 0;
  std::vector<BlockRef> replay_;  // reused by apply() and history
  std::vector<PastEvent> past_;   // reused by collect()
  // The last history answer's pieces, reused; cleared by the next on_text()
  // so at most one answer's blocks outlive their sending.
  std::vector<BlockSlice> answer_;
  std::vector<std::string> idle_;  // rooms that may be freed by sweep_rooms()
  // Error frames without room or ref never change: encoded once, then shared.
  BlockRef error_frames_[kChatErrorCount];
};

}  // namespace chatd
