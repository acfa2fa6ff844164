#include "store/sqlite_writer.h"

#include <algorithm>

namespace chatd {

std::unique_ptr<SqliteWriter> SqliteWriter::create(sqlite3* db, Retention retention,
                                                   StoreCounters* counters, FoldMark* mark,
                                                   std::string* error) {
  std::unique_ptr<SqliteWriter> w(new SqliteWriter(db, retention, counters, mark));
  if (!w->prepare_all(error) || !w->reload_rooms(error)) return nullptr;
  return w;
}

bool SqliteWriter::prepare_all(std::string* error) {
  struct {
    sqlite::Stmt* stmt;
    const char* sql;
  } all[] = {
      {&insert_event_,
       "INSERT INTO events(seq, room, id, ts, kind, nick, text)"
       " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)"},
      {&insert_room_, "INSERT INTO rooms(name, epoch, last_id) VALUES(?1, ?2, 0)"},
      {&update_last_, "UPDATE rooms SET last_id = ?2 WHERE id = ?1"},
      {&insert_run_, "INSERT INTO event_runs(room, first_id, entries) VALUES(?1, ?2, ?3)"},
      {&delete_run_, "DELETE FROM event_runs WHERE room = ?1 AND first_id = ?2"},
      {&runs_from_, "SELECT first_id, entries FROM event_runs WHERE room = ?1 ORDER BY first_id"},
      {&delete_row_, "DELETE FROM events WHERE seq = ?1"},
      {&set_below_, "UPDATE fold SET below = ?1"},
  };
  for (auto& s : all)
    if (!(*s.stmt = sqlite::prepare(db_, s.sql, error))) return false;
  return true;
}

bool SqliteWriter::reload_rooms(std::string* error) {
  StoreState st;
  if (!load_state(db_, &st, error)) return false;
  rooms_ = std::move(st.rooms);
  by_name_.clear();
  for (size_t i = 0; i < rooms_.size(); ++i) by_name_.emplace(rooms_[i].name, i);
  pending_of_.assign(rooms_.size(), -1);
  planned_.assign(rooms_.size(), 0);
  tail_.clear();
  for (const TailRow& t : st.tail) tail_.add(t.room, t.e);
  stored_below_ = st.below;
  max_seq_ = st.max_seq;
  update_below();
  stale_ = false;
  return true;
}

long SqliteWriter::room_index(std::string_view name, std::string_view epoch, std::string* error) {
  auto it = by_name_.find(name);
  if (it != by_name_.end()) return long(it->second);
  sqlite3_stmt* s = insert_room_.get();
  sqlite::ResetOnExit reset(s);
  sqlite::bind_text(s, 1, name);
  sqlite::bind_text(s, 2, epoch);
  if (sqlite3_step(s) != SQLITE_DONE) {
    *error = sqlite::error_line(db_, "storing a new room");
    return -1;
  }
  RoomRow r;
  r.rowid = sqlite3_last_insert_rowid(db_);
  r.name = std::string(name);
  r.epoch = std::string(epoch);
  rooms_.push_back(std::move(r));
  pending_of_.push_back(-1);
  planned_.push_back(0);
  by_name_.emplace(rooms_.back().name, rooms_.size() - 1);
  return long(rooms_.size() - 1);
}

bool SqliteWriter::insert(const Batch& b, const Batch::Event& e, std::string* error) {
  long ri = room_index(b.view(e.room), b.view(e.epoch), error);
  if (ri < 0) return false;
  long& p = pending_of_[size_t(ri)];
  const RoomRow& r = rooms_[size_t(ri)];
  uint64_t last = p < 0 ? r.last_id : pending_[size_t(p)].last_id;
  // Schema 3 has no unique (room, id) index to refuse a repeated id: the
  // rooms in memory do, and ids only grow.
  if (e.id <= last) {
    *error = "storing an event: id " + std::to_string(e.id) + " of room " +
             std::string(b.view(e.room)) + " is not after its last id " + std::to_string(last);
    return false;
  }
  sqlite3_stmt* s = insert_event_.get();
  sqlite::ResetOnExit reset(s);
  sqlite3_bind_int64(s, 1, e.seq);
  sqlite3_bind_int64(s, 2, r.rowid);
  sqlite3_bind_int64(s, 3, int64_t(e.id));
  sqlite3_bind_int64(s, 4, e.ts);
  sqlite3_bind_int(s, 5, int(e.kind));
  sqlite::bind_text(s, 6, b.view(e.nick));
  sqlite::bind_text(s, 7, b.view(e.text));
  if (sqlite3_step(s) != SQLITE_DONE) {
    *error = sqlite::error_line(db_, "storing an event");
    return false;
  }
  if (p < 0) {
    p = long(pending_.size());
    pending_.push_back(Pending{size_t(ri), r.last_id, 0, 0, tail_.room_size(size_t(ri))});
  }
  Pending& pd = pending_[size_t(p)];
  pd.last_id = std::max(pd.last_id, e.id);
  if (r.first_ts == INT64_MAX && pd.first_id == 0) {
    pd.first_id = e.id;
    pd.first_ts = e.ts;
  }
  tail_.add(size_t(ri), RunEntry{e.id, e.seq, e.ts});
  return true;
}

void SqliteWriter::forget_new_rooms(size_t keep) {
  for (size_t i = keep; i < rooms_.size(); ++i) by_name_.erase(rooms_[i].name);
  rooms_.resize(keep);
  pending_of_.resize(keep);
  planned_.resize(keep);
  tail_.resize_rooms(keep);
}

void SqliteWriter::plan(size_t room, size_t* folded) {
  if (planned_[room] || tail_.room_size(room) == 0) return;
  planned_[room] = 1;
  planned_rooms_.push_back(room);
  *folded += tail_.room_size(room);
}

void SqliteWriter::plan_folds(size_t events) {
  size_t budget = events + kFoldExtra, folded = 0;
  // Rooms with a run's worth of events: a page or two each, and 64 index
  // entries in one row.
  for (const Pending& p : pending_) {
    if (folded > 0 && folded >= budget) return;
    if (tail_.room_size(p.room) >= kFoldAt) plan(p.room, &folded);
  }
  // The oldest unfolded events, however few their room has, so that a
  // restart scans at most about kTailSpan rows and quiet rooms get folded.
  // A commit's events can start at most that many new rooms' tails: folding
  // as many (and a few more) keeps up, with work in proportion to the commit.
  int64_t newest = max_seq_;
  for (const Pending& p : pending_) {
    auto room = tail_.room(p.room);
    if (!room.empty()) newest = std::max(newest, room.back().seq);
  }
  size_t rooms = 0;
  tail_.visit_oldest(budget, [&](int64_t seq, size_t room) {
    if (newest - seq < kTailSpan || folded >= budget || rooms > events + 16) return false;
    if (!planned_[room]) ++rooms;
    plan(room, &folded);
    return true;
  });
}

bool SqliteWriter::insert_run(int64_t room, std::span<const RunEntry> entries, std::string* error) {
  if (!insert_run_row(insert_run_.get(), room, entries, blob_)) {
    *error = sqlite::error_line(db_, "storing the index");
    return false;
  }
  return true;
}

bool SqliteWriter::fold_room(size_t room, std::string* error) {
  auto entries = tail_.room(room);
  for (size_t i = 0; i < entries.size(); i += kRunMax)
    if (!insert_run(rooms_[room].rowid, entries.subspan(i, std::min(kRunMax, entries.size() - i)),
                    error))
      return false;
  return true;
}

int64_t SqliteWriter::below_after(int64_t newest) {
  int64_t below = newest;
  // The first entry of a room this transaction does not fold. The entries
  // passed over are those of folded rooms (this commit's work) and, at
  // worst, the dead ones of rooms folded before, within kTailSpan.
  tail_.visit_oldest(SIZE_MAX, [&](int64_t seq, size_t room) {
    if (planned_[room]) return true;
    below = seq - 1;
    return false;
  });
  return below;
}

bool SqliteWriter::store_below(int64_t below, std::string* error) {
  if (below == stored_below_) return true;
  sqlite3_stmt* s = set_below_.get();
  sqlite::ResetOnExit reset(s);
  sqlite3_bind_int64(s, 1, below);
  if (sqlite3_step(s) != SQLITE_DONE) {
    *error = sqlite::error_line(db_, "storing the index");
    return false;
  }
  return true;
}

void SqliteWriter::update_below() {
  int64_t seq;
  size_t room;
  below_ = tail_.oldest(&seq, &room) ? seq - 1 : max_seq_;
  if (mark_) mark_->store(below_, std::memory_order_release);
}

bool SqliteWriter::write(std::span<Batch* const> batches, std::string* error) {
  if (stale_ && !reload_rooms(error)) {
    StoreCounters::add(counters_->store_errors, 1);
    return false;
  }
  size_t rooms_before = rooms_.size(), tail_mark = tail_.mark();
  int64_t below = below_;
  bool ok = sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) == SQLITE_OK;
  if (!ok) *error = sqlite::error_line(db_, "beginning a transaction");
  uint64_t events = 0;
  int64_t newest = max_seq_;
  for (size_t i = 0; ok && i < batches.size(); ++i)
    for (const Batch::Event& e : batches[i]->events()) {
      if (!(ok = insert(*batches[i], e, error))) break;
      newest = std::max(newest, e.seq);
      ++events;
    }
  // rooms.last_id is not written here: the newest event says it, and
  // retention writes it before deleting (schema version 2). A statement per
  // room touched was a third of a commit's statements with many rooms.
  if (ok) {
    plan_folds(events);
    for (size_t room : planned_rooms_)
      if (!(ok = fold_room(room, error))) break;
    // fold.below in the same transaction, so a restart scans only the rows
    // past it.
    below = below_after(newest);
    ok = ok && store_below(below, error);
  }
  if (ok && sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) {
    ok = false;
    *error = sqlite::error_line(db_, "committing");
  }
  for (const Pending& p : pending_) pending_of_[p.room] = -1;
  if (ok) {
    for (const Pending& p : pending_) {
      RoomRow& r = rooms_[p.room];
      r.last_id = p.last_id;
      if (p.first_id != 0) {
        r.first_id = p.first_id;
        r.first_ts = p.first_ts;
      }
    }
    for (size_t room : planned_rooms_) tail_.clear_room(room);
    stored_below_ = below_ = below;
    max_seq_ = newest;
    if (mark_) mark_->store(below_, std::memory_order_release);
    StoreCounters::add(counters_->commits, 1);
    StoreCounters::add(counters_->events_stored, events);
  } else {
    sqlite::rollback(db_);
    for (const Pending& p : pending_) tail_.truncate_room(p.room, p.tail_size);
    tail_.truncate(tail_mark);
    forget_new_rooms(rooms_before);
    // A rollback that could not run leaves the connection unsure of what is
    // stored: read the rooms back before the next write.
    stale_ = !sqlite3_get_autocommit(db_);
    StoreCounters::add(counters_->store_errors, 1);
  }
  for (size_t room : planned_rooms_)
    if (room < planned_.size()) planned_[room] = 0;
  planned_rooms_.clear();
  pending_.clear();
  return ok;
}

bool SqliteWriter::prune_due(const RoomRow& r, int64_t cutoff_ms) const {
  uint64_t kept = r.last_id + 1 - r.first_id;
  // Slack: a large limit is pruned in whole batches rather than one row per
  // new event; a small one exactly.
  uint64_t slack = std::min(kPruneBatch, retention_.max_events / 16);
  if (retention_.max_events != 0 && kept > retention_.max_events + slack) return true;
  return retention_.max_days != 0 && r.first_ts < cutoff_ms;
}

long SqliteWriter::prune_once(int64_t now_ms, std::string* error) {
  if (stale_ && !reload_rooms(error)) return -1;
  if (rooms_.empty() || (retention_.max_events == 0 && retention_.max_days == 0)) return 0;
  int64_t cutoff = now_ms - int64_t(retention_.max_days) * 86'400'000;
  for (size_t n = 0; n < std::min(kPruneScan, rooms_.size()); ++n) {
    size_t i = (prune_cursor_ + n) % rooms_.size();
    if (!prune_due(rooms_[i], cutoff)) continue;
    prune_cursor_ = i;  // come back to this room until it is done
    long deleted = prune_room(i, cutoff, error);
    if (deleted < 0) {
      StoreCounters::add(counters_->store_errors, 1);
      return -1;
    }
    // A room whose old events are newer than the cutoff in front (a clock set
    // back) deletes nothing: move on rather than retry it forever.
    if (deleted == 0 || !prune_due(rooms_[i], cutoff)) prune_cursor_ = (i + 1) % rooms_.size();
    StoreCounters::add(counters_->events_pruned, uint64_t(deleted));
    return deleted;
  }
  prune_cursor_ = (prune_cursor_ + kPruneScan) % rooms_.size();
  return 0;
}

long SqliteWriter::prune_room(size_t index, int64_t cutoff_ms, std::string* error) {
  RoomRow& r = rooms_[index];
  if (sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) != SQLITE_OK) {
    *error = sqlite::error_line(db_, "retention: beginning a transaction");
    return -1;
  }
  auto failed = [&] {
    *error = sqlite::error_line(db_, "retention");
    sqlite::rollback(db_);
    return -1L;
  };
  // The room's last id outlives the rows about to go (ids never repeat).
  {
    sqlite3_stmt* s = update_last_.get();
    sqlite::ResetOnExit reset(s);
    sqlite3_bind_int64(s, 1, r.rowid);
    sqlite3_bind_int64(s, 2, int64_t(std::min<uint64_t>(r.last_id, INT64_MAX)));
    if (sqlite3_step(s) != SQLITE_DONE) return failed();
  }
  // Retention reads the room from its runs: its unfolded events go into
  // runs first, in this transaction.
  bool folding = tail_.room_size(index) > 0;
  std::string ignored;
  int64_t fold_below = below_;
  if (folding) {
    if (!fold_room(index, &ignored)) return failed();
    planned_[index] = 1;
    fold_below = below_after(max_seq_);
    planned_[index] = 0;
    if (!store_below(fold_below, &ignored)) return failed();
  }
  // Due from the front: ids below `below` (by count), or older than the
  // cutoff; at most kPruneBatch of them.
  uint64_t kept = r.last_id + 1 - r.first_id, below = 0;
  if (retention_.max_events != 0 && kept > retention_.max_events)
    below = std::min(r.first_id + kPruneBatch, r.last_id + 1 - retention_.max_events);
  auto due = [&](const RunEntry& e) {
    return e.id < below || (retention_.max_days != 0 && e.ts < cutoff_ms);
  };
  runs_read_.clear();
  run_rows_.clear();
  {
    sqlite3_stmt* s = runs_from_.get();
    sqlite::ResetOnExit reset(s);
    sqlite3_bind_int64(s, 1, r.rowid);
    int rc = SQLITE_DONE;
    while (runs_read_.size() <= kPruneBatch && (rc = sqlite3_step(s)) == SQLITE_ROW) {
      size_t begin = runs_read_.size();
      uint64_t first = uint64_t(sqlite3_column_int64(s, 0));
      if (!decode_run(first, sqlite3_column_blob(s, 1), size_t(sqlite3_column_bytes(s, 1)),
                      &runs_read_)) {
        *error = "retention: a corrupt index row of room " + r.name;
        sqlite::rollback(db_);
        return -1;
      }
      run_rows_.push_back(RunRead{first, begin, runs_read_.size()});
      if (!due(runs_read_.back())) break;
    }
    if (runs_read_.size() <= kPruneBatch && rc != SQLITE_ROW && rc != SQLITE_DONE) return failed();
  }
  size_t n = 0;
  while (n < runs_read_.size() && n < kPruneBatch && due(runs_read_[n])) ++n;
  for (size_t i = 0; i < n; ++i) {
    sqlite3_stmt* s = delete_row_.get();
    sqlite::ResetOnExit reset(s);
    sqlite3_bind_int64(s, 1, runs_read_[i].seq);
    if (sqlite3_step(s) != SQLITE_DONE) return failed();
  }
  for (const RunRead& run : run_rows_) {
    if (run.begin >= n) break;
    {
      sqlite3_stmt* s = delete_run_.get();
      sqlite::ResetOnExit reset(s);
      sqlite3_bind_int64(s, 1, r.rowid);
      sqlite3_bind_int64(s, 2, int64_t(run.first_id));
      if (sqlite3_step(s) != SQLITE_DONE) return failed();
    }
    // A run cut in the middle keeps its newer part under its new first id.
    if (run.end > n &&
        !insert_run(r.rowid, std::span<const RunEntry>(runs_read_).subspan(n, run.end - n),
                    &ignored))
      return failed();
  }
  // The reading above stops only at an event not due or past kPruneBatch:
  // when every entry read went, the room's runs are all gone.
  uint64_t first_id = r.last_id + 1;
  int64_t first_ts = INT64_MAX;
  if (n < runs_read_.size()) {
    first_id = runs_read_[n].id;
    first_ts = runs_read_[n].ts;
  }
  if (sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) return failed();
  if (folding) {
    tail_.clear_room(index);
    stored_below_ = below_ = fold_below;
    if (mark_) mark_->store(below_, std::memory_order_release);
  }
  r.first_id = first_id;
  r.first_ts = first_ts;
  return long(n);
}

}  // namespace chatd
