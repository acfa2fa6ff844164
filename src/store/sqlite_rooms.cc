#include "store/sqlite_rooms.h"

#include "store/sqlite_util.h"

namespace chatd {

bool load_rooms(sqlite3* db, std::vector<RoomRow>* out, std::string* error) {
  // Each subquery is one seek on the (room, id) index: no scan of events.
  // The last id is the newest row's, or what retention noted before it
  // deleted the rows (schema version 2).
  static constexpr const char* kSql =
      "SELECT r.id, r.name, r.epoch,"
      " max(r.last_id, coalesce((SELECT max(e.id) FROM events e WHERE e.room = r.id), 0)),"
      " (SELECT e.id FROM events e WHERE e.room = r.id ORDER BY e.id LIMIT 1),"
      " (SELECT e.ts FROM events e WHERE e.room = r.id ORDER BY e.id LIMIT 1)"
      " FROM rooms r ORDER BY r.id";
  sqlite3_stmt* s = nullptr;
  int rc = sqlite3_prepare_v2(db, kSql, -1, &s, nullptr);
  out->clear();
  while (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
    RoomRow r;
    r.rowid = sqlite3_column_int64(s, 0);
    r.name.assign(reinterpret_cast<const char*>(sqlite3_column_text(s, 1)),
                  sqlite3_column_bytes(s, 1));
    r.epoch.assign(reinterpret_cast<const char*>(sqlite3_column_text(s, 2)),
                   sqlite3_column_bytes(s, 2));
    r.last_id = uint64_t(sqlite3_column_int64(s, 3));
    bool any = sqlite3_column_type(s, 4) != SQLITE_NULL;
    r.first_id = any ? uint64_t(sqlite3_column_int64(s, 4)) : r.last_id + 1;
    r.first_ts = any ? sqlite3_column_int64(s, 5) : INT64_MAX;
    out->push_back(std::move(r));
    rc = SQLITE_OK;
  }
  sqlite3_finalize(s);
  if (rc == SQLITE_DONE) return true;
  *error = sqlite::error_line(db, "reading the rooms");
  out->clear();
  return false;
}

}  // namespace chatd
