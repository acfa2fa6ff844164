// SqliteWriter: the write side of the SQLite store on one connection: a
// group of batches in one transaction, and retention in small bounded
// transactions. Used by the loop itself (default) or by the writer thread
// (--fsync); either way by one thread only.
//
// Ownership: borrows the connection (it must outlive the writer) and the
// counters; owns its statements and the rooms' table in memory, which only
// ever reflects committed rows (a failed transaction puts it back).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "store/sqlite_batch.h"
#include "store/sqlite_rooms.h"
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

class SqliteWriter {
 public:
  // Prepares the statements on db and loads the rooms; null with *error.
  static std::unique_ptr<SqliteWriter> create(sqlite3* db, Retention retention,
                                              StoreCounters* counters, std::string* error);

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
  };

  SqliteWriter(sqlite3* db, Retention retention, StoreCounters* counters)
      : db_(db), retention_(retention), counters_(counters) {}
  bool prepare_all(std::string* error);
  bool reload_rooms(std::string* error);
  // The index in rooms_ of `name`, inserting its row (in the open
  // transaction) when it is new; -1 with *error on failure.
  long room_index(std::string_view name, std::string_view epoch, std::string* error);
  bool insert(const Batch& b, const Batch::Event& e, std::string* error);
  bool prune_due(const RoomRow& r, int64_t cutoff_ms) const;
  long prune_room(size_t index, int64_t cutoff_ms, std::string* error);
  void forget_new_rooms(size_t keep);

  sqlite3* db_;
  Retention retention_;
  StoreCounters* counters_;
  sqlite::Stmt insert_event_, insert_room_, update_last_, delete_below_, delete_older_, front_;
  std::vector<RoomRow> rooms_;
  std::unordered_map<std::string, size_t, NameHash, std::equal_to<>> by_name_;
  std::vector<Pending> pending_;
  std::vector<long> pending_of_;  // per room: its index in pending_, or -1
  size_t prune_cursor_ = 0;
  bool stale_ = false;  // a failure left rooms_ unsure: reload before the next write
};

}  // namespace chatd
