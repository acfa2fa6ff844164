// The store's two background threads, each on its own connection, so the
// loop never waits for an fsync:
//  - Checkpointer (default, synchronous=NORMAL): the loop's commits only
//    append to the WAL; copying the WAL into the database, which fsyncs
//    both, runs here when the loop's commit hook says the WAL has grown.
//  - WriterThread (--fsync, synchronous=FULL): commits the batches the loop
//    hands over, all that queued up meanwhile in one transaction (one fsync
//    for the group), reports each batch's outcome in order through an
//    eventfd, and runs retention between groups. Its connection checkpoints
//    itself.
// The handover is a mutex and a condition variable around small vectors:
// taken once per loop turn at most, never held across SQLite calls.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/fd.h"
#include "store/event_store.h"
#include "store/sqlite_batch.h"
#include "store/sqlite_util.h"
#include "store/sqlite_writer.h"

namespace chatd {

// WAL pages past which the loop's commit asks for a checkpoint: 32 MiB. A
// checkpoint copies each page once however often it changed since the last,
// and with many rooms every commit changes a page per room: at SQLite's own
// default (1000 pages) the checkpointer copied about a page per event and
// took a fifth of the CPU the loop shares with it; eight times the WAL copies
// the same pages an eighth as often (BENCHMARKS.md, the event store).
inline constexpr int kCheckpointPages = 8192;
// Batches the writer thread may have queued; past it commit() refuses (the
// disk is slower than the load: the senders get `unavailable`).
inline constexpr size_t kMaxQueuedBatches = 1024;

class Checkpointer {
 public:
  // Owns db; starts the thread.
  explicit Checkpointer(sqlite::Db db);
  // Stops and joins the thread (a checkpoint under way finishes first).
  ~Checkpointer();
  Checkpointer(const Checkpointer&) = delete;
  Checkpointer& operator=(const Checkpointer&) = delete;

  // Asks for a passive checkpoint soon; cheap, callable from the loop.
  void request();

 private:
  void run();

  sqlite::Db db_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool requested_ = false, stop_ = false;
  std::thread thread_;
};

class WriterThread {
 public:
  // Owns db and the writer on it; creates the eventfd and starts the thread.
  // Null with *error when the eventfd cannot be made.
  static std::unique_ptr<WriterThread> start(sqlite::Db db, std::unique_ptr<SqliteWriter> writer,
                                             StoreCounters* counters, std::string* error);
  // Commits what is queued, then stops and joins the thread.
  ~WriterThread();
  WriterThread(const WriterThread&) = delete;
  WriterThread& operator=(const WriterThread&) = delete;

  // Readable when take_done() has results.
  int fd() const { return event_fd_.get(); }

  // Queues *b (numbered and timed by the caller) and leaves an empty batch
  // (a recycled one, with its capacity) in its place. False when the queue
  // is full: *b is left as it was.
  bool submit(Batch* b);

  // Moves the results of completed batches to *out, in order; returns how many.
  size_t take_done(std::vector<BatchDone>* out);

 private:
  WriterThread(sqlite::Db db, std::unique_ptr<SqliteWriter> writer, StoreCounters* counters,
               UniqueFd efd)
      : db_(std::move(db)),
        writer_(std::move(writer)),
        counters_(counters),
        event_fd_(std::move(efd)) {}
  void run();

  sqlite::Db db_;
  std::unique_ptr<SqliteWriter> writer_;  // uses db_: destroyed before it
  StoreCounters* counters_;
  UniqueFd event_fd_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Batch> queue_, spare_;  // under mu_
  std::vector<BatchDone> done_;       // under mu_
  bool stop_ = false;                 // under mu_
  std::thread thread_;
};

}  // namespace chatd
