// EventStore: where a room's events are kept, behind one narrow interface so
// the chat layer never learns whether that is memory or a SQLite file.
//
// The app appends every numbered event of a loop turn, then commits the
// turn's batch once, before that turn's output is flushed: nothing is sent
// that is not stored (PROTOCOL.md, "Storage and nodes"). Reads serve replay
// and history past the in-memory ring of each room, and the rooms' heads at
// start.
//
// Ownership: the store owns its file and statements. Views in an EventRecord
// passed to append() are copied before append() returns; records returned by
// reads own their bytes. Never sees an fd of the loop or any JSON.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace chatd {

// The kinds of event, as stored (values are part of the on-disk format).
enum class StoredKind : uint8_t { join = 0, leave = 1, msg = 2 };

// One event as appended: views valid for the duration of append().
struct EventRecord {
  std::string_view room;
  std::string_view epoch;  // the room's epoch; recorded with the room's first event
  uint64_t id = 0;         // the room's counter, 1, 2, 3, ...
  int64_t ts = 0;          // ms since the Unix epoch
  StoredKind kind = StoredKind::msg;
  std::string_view nick;
  std::string_view text;  // msg only
};

// One event as read back: owns its bytes.
struct StoredEvent {
  uint64_t id = 0;
  int64_t ts = 0;
  StoredKind kind = StoredKind::msg;
  std::string nick;
  std::string text;
};

// What the store holds of one room at start.
struct RoomHead {
  std::string room;
  std::string epoch;
  uint64_t last_id = 0;   // the newest event's id
  uint64_t first_id = 0;  // the oldest event still kept (retention prunes below it)
};

class EventStore {
 public:
  virtual ~EventStore() = default;

  // Adds e to the current turn's batch. Nothing is durable (or visible to
  // reads) until commit() returns true.
  virtual void append(const EventRecord& e) = 0;

  // Makes the current batch durable in one transaction and starts a new one.
  // Returns true on success (also for an empty batch); false when the write
  // failed (disk full, I/O error), with one line in *error: the batch is
  // discarded whole, and the store is ready for the next turn.
  virtual bool commit(std::string* error) = 0;

  // The newest `limit` events of `room` with after < id < before, oldest
  // first. Reads only committed events.
  virtual std::vector<StoredEvent> read(std::string_view room, uint64_t after, uint64_t before,
                                        size_t limit) = 0;

  // Every room the store holds events of, read once at start.
  virtual std::vector<RoomHead> heads() = 0;

  // One room's head, read when the room is joined and not in memory; false
  // when the store holds no events of it.
  virtual bool head(std::string_view room, RoomHead* out) = 0;

  // True when events survive a restart (so empty rooms can be dropped from
  // memory and re-read later).
  virtual bool durable() const = 0;
};

}  // namespace chatd
