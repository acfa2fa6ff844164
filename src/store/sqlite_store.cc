#include "store/sqlite_store.h"

#include <time.h>

#include <algorithm>
#include <cstdint>

#include "base/clock.h"
#include "base/log.h"

namespace chatd {
namespace {

int64_t clamp_id(uint64_t id) {
  return int64_t(std::min<uint64_t>(id, INT64_MAX));
}

}  // namespace

std::unique_ptr<SqliteStore> SqliteStore::open(const std::string& path,
                                               const SqliteOptions& options, std::string* error) {
  std::unique_ptr<SqliteStore> s(new SqliteStore());
  if (!open_database(path, options.migrations, options.fsync, &s->opened_, error)) return nullptr;
  sqlite3* db = s->opened_.db.get();
  auto fail = [&](const std::string& line) {
    *error = path + ": " + line;
    return nullptr;
  };
  std::string line;
  struct {
    sqlite::Stmt* stmt;
    const char* sql;
  } all[] = {
      {&s->room_row_, "SELECT id, last_id, epoch FROM rooms WHERE name = ?1"},
      {&s->first_run_,
       "SELECT first_id, entries FROM event_runs WHERE room = ?1 ORDER BY first_id LIMIT 1"},
      {&s->last_run_,
       "SELECT first_id, entries FROM event_runs WHERE room = ?1 ORDER BY first_id DESC LIMIT 1"},
      {&s->runs_below_,
       "SELECT first_id, entries FROM event_runs WHERE room = ?1 AND first_id < ?2"
       " ORDER BY first_id DESC"},
      {&s->by_seq_, "SELECT id, ts, kind, nick, text FROM events WHERE seq = ?1"},
      {&s->page_count_, "PRAGMA page_count"},
      {&s->page_size_, "PRAGMA page_size"},
  };
  for (auto& st : all)
    if (!(*st.stmt = sqlite::prepare(db, st.sql, &line))) return fail(line);
  // The loop's reads keep the unfolded events' rows in memory; appended
  // events get rows after every one the file has (or had: fold.below).
  StoreState state;
  if (!load_state(db, &state, &line)) return fail(line);
  s->next_seq_ = state.max_seq;
  s->folded_.store(state.below, std::memory_order_relaxed);
  for (const TailRow& t : state.tail)
    s->tail_.add(s->tail_.room_index(state.rooms[t.room].name), t.e);

  if (options.fsync) {
    sqlite::Db wdb = open_connection(path, true, 1000, &line);
    if (!wdb) return fail(line);
    auto writer =
        SqliteWriter::create(wdb.get(), options.retention, &s->counters_, &s->folded_, &line);
    if (!writer) return fail(line);
    s->thread_ = WriterThread::start(std::move(wdb), std::move(writer), &s->counters_, &line);
    if (!s->thread_) return fail(line);
  } else {
    s->writer_ = SqliteWriter::create(db, options.retention, &s->counters_, &s->folded_, &line);
    if (!s->writer_) return fail(line);
    sqlite::Db cdb = open_connection(path, false, 1000, &line);
    if (!cdb) return fail(line);
    s->checkpointer_ = std::make_unique<Checkpointer>(std::move(cdb));
    // Replaces SQLite's autocheckpoint on this connection: the loop only
    // appends to the WAL, the copy into the database runs on the thread.
    sqlite3_wal_hook(db, &SqliteStore::on_wal_commit, s.get());
  }
  return s;
}

SqliteStore::~SqliteStore() {
  // The threads stop first (a queued batch is still committed), then the
  // loop's connection closes, which checkpoints what is left.
  thread_.reset();
  checkpointer_.reset();
  if (opened_.db) sqlite3_wal_hook(opened_.db.get(), nullptr, nullptr);
}

int SqliteStore::on_wal_commit(void* self, sqlite3*, const char*, int pages) {
  if (pages >= kCheckpointPages) static_cast<SqliteStore*>(self)->checkpointer_->request();
  return SQLITE_OK;
}

void SqliteStore::remember(const Batch& b, bool held) {
  for (const Batch::Event& e : b.events()) {
    size_t room = tail_.room_index(b.view(e.room));
    RunEntry entry{e.id, e.seq, e.ts};
    if (held)
      tail_.hold(b.seq, room, entry);
    else
      tail_.add(room, entry);
  }
  tail_.trim(folded_.load(std::memory_order_acquire));
}

bool SqliteStore::commit(std::string* error) {
  if (batch_.empty()) return true;
  int64_t start = mono_us();
  if (thread_) {
    batch_.seq = seq_ + 1;
    batch_.handed_us = start;
    size_t mark = tail_.held_mark();
    remember(batch_, true);
    if (!thread_->submit(&batch_)) {
      *error = "store: the writer is " + std::to_string(kMaxQueuedBatches) +
               " batches behind; batch refused";
      tail_.drop_held(mark);
      batch_.clear();
      StoreCounters::add(counters_.store_errors, 1);
      return false;
    }
    ++seq_;
    return true;
  }
  Batch* one = &batch_;
  bool ok = writer_->write({&one, 1}, error);
  counters_.latency(uint64_t(mono_us() - start));
  if (ok) remember(batch_, false);
  batch_.clear();
  return ok;
}

void SqliteStore::read_failed(const char* doing) {
  read_ok_ = false;
  log_line("store: %s", sqlite::error_line(opened_.db.get(), doing).c_str());
  StoreCounters::add(counters_.store_errors, 1);
}

bool SqliteStore::room_row(std::string_view room, int64_t* rowid, uint64_t* last_id,
                           std::string* epoch) {
  sqlite3_stmt* s = room_row_.get();
  sqlite::ResetOnExit reset(s);
  sqlite::bind_text(s, 1, room);
  int rc = sqlite3_step(s);
  if (rc == SQLITE_ROW) {
    *rowid = sqlite3_column_int64(s, 0);
    *last_id = uint64_t(sqlite3_column_int64(s, 1));
    if (epoch)
      epoch->assign(reinterpret_cast<const char*>(sqlite3_column_text(s, 2)),
                    size_t(sqlite3_column_bytes(s, 2)));
    return true;
  }
  if (rc != SQLITE_DONE) read_failed("reading a room");
  return false;
}

bool SqliteStore::edge_run(sqlite3_stmt* s, int64_t rowid, bool* any) {
  sqlite::ResetOnExit reset(s);
  sqlite3_bind_int64(s, 1, rowid);
  int rc = sqlite3_step(s);
  *any = false;
  run_scratch_.clear();
  if (rc == SQLITE_DONE) return true;
  if (rc == SQLITE_ROW &&
      decode_run(uint64_t(sqlite3_column_int64(s, 0)), sqlite3_column_blob(s, 1),
                 size_t(sqlite3_column_bytes(s, 1)), &run_scratch_)) {
    *any = true;
    return true;
  }
  read_failed("reading the index");
  return false;
}

std::vector<StoredEvent> SqliteStore::read(std::string_view room, uint64_t after, uint64_t before,
                                           size_t limit) {
  std::vector<StoredEvent> out;
  read_ok_ = true;
  if (limit == 0 || before <= after + 1) return out;
  tail_.trim(folded_.load(std::memory_order_acquire));
  int64_t rowid = 0;
  uint64_t noted = 0;
  bool any = false;
  if (!room_row(room, &rowid, &noted) || !edge_run(last_run_.get(), rowid, &any)) return out;
  // Ids up to `covered` are in runs (or were deleted by retention, which
  // notes the last id first); the newer ones are the tail's.
  uint64_t covered = std::max(noted, any ? run_scratch_.back().id : 0);
  picks_.clear();
  auto tail = tail_.room(room);
  for (size_t i = tail.size(); i-- > 0 && picks_.size() < limit;) {
    const RunEntry& e = tail[i];
    if (e.id <= covered || e.id <= after) break;
    if (e.id < before) picks_.push_back(e);
  }
  if (picks_.size() < limit && covered > after) {
    uint64_t hi = std::min(before, covered + 1);
    sqlite3_stmt* s = runs_below_.get();
    sqlite::ResetOnExit reset(s);
    sqlite3_bind_int64(s, 1, rowid);
    sqlite3_bind_int64(s, 2, clamp_id(hi));
    int rc;
    bool done = false;
    while (!done && (rc = sqlite3_step(s)) == SQLITE_ROW) {
      uint64_t first = uint64_t(sqlite3_column_int64(s, 0));
      run_scratch_.clear();
      if (!decode_run(first, sqlite3_column_blob(s, 1), size_t(sqlite3_column_bytes(s, 1)),
                      &run_scratch_)) {
        rc = SQLITE_CORRUPT;
        break;
      }
      for (size_t i = run_scratch_.size(); i-- > 0;) {
        const RunEntry& e = run_scratch_[i];
        if (e.id <= after || picks_.size() >= limit) {
          done = true;
          break;
        }
        if (e.id < hi) picks_.push_back(e);
      }
      if (first <= after + 1) done = true;
    }
    if (!done && rc != SQLITE_DONE) {
      read_failed("reading the index");
      return out;
    }
  }
  out.reserve(picks_.size());
  sqlite3_stmt* s = by_seq_.get();
  for (const RunEntry& p : picks_) {
    sqlite::ResetOnExit reset(s);
    sqlite3_bind_int64(s, 1, p.seq);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) continue;  // deleted by retention meanwhile
    if (rc != SQLITE_ROW) {
      read_failed("reading history");
      break;
    }
    if (uint64_t(sqlite3_column_int64(s, 0)) != p.id) continue;
    StoredEvent e;
    e.id = p.id;
    e.ts = sqlite3_column_int64(s, 1);
    e.kind = StoredKind(sqlite3_column_int(s, 2));
    e.nick.assign(reinterpret_cast<const char*>(sqlite3_column_text(s, 3)),
                  size_t(sqlite3_column_bytes(s, 3)));
    e.text.assign(reinterpret_cast<const char*>(sqlite3_column_text(s, 4)),
                  size_t(sqlite3_column_bytes(s, 4)));
    out.push_back(std::move(e));
  }
  std::reverse(out.begin(), out.end());
  return out;
}

std::vector<RoomHead> SqliteStore::heads() {
  StoreState state;
  std::string error;
  if (!load_state(opened_.db.get(), &state, &error)) {
    log_line("store: %s", error.c_str());
    StoreCounters::add(counters_.store_errors, 1);
  }
  std::vector<RoomHead> out;
  out.reserve(state.rooms.size());
  for (RoomRow& r : state.rooms)
    out.push_back(RoomHead{std::move(r.name), std::move(r.epoch), r.last_id, r.first_id});
  return out;
}

bool SqliteStore::head(std::string_view room, RoomHead* out) {
  tail_.trim(folded_.load(std::memory_order_acquire));
  int64_t rowid = 0;
  uint64_t last_id = 0;
  bool any = false;
  if (!room_row(room, &rowid, &last_id, &out->epoch)) return false;
  uint64_t first_id = 0;
  if (!edge_run(first_run_.get(), rowid, &any)) return false;
  if (any) first_id = run_scratch_.front().id;
  if (!edge_run(last_run_.get(), rowid, &any)) return false;
  if (any) last_id = std::max(last_id, run_scratch_.back().id);
  for (const RunEntry& e : tail_.room(room)) {
    if (e.id <= last_id) continue;  // in a run, or deleted
    if (first_id == 0) first_id = e.id;
    last_id = e.id;
  }
  out->room = std::string(room);
  out->last_id = last_id;
  out->first_id = first_id == 0 ? last_id + 1 : first_id;
  return true;
}

bool SqliteStore::prune_step() {
  if (!writer_) return false;  // --fsync: the writer thread prunes between groups
  std::string error;
  long n = writer_->prune_once(wall_ms(), &error);
  if (n < 0) log_line("store: %s", error.c_str());
  return n > 0;
}

size_t SqliteStore::take_done(std::vector<BatchDone>* out) {
  if (!thread_) return 0;
  size_t from = out->size(), n = thread_->take_done(out);
  for (size_t i = from; i < out->size(); ++i) tail_.done((*out)[i].seq, (*out)[i].ok);
  tail_.trim(folded_.load(std::memory_order_acquire));
  return n;
}

StoreStats SqliteStore::stats() {
  StoreStats st = counters_.snapshot();
  int64_t count = 0, size = 0;
  for (auto [stmt, out] :
       {std::pair{page_count_.get(), &count}, std::pair{page_size_.get(), &size}}) {
    sqlite::ResetOnExit reset(stmt);
    if (sqlite3_step(stmt) == SQLITE_ROW) *out = sqlite3_column_int64(stmt, 0);
  }
  st.db_bytes = uint64_t(count * size);
  return st;
}

}  // namespace chatd
