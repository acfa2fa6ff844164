// Small owners and helpers over the SQLite C API, shared by the store's
// files: a connection and a statement that finalize themselves, and error
// lines that name what was being done.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace chatd::sqlite {

struct DbCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct StmtFinalizer {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};

// Owns one connection; used by one thread only (opened SQLITE_OPEN_NOMUTEX).
using Db = std::unique_ptr<sqlite3, DbCloser>;
// Owns one prepared statement, reused: reset after each use.
using Stmt = std::unique_ptr<sqlite3_stmt, StmtFinalizer>;

// "what: <sqlite message> (<errno text>)": one line about db's last error.
std::string error_line(sqlite3* db, std::string_view what);

// Prepares sql once for reuse; null with *error set on failure.
Stmt prepare(sqlite3* db, const char* sql, std::string* error);

// Runs one or more statements with no result; false with *error on failure.
bool exec(sqlite3* db, const char* sql, std::string* error);

// Runs a query of one integer ("PRAGMA user_version"); its result, or
// nothing with *error set.
bool query_int(sqlite3* db, const char* sql, int64_t* out, std::string* error);

// Ends a failed transaction if SQLite has not already rolled it back.
void rollback(sqlite3* db);

// Binds a view as text; SQLite copies it (SQLITE_TRANSIENT is not needed
// because the statement is stepped before the view dies: SQLITE_STATIC).
inline int bind_text(sqlite3_stmt* s, int i, std::string_view v) {
  return sqlite3_bind_text(s, i, v.data(), int(v.size()), SQLITE_STATIC);
}

// Resets a statement when it goes out of scope, so an early return leaves
// no statement mid-step (which would keep a read snapshot open).
class ResetOnExit {
 public:
  explicit ResetOnExit(sqlite3_stmt* s) : s_(s) {}
  ~ResetOnExit() {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }
  ResetOnExit(const ResetOnExit&) = delete;
  ResetOnExit& operator=(const ResetOnExit&) = delete;

 private:
  sqlite3_stmt* s_;
};

}  // namespace chatd::sqlite
