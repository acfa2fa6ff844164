// The database file of the SQLite store: its schema, the migrations that
// bring an older file to it, and the checks made when it is opened, so that a
// file that is not ours, too new, in use or unwritable fails at start with one
// line and is left as it was.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "base/fd.h"
#include "store/sqlite_util.h"

namespace chatd {

// Marks a file as chatd's (PRAGMA application_id): "chat" in ASCII.
inline constexpr int64_t kApplicationId = 0x63686174;

// One step of the schema: the SQL that turns version `version - 1` into
// `version`. The steps run in order of version, each file from the version
// it has (PRAGMA user_version; 0 for a new file), all in one transaction.
// A step may end with code (run: after its SQL, in the same transaction),
// for what SQL cannot build, such as the packed runs of schema 3.
struct Migration {
  int64_t version;
  const char* sql;
  bool (*run)(sqlite3* db, std::string* error) = nullptr;
};

// Every step from an empty file to the newest schema this chatd knows.
std::span<const Migration> schema_migrations();

// A database opened for the store: the loop's connection and the lock that
// keeps a second chatd off the file (held until after every connection to the
// file is closed: declare it before them).
struct OpenedDb {
  UniqueFd lock;
  sqlite::Db db;
};

// Opens (creating if absent) the database at path for reading and writing,
// takes the file's lock, checks the file, migrates it to the last step of
// `migrations` and switches it to WAL. Returns true with *out filled, or false
// with one line in *error ("<path>: <why>") and the file unchanged (a file
// this call created is removed again). full_sync: synchronous=FULL, else
// NORMAL.
bool open_database(const std::string& path, std::span<const Migration> migrations, bool full_sync,
                   OpenedDb* out, std::string* error);

// One more connection to a database open_database() accepted, for a thread:
// WAL, the same synchronous, waits up to busy_ms for a lock. Null with *error
// on failure.
sqlite::Db open_connection(const std::string& path, bool full_sync, int busy_ms,
                           std::string* error);

}  // namespace chatd
