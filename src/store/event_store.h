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

#include "store/store_stats.h"

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
  uint64_t first_id = 0;  // the oldest event still kept (retention prunes below it);
                          // last_id + 1 when retention has deleted every event
};

// The outcome of one batch committed in the background (--fsync), reported
// in the order the batches were handed over.
struct BatchDone {
  uint64_t seq = 0;   // as last_batch() returned right after its commit()
  bool ok = false;    // false: the batch was not stored (its events must not be sent)
  std::string error;  // one line when !ok
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

  // Retention: deletes a small bounded number of events past the limits
  // (at most a few hundred rows, one short transaction), or nothing when
  // none is due (checked in memory). Call once per loop turn or on a timer.
  // Returns true when it deleted some (more may be due: call again soon).
  virtual bool prune_step() { return false; }

  // Background commits (--fsync). -1 when commit() is synchronous: its
  // return value is then the batch's outcome. Otherwise an eventfd that
  // becomes readable when batches complete: commit() then only hands the
  // batch to a writer thread (true: queued, numbered last_batch(); false:
  // refused at once, e.g. queue full, with *error, nothing queued), and the
  // app holds the batch's events back until take_done() reports it.
  virtual int completion_fd() const { return -1; }

  // The number of the newest batch commit() queued: 1, 2, 3, ...; batches
  // without events are not queued and not numbered. 0 before any, and
  // always 0 when commits are synchronous.
  virtual uint64_t last_batch() const { return 0; }

  // Appends to *out the batches completed since the last call, in order of
  // seq, and clears the fd's readiness. Returns how many were appended.
  virtual size_t take_done(std::vector<BatchDone>* out) {
    (void)out;
    return 0;
  }

  // False when the last read() failed (an I/O error): what it returned may
  // be short, and the app answers `unavailable` rather than "no more".
  virtual bool read_ok() const { return true; }

  // The counters /metrics shows (db_bytes is read from the file now).
  virtual StoreStats stats() { return {}; }
};

}  // namespace chatd
