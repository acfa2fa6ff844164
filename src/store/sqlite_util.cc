#include "store/sqlite_util.h"

#include <cstring>

namespace chatd::sqlite {

std::string error_line(sqlite3* db, std::string_view what) {
  std::string line(what);
  line += ": ";
  line += db ? sqlite3_errmsg(db) : "out of memory";
  if (db && (sqlite3_extended_errcode(db) & 0xff) == SQLITE_CORRUPT)
    line += " (the file is corrupt: restore it from a backup, or move it away to start empty)";
  int sys = db ? sqlite3_system_errno(db) : 0;
  if (sys != 0) {
    line += " (";
    line += std::strerror(sys);
    line += ")";
  }
  return line;
}

Stmt prepare(sqlite3* db, const char* sql, std::string* error) {
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr) != SQLITE_OK) {
    *error = error_line(db, "prepare");
    sqlite3_finalize(s);
    return nullptr;
  }
  return Stmt(s);
}

bool exec(sqlite3* db, const char* sql, std::string* error) {
  if (sqlite3_exec(db, sql, nullptr, nullptr, nullptr) == SQLITE_OK) return true;
  *error = error_line(db, sql);
  return false;
}

bool query_int(sqlite3* db, const char* sql, int64_t* out, std::string* error) {
  sqlite3_stmt* s = nullptr;
  int rc = sqlite3_prepare_v2(db, sql, -1, &s, nullptr);
  if (rc == SQLITE_OK) rc = sqlite3_step(s);
  if (rc == SQLITE_ROW) {
    *out = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return true;
  }
  *error = error_line(db, sql);
  sqlite3_finalize(s);
  return false;
}

void rollback(sqlite3* db) {
  if (!sqlite3_get_autocommit(db)) sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
}

}  // namespace chatd::sqlite
