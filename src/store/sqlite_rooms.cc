#include "store/sqlite_rooms.h"

#include <algorithm>
#include <unordered_map>

#include "store/sqlite_util.h"

namespace chatd {
namespace {

// One run row's entries; false on a read error or a corrupt blob.
bool run_at(sqlite3_stmt* s, int64_t room, std::vector<RunEntry>* out, bool* any) {
  sqlite::ResetOnExit reset(s);
  sqlite3_bind_int64(s, 1, room);
  int rc = sqlite3_step(s);
  *any = rc == SQLITE_ROW;
  if (rc == SQLITE_DONE) return true;
  if (rc != SQLITE_ROW) return false;
  out->clear();
  return decode_run(uint64_t(sqlite3_column_int64(s, 0)), sqlite3_column_blob(s, 1),
                    size_t(sqlite3_column_bytes(s, 1)), out);
}

// load_state() without the read transaction around it.
bool load(sqlite3* db, StoreState* out, std::string* error) {
  std::string line;
  sqlite::Stmt rooms = sqlite::prepare(db, "SELECT id, name, epoch, last_id FROM rooms ORDER BY id",
                                       &line),
               first = sqlite::prepare(db,
                                       "SELECT first_id, entries FROM event_runs WHERE room = ?1"
                                       " ORDER BY first_id LIMIT 1",
                                       &line),
               last = sqlite::prepare(db,
                                      "SELECT first_id, entries FROM event_runs WHERE room = ?1"
                                      " ORDER BY first_id DESC LIMIT 1",
                                      &line),
               below = sqlite::prepare(db, "SELECT below, (SELECT max(seq) FROM events) FROM fold",
                                       &line),
               tail = sqlite::prepare(
                   db, "SELECT seq, room, id, ts FROM events WHERE seq > ?1 ORDER BY seq", &line);
  if (!rooms || !first || !last || !below || !tail) {
    *error = "reading the rooms: " + line;
    return false;
  }
  auto fail = [&] {
    *error = sqlite::error_line(db, "reading the rooms");
    return false;
  };
  // Per room: the newest id any run holds (or retention noted), past which
  // a row is not folded yet.
  std::vector<uint64_t> indexed;
  std::unordered_map<int64_t, size_t> by_rowid;
  std::vector<RunEntry> entries;
  int rc;
  while ((rc = sqlite3_step(rooms.get())) == SQLITE_ROW) {
    sqlite3_stmt* s = rooms.get();
    RoomRow r;
    r.rowid = sqlite3_column_int64(s, 0);
    r.name.assign(reinterpret_cast<const char*>(sqlite3_column_text(s, 1)),
                  size_t(sqlite3_column_bytes(s, 1)));
    r.epoch.assign(reinterpret_cast<const char*>(sqlite3_column_text(s, 2)),
                   size_t(sqlite3_column_bytes(s, 2)));
    r.last_id = uint64_t(sqlite3_column_int64(s, 3));
    bool any = false;
    if (!run_at(first.get(), r.rowid, &entries, &any)) return fail();
    if (any) {
      r.first_id = entries.front().id;
      r.first_ts = entries.front().ts;
      if (!run_at(last.get(), r.rowid, &entries, &any) || !any) return fail();
      r.last_id = std::max(r.last_id, entries.back().id);
    } else {
      r.first_id = r.last_id + 1;
    }
    indexed.push_back(r.last_id);
    by_rowid.emplace(r.rowid, out->rooms.size());
    out->rooms.push_back(std::move(r));
  }
  if (rc != SQLITE_DONE) return fail();
  if (sqlite3_step(below.get()) != SQLITE_ROW) return fail();
  out->below = sqlite3_column_int64(below.get(), 0);
  out->max_seq = std::max<int64_t>(out->below, sqlite3_column_int64(below.get(), 1));
  sqlite3_bind_int64(tail.get(), 1, out->below);
  while ((rc = sqlite3_step(tail.get())) == SQLITE_ROW) {
    sqlite3_stmt* s = tail.get();
    auto it = by_rowid.find(sqlite3_column_int64(s, 1));
    if (it == by_rowid.end()) continue;  // a row of no room: nothing can read it
    RunEntry e{uint64_t(sqlite3_column_int64(s, 2)), sqlite3_column_int64(s, 0),
               sqlite3_column_int64(s, 3)};
    if (e.id <= indexed[it->second]) continue;  // folded already
    RoomRow& r = out->rooms[it->second];
    if (r.first_ts == INT64_MAX) {
      r.first_id = e.id;
      r.first_ts = e.ts;
    }
    r.last_id = std::max(r.last_id, e.id);
    out->tail.push_back(TailRow{it->second, e});
  }
  return rc == SQLITE_DONE || fail();
}

}  // namespace

bool load_state(sqlite3* db, StoreState* out, std::string* error) {
  *out = StoreState();
  // One snapshot for all of it: with --fsync the writer thread commits
  // meanwhile.
  bool in_txn = sqlite3_get_autocommit(db) &&
                sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr) == SQLITE_OK;
  bool ok = load(db, out, error);
  if (in_txn) sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
  if (!ok) *out = StoreState();
  return ok;
}

}  // namespace chatd
