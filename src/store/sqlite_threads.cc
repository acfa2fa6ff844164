#include "store/sqlite_threads.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>

#include "base/clock.h"
#include "base/log.h"
#include "base/sys.h"

namespace chatd {
namespace {

constexpr size_t kSpareBatches = 4;

}  // namespace

Checkpointer::Checkpointer(sqlite::Db db) : db_(std::move(db)), thread_([this] { run(); }) {}

Checkpointer::~Checkpointer() {
  {
    std::lock_guard<std::mutex> g(mu_);
    stop_ = true;
  }
  cv_.notify_one();
  thread_.join();
}

void Checkpointer::request() {
  {
    std::lock_guard<std::mutex> g(mu_);
    if (requested_) return;
    requested_ = true;
  }
  cv_.notify_one();
}

void Checkpointer::run() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait(lock, [this] { return requested_ || stop_; });
    if (stop_) return;
    requested_ = false;
    lock.unlock();
    // PASSIVE takes no lock a writer waits on: the loop keeps committing to
    // the WAL while the pages are copied and synced.
    int log = 0, done = 0;
    int rc = sqlite3_wal_checkpoint_v2(db_.get(), nullptr, SQLITE_CHECKPOINT_PASSIVE, &log, &done);
    if (rc != SQLITE_OK && rc != SQLITE_BUSY)
      log_line("store: checkpoint failed: %s", sqlite::error_line(db_.get(), "checkpoint").c_str());
    lock.lock();
  }
}

std::unique_ptr<WriterThread> WriterThread::start(sqlite::Db db,
                                                  std::unique_ptr<SqliteWriter> writer,
                                                  StoreCounters* counters, std::string* error) {
  long efd = sys_result(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (efd < 0) {
    *error = std::string("store: eventfd: ") + std::strerror(int(-efd));
    return nullptr;
  }
  std::unique_ptr<WriterThread> t(
      new WriterThread(std::move(db), std::move(writer), counters, UniqueFd(int(efd))));
  t->thread_ = std::thread([p = t.get()] { p->run(); });
  return t;
}

WriterThread::~WriterThread() {
  {
    std::lock_guard<std::mutex> g(mu_);
    stop_ = true;
  }
  cv_.notify_one();
  thread_.join();
}

bool WriterThread::submit(Batch* b) {
  {
    std::lock_guard<std::mutex> g(mu_);
    if (queue_.size() >= kMaxQueuedBatches) return false;
    queue_.push_back(std::move(*b));
    if (!spare_.empty()) {
      *b = std::move(spare_.back());
      spare_.pop_back();
    } else {
      *b = Batch();
    }
  }
  cv_.notify_one();
  return true;
}

size_t WriterThread::take_done(std::vector<BatchDone>* out) {
  uint64_t n;
  (void)sys_retry([&] { return ::read(event_fd_.get(), &n, sizeof n); });  // EAGAIN: none yet
  std::lock_guard<std::mutex> g(mu_);
  size_t count = done_.size();
  for (BatchDone& d : done_) out->push_back(std::move(d));
  done_.clear();
  return count;
}

void WriterThread::run() {
  std::vector<Batch> group;
  std::vector<Batch*> ptrs;
  std::vector<BatchDone> results;
  bool prune_more = false;
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    // Idle: wake once a second for --retain-days; while retention has work,
    // do not wait at all (queued batches still come first).
    auto wait = prune_more ? std::chrono::milliseconds(0) : std::chrono::milliseconds(1000);
    cv_.wait_for(lock, wait, [this] { return !queue_.empty() || stop_; });
    if (queue_.empty() && stop_) return;
    group.swap(queue_);
    lock.unlock();

    if (!group.empty()) {
      ptrs.clear();
      for (Batch& b : group) ptrs.push_back(&b);
      std::string error;
      results.clear();
      if (writer_->write(ptrs, &error)) {
        for (Batch& b : group) results.push_back(BatchDone{b.seq, true, {}});
      } else {
        // One batch's failure must not cost the others theirs: each again on
        // its own (on a full disk they fail again, quickly).
        for (Batch* b : ptrs) {
          bool ok = ptrs.size() > 1 && writer_->write({&b, 1}, &error);
          results.push_back(BatchDone{b->seq, ok, ok ? std::string() : error});
        }
      }
      int64_t now = mono_us();
      for (Batch& b : group) {
        counters_->latency(uint64_t(std::max<int64_t>(0, now - b.handed_us)));
        b.clear();
      }
    }
    std::string prune_error;
    long pruned = writer_->prune_once(wall_ms(), &prune_error);
    if (pruned < 0) log_line("store: %s", prune_error.c_str());
    prune_more = pruned > 0;

    lock.lock();
    if (!group.empty()) {
      for (BatchDone& d : results) done_.push_back(std::move(d));
      // A few spares keep the loop's batches warm; more would only hold memory.
      for (Batch& b : group)
        if (spare_.size() < kSpareBatches) spare_.push_back(std::move(b));
      group.clear();
      uint64_t one = 1;
      (void)sys_retry([&] { return ::write(event_fd_.get(), &one, sizeof one); });
    }
  }
}

}  // namespace chatd
