// SqliteWriter: the write side of the SQLite store on one connection: a
// group of batches in one transaction, each room's index folded into runs a
// few rooms per commit (schema 3), and retention in small bounded
// transactions. Used by the loop itself (default) or by the writer thread
// (--fsync); either way by one thread only.
//
// Ownership: borrows the connection (it must outlive the writer), the
// counters and the fold mark; owns its statements, the rooms' table and the
// unfolded events in memory, which only ever reflect committed rows (a
// failed transaction puts them back).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "store/sqlite_batch.h"
#include "store/sqlite_rooms.h"
#include "store/sqlite_tail.h"
#include "store/sqlite_util.h"
#include "store/store_counters.h"

namespace chatd {

// The retention limits; 0 turns a limit off.
struct Retention {
  uint64_t max_events = 100000;  // per room
  uint32_t max_days = 0;
};

// At most this many events are deleted by one prune transaction, so that it
// stays a few milliseconds at worst and a writer never waits on it long.
inline constexpr uint64_t kPruneBatch = 500;
// Rooms looked at (in memory) by one prune step, so a step is bounded even
// with very many rooms.
inline constexpr size_t kPruneScan = 256;

// A room is folded (its unfolded events written as runs) once it has this
// many: one run row per 64 events instead of an index entry each.
inline constexpr size_t kFoldAt = 64;
// The oldest unfolded event is folded once this many newer events were
// stored (by seq): it bounds what a restart scans and what memory holds, and
// makes quiet rooms' few events folded too.
inline constexpr int64_t kTailSpan = 16384;
// Events one commit folds beyond its own count, so a commit's cost stays
// proportional to its events (a commit folds at least one room).
inline constexpr size_t kFoldExtra = 1024;

// Every event with seq <= this is in a run (published after each commit for
// the loop's reads, which keep the rest in memory): set by the writer's
// thread, read by the loop's.
using FoldMark = std::atomic<int64_t>;

class SqliteWriter {
 public:
  // Prepares the statements on db and loads the rooms; null with *error.
  static std::unique_ptr<SqliteWriter> create(sqlite3* db, Retention retention,
                                              StoreCounters* counters, FoldMark* mark,
                                              std::string* error);

  // Writes every event of `batches` in one transaction. True when it is
  // committed; false with *error when not: rolled back, nothing of it kept.
  bool write(std::span<Batch* const> batches, std::string* error);

  // Deletes up to kPruneBatch events of one room past the retention limits,
  // in one transaction, when the rooms looked at in memory have some due.
  // Returns the number deleted (0: none due), or -1 with *error.
  long prune_once(int64_t now_ms, std::string* error);

 private:
  struct NameHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  // A room's change within the open transaction, applied once it commits.
  struct Pending {
    size_t room;
    uint64_t last_id;
    uint64_t first_id;  // 0: unchanged
    int64_t first_ts;
    size_t tail_size;  // the room's unfolded events before the transaction
  };
  // A run row read for retention: its key and its entries in runs_read_.
  struct RunRead {
    uint64_t first_id;
    size_t begin, end;
  };

  SqliteWriter(sqlite3* db, Retention retention, StoreCounters* counters, FoldMark* mark)
      : db_(db), retention_(retention), counters_(counters), mark_(mark) {}
  bool prepare_all(std::string* error);
  bool reload_rooms(std::string* error);
  // The index in rooms_ of `name`, inserting its row (in the open
  // transaction) when it is new; -1 with *error on failure.
  long room_index(std::string_view name, std::string_view epoch, std::string* error);
  bool insert(const Batch& b, const Batch::Event& e, std::string* error);
  bool prune_due(const RoomRow& r, int64_t cutoff_ms) const;
  long prune_room(size_t index, int64_t cutoff_ms, std::string* error);
  // Picks the rooms this commit folds into planned_rooms_.
  void plan_folds(size_t events);
  void plan(size_t room, size_t* folded);
  // Writes room's unfolded events as run rows (in the open transaction).
  bool fold_room(size_t room, std::string* error);
  bool insert_run(int64_t room, std::span<const RunEntry> entries, std::string* error);
  // How far runs reach once the planned rooms are folded: the seq before the
  // oldest event of another room (newest when none is left).
  int64_t below_after(int64_t newest);
  // Writes fold.below when it moved (in the open transaction).
  bool store_below(int64_t below, std::string* error);
  // At load: the oldest unfolded event says how far runs reach.
  void update_below();
  void forget_new_rooms(size_t keep);

  sqlite3* db_;
  Retention retention_;
  StoreCounters* counters_;
  FoldMark* mark_;
  sqlite::Stmt insert_event_, insert_room_, update_last_, insert_run_, delete_run_, runs_from_,
      delete_row_, set_below_;
  std::vector<RoomRow> rooms_;
  TailIndex tail_;                     // the unfolded events of rooms_, by index
  std::vector<uint8_t> planned_;       // per room: folded by the open transaction
  std::vector<size_t> planned_rooms_;  // the rooms so marked
  std::vector<RunEntry> runs_read_;
  std::vector<RunRead> run_rows_;
  std::string blob_;
  int64_t below_ = 0;         // every committed event with seq <= it is in a run
  int64_t stored_below_ = 0;  // fold.below in the file
  int64_t max_seq_ = 0;       // the newest committed event's seq
  std::unordered_map<std::string, size_t, NameHash, std::equal_to<>> by_name_;
  std::vector<Pending> pending_;
  std::vector<long> pending_of_;  // per room: its index in pending_, or -1
  size_t prune_cursor_ = 0;
  bool stale_ = false;  // a failure left rooms_ unsure: reload before the next write
};

}  // namespace chatd
