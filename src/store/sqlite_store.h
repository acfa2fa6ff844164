// SqliteStore: the EventStore of `--db FILE`, on SQLite in WAL mode
// (docs/STORAGE.md has the design: schema, durability, --fsync, retention,
// errors, migrations).
//
// Default: the loop commits each turn's batch itself, synchronous=NORMAL
// (an append to the WAL, no fsync: durable across a crash of the process),
// and a checkpointer thread copies the WAL into the database. With --fsync
// (synchronous=FULL) a writer thread commits instead, and the app learns of
// each batch's outcome through completion_fd() and take_done().
//
// Ownership: owns the file's lock, its connections, statements and threads.
// Every method is called from the loop's thread only.
#pragma once

#include <memory>
#include <span>
#include <string>

#include "store/event_store.h"
#include "store/sqlite_batch.h"
#include "store/sqlite_loop_tail.h"
#include "store/sqlite_schema.h"
#include "store/sqlite_threads.h"
#include "store/sqlite_writer.h"
#include "store/store_counters.h"

namespace chatd {

struct SqliteOptions {
  bool fsync = false;  // every commit on disk (synchronous=FULL, writer thread)
  Retention retention;
  // The schema steps; tests pass their own to exercise a migration.
  std::span<const Migration> migrations = schema_migrations();
};

class SqliteStore final : public EventStore {
 public:
  // Opens (creating if absent) the database at path. Null with one line in
  // *error ("<path>: <why>") when it cannot be used: not a database, another
  // program's, a newer schema, locked by another process, not writable. The
  // file is then left as it was. `:memory:` is not for this store (see
  // MemoryStore).
  static std::unique_ptr<SqliteStore> open(const std::string& path, const SqliteOptions& options,
                                           std::string* error);
  ~SqliteStore() override;

  void append(const EventRecord& e) override { batch_.add(e, ++next_seq_); }
  bool commit(std::string* error) override;
  std::vector<StoredEvent> read(std::string_view room, uint64_t after, uint64_t before,
                                size_t limit) override;
  std::vector<RoomHead> heads() override;
  bool head(std::string_view room, RoomHead* out) override;
  bool durable() const override { return true; }
  bool prune_step() override;
  int completion_fd() const override { return thread_ ? thread_->fd() : -1; }
  uint64_t last_batch() const override { return thread_ ? seq_ : 0; }
  size_t take_done(std::vector<BatchDone>* out) override;
  StoreStats stats() override;
  bool read_ok() const override { return read_ok_; }

 private:
  SqliteStore() = default;
  static int on_wal_commit(void* self, sqlite3* db, const char* name, int pages);
  // The loop's tail after the batch committed (or was handed over).
  void remember(const Batch& b, bool held);
  // Room `room`'s rowid, rooms.last_id and (when asked) epoch; false when
  // the file has no such room, or on a read error (read_ok_ false).
  bool room_row(std::string_view room, int64_t* rowid, uint64_t* last_id,
                std::string* epoch = nullptr);
  // The first (or last) run row of a room decoded into run_scratch_.
  bool edge_run(sqlite3_stmt* s, int64_t rowid, bool* any);
  void read_failed(const char* doing);

  // Declared in the order they must be built; destroyed in reverse: the
  // threads and their connections first, the loop's connection next, the
  // file's lock last.
  OpenedDb opened_;
  sqlite::Stmt room_row_, first_run_, last_run_, runs_below_, by_seq_, page_count_, page_size_;
  StoreCounters counters_;
  FoldMark folded_{0};                    // the writer's: every event with seq <= it is in a run
  std::unique_ptr<SqliteWriter> writer_;  // default mode: on the loop's connection
  std::unique_ptr<Checkpointer> checkpointer_;
  std::unique_ptr<WriterThread> thread_;  // --fsync
  Batch batch_;
  uint64_t seq_ = 0;
  int64_t next_seq_ = 0;  // the last row number given to an appended event
  LoopTail tail_;
  std::vector<RunEntry> picks_, run_scratch_;  // a read's rows, newest first
  bool read_ok_ = true;
};

}  // namespace chatd
