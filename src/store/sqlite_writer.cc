#include "store/sqlite_writer.h"

#include <algorithm>

namespace chatd {

std::unique_ptr<SqliteWriter> SqliteWriter::create(sqlite3* db, Retention retention,
                                                   StoreCounters* counters, std::string* error) {
  std::unique_ptr<SqliteWriter> w(new SqliteWriter(db, retention, counters));
  if (!w->prepare_all(error) || !w->reload_rooms(error)) return nullptr;
  return w;
}

bool SqliteWriter::prepare_all(std::string* error) {
  struct {
    sqlite::Stmt* stmt;
    const char* sql;
  } all[] = {
      {&insert_event_,
       "INSERT INTO events(room, id, ts, kind, nick, text) VALUES(?1, ?2, ?3, ?4, ?5, ?6)"},
      {&insert_room_, "INSERT INTO rooms(name, epoch, last_id) VALUES(?1, ?2, 0)"},
      {&update_last_, "UPDATE rooms SET last_id = ?2 WHERE id = ?1"},
      {&delete_below_, "DELETE FROM events WHERE room = ?1 AND id < ?2"},
      {&delete_older_, "DELETE FROM events WHERE room = ?1 AND id < ?2 AND ts < ?3"},
      {&front_, "SELECT id, ts FROM events WHERE room = ?1 ORDER BY id LIMIT 1"},
  };
  for (auto& s : all)
    if (!(*s.stmt = sqlite::prepare(db_, s.sql, error))) return false;
  return true;
}

bool SqliteWriter::reload_rooms(std::string* error) {
  if (!load_rooms(db_, &rooms_, error)) return false;
  by_name_.clear();
  for (size_t i = 0; i < rooms_.size(); ++i) by_name_.emplace(rooms_[i].name, i);
  pending_of_.assign(rooms_.size(), -1);
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
  by_name_.emplace(rooms_.back().name, rooms_.size() - 1);
  return long(rooms_.size() - 1);
}

bool SqliteWriter::insert(const Batch& b, const Batch::Event& e, std::string* error) {
  long ri = room_index(b.view(e.room), b.view(e.epoch), error);
  if (ri < 0) return false;
  sqlite3_stmt* s = insert_event_.get();
  sqlite::ResetOnExit reset(s);
  sqlite3_bind_int64(s, 1, rooms_[size_t(ri)].rowid);
  sqlite3_bind_int64(s, 2, int64_t(e.id));
  sqlite3_bind_int64(s, 3, e.ts);
  sqlite3_bind_int(s, 4, int(e.kind));
  sqlite::bind_text(s, 5, b.view(e.nick));
  sqlite::bind_text(s, 6, b.view(e.text));
  if (sqlite3_step(s) != SQLITE_DONE) {
    *error = sqlite::error_line(db_, "storing an event");
    return false;
  }
  long& p = pending_of_[size_t(ri)];
  if (p < 0) {
    const RoomRow& r = rooms_[size_t(ri)];
    p = long(pending_.size());
    pending_.push_back(Pending{size_t(ri), r.last_id, 0, 0});
  }
  Pending& pd = pending_[size_t(p)];
  pd.last_id = std::max(pd.last_id, e.id);
  if (rooms_[size_t(ri)].first_ts == INT64_MAX && pd.first_id == 0) {
    pd.first_id = e.id;
    pd.first_ts = e.ts;
  }
  return true;
}

void SqliteWriter::forget_new_rooms(size_t keep) {
  for (size_t i = keep; i < rooms_.size(); ++i) by_name_.erase(rooms_[i].name);
  rooms_.resize(keep);
  pending_of_.resize(keep);
}

bool SqliteWriter::write(std::span<Batch* const> batches, std::string* error) {
  if (stale_ && !reload_rooms(error)) {
    StoreCounters::add(counters_->store_errors, 1);
    return false;
  }
  size_t rooms_before = rooms_.size();
  bool ok = sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) == SQLITE_OK;
  if (!ok) *error = sqlite::error_line(db_, "beginning a transaction");
  uint64_t events = 0;
  for (size_t i = 0; ok && i < batches.size(); ++i)
    for (const Batch::Event& e : batches[i]->events()) {
      if (!(ok = insert(*batches[i], e, error))) break;
      ++events;
    }
  // rooms.last_id is not written here: the newest event row says it, and
  // retention writes it before deleting (schema version 2). A statement per
  // room touched was a third of a commit's statements with many rooms.
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
    StoreCounters::add(counters_->commits, 1);
    StoreCounters::add(counters_->events_stored, events);
  } else {
    sqlite::rollback(db_);
    forget_new_rooms(rooms_before);
    // A rollback that could not run leaves the connection unsure of what is
    // stored: read the rooms back before the next write.
    stale_ = !sqlite3_get_autocommit(db_);
    StoreCounters::add(counters_->store_errors, 1);
  }
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
  auto step = [&](sqlite3_stmt* s, uint64_t below, bool with_ts) {
    sqlite::ResetOnExit reset(s);
    sqlite3_bind_int64(s, 1, r.rowid);
    sqlite3_bind_int64(s, 2, int64_t(std::min<uint64_t>(below, INT64_MAX)));
    if (with_ts) sqlite3_bind_int64(s, 3, cutoff_ms);
    if (sqlite3_step(s) != SQLITE_DONE) return -1L;
    return long(sqlite3_changes(db_));
  };
  if (sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) != SQLITE_OK) {
    *error = sqlite::error_line(db_, "retention: beginning a transaction");
    return -1;
  }
  // The room's last id outlives the rows about to go (ids never repeat).
  long deleted = 0;
  {
    sqlite3_stmt* s = update_last_.get();
    sqlite::ResetOnExit reset(s);
    sqlite3_bind_int64(s, 1, r.rowid);
    sqlite3_bind_int64(s, 2, int64_t(std::min<uint64_t>(r.last_id, INT64_MAX)));
    if (sqlite3_step(s) != SQLITE_DONE) deleted = -1;
  }
  // Ids are gap-free, so an id range of kPruneBatch holds at most that many.
  uint64_t kept = r.last_id + 1 - r.first_id;
  if (deleted == 0 && retention_.max_events != 0 && kept > retention_.max_events)
    deleted =
        step(delete_below_.get(),
             std::min(r.first_id + kPruneBatch, r.last_id + 1 - retention_.max_events), false);
  uint64_t budget = kPruneBatch - uint64_t(std::max(deleted, 0L));
  if (deleted >= 0 && retention_.max_days != 0 && budget > 0 && r.first_ts < cutoff_ms) {
    long more = step(delete_older_.get(), r.first_id + uint64_t(deleted) + budget, true);
    deleted = more < 0 ? -1 : deleted + more;
  }
  uint64_t first_id = r.last_id + 1;
  int64_t first_ts = INT64_MAX;
  if (deleted >= 0) {
    sqlite3_stmt* s = front_.get();
    sqlite::ResetOnExit reset(s);
    sqlite3_bind_int64(s, 1, r.rowid);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
      first_id = uint64_t(sqlite3_column_int64(s, 0));
      first_ts = sqlite3_column_int64(s, 1);
    } else if (rc != SQLITE_DONE) {
      deleted = -1;
    }
  }
  if (deleted >= 0 && sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK)
    deleted = -1;
  if (deleted < 0) {
    *error = sqlite::error_line(db_, "retention");
    sqlite::rollback(db_);
    return -1;
  }
  r.first_id = first_id;
  r.first_ts = first_ts;
  return deleted;
}

}  // namespace chatd
