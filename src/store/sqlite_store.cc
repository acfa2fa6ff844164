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
  if (!(s->read_range_ = sqlite::prepare(
            db,
            "SELECT id, ts, kind, nick, text FROM events"
            " WHERE room = (SELECT id FROM rooms WHERE name = ?1) AND id > ?2 AND id < ?3"
            " ORDER BY id DESC LIMIT ?4",
            &line)) ||
      !(s->read_head_ =
            sqlite::prepare(db,
                            "SELECT r.epoch, max(r.last_id, coalesce((SELECT max(e.id)"
                            " FROM events e WHERE e.room = r.id), 0)),"
                            " (SELECT e.id FROM events e WHERE e.room = r.id ORDER BY e.id LIMIT 1)"
                            " FROM rooms r WHERE r.name = ?1",
                            &line)) ||
      !(s->page_count_ = sqlite::prepare(db, "PRAGMA page_count", &line)) ||
      !(s->page_size_ = sqlite::prepare(db, "PRAGMA page_size", &line)))
    return fail(line);

  if (options.fsync) {
    sqlite::Db wdb = open_connection(path, true, 1000, &line);
    if (!wdb) return fail(line);
    auto writer = SqliteWriter::create(wdb.get(), options.retention, &s->counters_, &line);
    if (!writer) return fail(line);
    s->thread_ = WriterThread::start(std::move(wdb), std::move(writer), &s->counters_, &line);
    if (!s->thread_) return fail(line);
  } else {
    s->writer_ = SqliteWriter::create(db, options.retention, &s->counters_, &line);
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

bool SqliteStore::commit(std::string* error) {
  if (batch_.empty()) return true;
  int64_t start = mono_us();
  if (thread_) {
    batch_.seq = seq_ + 1;
    batch_.handed_us = start;
    if (!thread_->submit(&batch_)) {
      *error = "store: the writer is " + std::to_string(kMaxQueuedBatches) +
               " batches behind; batch refused";
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
  batch_.clear();
  return ok;
}

std::vector<StoredEvent> SqliteStore::read(std::string_view room, uint64_t after, uint64_t before,
                                           size_t limit) {
  std::vector<StoredEvent> out;
  read_ok_ = true;
  if (limit == 0 || before <= after + 1) return out;
  sqlite3_stmt* s = read_range_.get();
  sqlite::ResetOnExit reset(s);
  sqlite::bind_text(s, 1, room);
  sqlite3_bind_int64(s, 2, clamp_id(after));
  sqlite3_bind_int64(s, 3, clamp_id(before));
  sqlite3_bind_int64(s, 4, int64_t(std::min<size_t>(limit, INT64_MAX)));
  int rc;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    StoredEvent e;
    e.id = uint64_t(sqlite3_column_int64(s, 0));
    e.ts = sqlite3_column_int64(s, 1);
    e.kind = StoredKind(sqlite3_column_int(s, 2));
    e.nick.assign(reinterpret_cast<const char*>(sqlite3_column_text(s, 3)),
                  size_t(sqlite3_column_bytes(s, 3)));
    e.text.assign(reinterpret_cast<const char*>(sqlite3_column_text(s, 4)),
                  size_t(sqlite3_column_bytes(s, 4)));
    out.push_back(std::move(e));
  }
  if (rc != SQLITE_DONE) {
    read_ok_ = false;
    log_line("store: %s", sqlite::error_line(opened_.db.get(), "reading history").c_str());
    StoreCounters::add(counters_.store_errors, 1);
  }
  std::reverse(out.begin(), out.end());
  return out;
}

std::vector<RoomHead> SqliteStore::heads() {
  std::vector<RoomRow> rows;
  std::string error;
  if (!load_rooms(opened_.db.get(), &rows, &error)) {
    log_line("store: %s", error.c_str());
    StoreCounters::add(counters_.store_errors, 1);
  }
  std::vector<RoomHead> out;
  out.reserve(rows.size());
  for (RoomRow& r : rows)
    out.push_back(RoomHead{std::move(r.name), std::move(r.epoch), r.last_id, r.first_id});
  return out;
}

bool SqliteStore::head(std::string_view room, RoomHead* out) {
  sqlite3_stmt* s = read_head_.get();
  sqlite::ResetOnExit reset(s);
  sqlite::bind_text(s, 1, room);
  int rc = sqlite3_step(s);
  if (rc != SQLITE_ROW) {
    if (rc != SQLITE_DONE) {
      log_line("store: %s", sqlite::error_line(opened_.db.get(), "reading a room").c_str());
      StoreCounters::add(counters_.store_errors, 1);
    }
    return false;
  }
  out->room = std::string(room);
  out->epoch.assign(reinterpret_cast<const char*>(sqlite3_column_text(s, 0)),
                    size_t(sqlite3_column_bytes(s, 0)));
  out->last_id = uint64_t(sqlite3_column_int64(s, 1));
  bool any = sqlite3_column_type(s, 2) != SQLITE_NULL;
  out->first_id = any ? uint64_t(sqlite3_column_int64(s, 2)) : out->last_id + 1;
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
  return thread_ ? thread_->take_done(out) : 0;
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
