#include "store/sqlite_schema.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cstring>

#include "base/sys.h"
#include "store/sqlite_runs.h"

namespace chatd {
namespace {

// Version 1. rooms.id is a small integer so that every event row carries 8
// bytes of room, not its name. rooms.last_id survives retention deleting
// every event of a quiet room, so its ids continue and never repeat under one
// epoch. (Version 1 kept events WITHOUT ROWID keyed (room, id).)
//
// Version 2: events in the order they were stored (the rowid `seq`), with
// the (room, id) key as an index beside them. Keyed by (room, id), a commit
// of a turn that touches R rooms rewrote R pages of rows (about 60 rows to a
// 4 KiB page, one page per room touched); in insertion order the turn's rows
// fill one or two pages, and only the index, whose entries are small, still
// gets a page per room. rooms.last_id is no longer written by every commit
// (a statement per room touched): a room's last id is its newest row's, and
// retention writes last_id before it deletes rows, so a room whose rows are
// all gone still continues its ids. A version 1 chatd would read last_id as
// the whole truth, hence a new version it refuses. Measured in BENCHMARKS.md
// (the event store).
//
// Version 3: no index entry per event. The (room, id) index of version 2
// got one entry on a page of its own per room touched by a commit, most of a
// commit's cost with many rooms; now a room's (id, seq, ts) entries are
// packed 64 or so to a row of event_runs, written when the writer folds the
// room (a few rooms per commit), and the events not folded yet are kept in
// memory, found again at start by a scan of the rows past fold.below (at
// most about kTailSpan). The step folds every event of the file into runs.
bool fold_all_into_runs(sqlite3* db, std::string* error);

constexpr Migration kMigrations[] = {
    {1,
     "CREATE TABLE rooms("
     "  id INTEGER PRIMARY KEY,"
     "  name TEXT NOT NULL UNIQUE,"
     "  epoch TEXT NOT NULL,"
     "  last_id INTEGER NOT NULL DEFAULT 0);"
     "CREATE TABLE events("
     "  room INTEGER NOT NULL,"
     "  id INTEGER NOT NULL,"
     "  ts INTEGER NOT NULL,"
     "  kind INTEGER NOT NULL,"
     "  nick TEXT NOT NULL,"
     "  text TEXT NOT NULL,"
     "  PRIMARY KEY(room, id)) WITHOUT ROWID;"},
    {2,
     "CREATE TABLE events_v2("
     "  seq INTEGER PRIMARY KEY,"
     "  room INTEGER NOT NULL,"
     "  id INTEGER NOT NULL,"
     "  ts INTEGER NOT NULL,"
     "  kind INTEGER NOT NULL,"
     "  nick TEXT NOT NULL,"
     "  text TEXT NOT NULL);"
     // The order they were stored in is not kept by version 1: time, then
     // room and id, is the nearest.
     "INSERT INTO events_v2(room, id, ts, kind, nick, text)"
     "  SELECT room, id, ts, kind, nick, text FROM events ORDER BY ts, room, id;"
     "DROP TABLE events;"
     "ALTER TABLE events_v2 RENAME TO events;"
     "CREATE UNIQUE INDEX events_by_room ON events(room, id);"},
    {3,
     "CREATE TABLE event_runs("
     "  room INTEGER NOT NULL,"
     "  first_id INTEGER NOT NULL,"
     "  entries BLOB NOT NULL,"
     "  PRIMARY KEY(room, first_id)) WITHOUT ROWID;"
     "CREATE TABLE fold(below INTEGER NOT NULL);"
     "INSERT INTO fold VALUES(0)",
     fold_all_into_runs},
};

bool fold_all_into_runs(sqlite3* db, std::string* error) {
  std::string line;
  sqlite::Stmt all = sqlite::prepare(db, "SELECT room, id, seq, ts FROM events ORDER BY room, id",
                                     &line),
               put = sqlite::prepare(
                   db, "INSERT INTO event_runs(room, first_id, entries) VALUES(?1, ?2, ?3)", &line);
  if (!all || !put) {
    *error = line;
    return false;
  }
  std::vector<RunEntry> run;
  std::string blob;
  int64_t room = 0;
  auto flush = [&] {
    if (run.empty()) return true;
    bool ok = insert_run_row(put.get(), room, run, blob);
    run.clear();
    return ok;
  };
  int rc;
  while ((rc = sqlite3_step(all.get())) == SQLITE_ROW) {
    sqlite3_stmt* s = all.get();
    int64_t r = sqlite3_column_int64(s, 0);
    if ((r != room || run.size() >= kRunMax) && !flush()) break;
    room = r;
    run.push_back(RunEntry{uint64_t(sqlite3_column_int64(s, 1)), sqlite3_column_int64(s, 2),
                           sqlite3_column_int64(s, 3)});
  }
  if ((rc != SQLITE_DONE || !flush()) ||
      !sqlite::exec(db,
                    "DROP INDEX events_by_room;"
                    " UPDATE fold SET below = (SELECT coalesce(max(seq), 0) FROM events)",
                    &line)) {
    *error = sqlite::error_line(db, "folding the index");
    return false;
  }
  return true;
}

// What a failed SQLite call on an opening file means, for the error line.
std::string why(sqlite3* db, std::string_view doing) {
  int rc = sqlite3_extended_errcode(db);
  switch (rc & 0xff) {
    case SQLITE_NOTADB:
      return "not a SQLite database (" + std::string(sqlite3_errmsg(db)) + ")";
    case SQLITE_CORRUPT:
      return "the database is corrupt (" + std::string(sqlite3_errmsg(db)) + ")";
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return "locked by another process (" + std::string(sqlite3_errmsg(db)) + ")";
    case SQLITE_READONLY:
    case SQLITE_CANTOPEN:
    case SQLITE_PERM:
      return sqlite::error_line(db, std::string(doing)) +
             "; the file and its directory must be writable (for the -wal and -shm files)";
    default:
      return sqlite::error_line(db, std::string(doing));
  }
}

bool set_pragmas(sqlite3* db, bool full_sync, int busy_ms, std::string* error) {
  sqlite3_busy_timeout(db, busy_ms);
  // The WAL is cut back to this size (a little over kCheckpointPages) after a
  // checkpoint restarts it, so a burst does not leave a larger file behind
  // for good. A 16 MiB page cache
  // (SQLite's default is 2 MiB) holds the index pages of a few thousand
  // rooms' newest events, so a commit finds the pages it changes in memory.
  std::string sql = std::string("PRAGMA synchronous=") + (full_sync ? "FULL" : "NORMAL") +
                    "; PRAGMA journal_size_limit=41943040; PRAGMA foreign_keys=OFF;"
                    " PRAGMA cache_size=-16384;";
  return sqlite::exec(db, sql.c_str(), error);
}

// Runs the steps past `from` in one transaction (begun by the caller).
bool migrate(sqlite3* db, std::span<const Migration> steps, int64_t from, std::string* error) {
  for (const Migration& m : steps) {
    if (m.version <= from) continue;
    std::string sql = "PRAGMA user_version=" + std::to_string(m.version) +
                      "; PRAGMA application_id=" + std::to_string(kApplicationId) + ";";
    std::string line;
    if (sqlite3_exec(db, m.sql, nullptr, nullptr, nullptr) != SQLITE_OK ||
        (m.run && !m.run(db, &line)) ||
        sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK) {
      *error =
          "migrating to schema version " + std::to_string(m.version) + ": " + why(db, "migrate");
      return false;
    }
  }
  return true;
}

// Everything after the file is open and locked; false with *error (no path).
bool check_and_migrate(sqlite3* db, std::span<const Migration> steps, bool full_sync,
                       std::string* error) {
  int64_t app_id = 0, version = 0, objects = 0;
  // The first read of the file: a file that is not a database fails here,
  // before anything is written.
  if (!sqlite::query_int(db, "PRAGMA application_id", &app_id, error) ||
      !sqlite::query_int(db, "PRAGMA user_version", &version, error) ||
      !sqlite::query_int(db, "SELECT count(*) FROM sqlite_schema", &objects, error)) {
    *error = why(db, "reading the file");
    return false;
  }
  int64_t newest = steps.empty() ? 0 : steps.back().version;
  if (app_id != kApplicationId && (app_id != 0 || version != 0 || objects != 0)) {
    *error = "a SQLite database of another program (application_id " + std::to_string(app_id) +
             ", not chatd's " + std::to_string(kApplicationId) + ")";
    return false;
  }
  if (version > newest) {
    *error = "schema version " + std::to_string(version) + " is newer than this chatd knows (" +
             std::to_string(newest) + "): run a newer chatd";
    return false;
  }
  // BEGIN IMMEDIATE takes the write lock with a busy timeout of 0: a writer
  // of another program fails the start here instead of stalling it later.
  if (sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) != SQLITE_OK) {
    *error = why(db, "taking the write lock");
    return false;
  }
  if (!migrate(db, steps, version, error)) {
    sqlite::rollback(db);
    return false;
  }
  if (sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) {
    *error = why(db, "writing the schema");
    sqlite::rollback(db);
    return false;
  }
  sqlite3_stmt* s = nullptr;
  bool wal = sqlite3_prepare_v2(db, "PRAGMA journal_mode=WAL", -1, &s, nullptr) == SQLITE_OK &&
             sqlite3_step(s) == SQLITE_ROW &&
             std::strcmp(reinterpret_cast<const char*>(sqlite3_column_text(s, 0)), "wal") == 0;
  sqlite3_finalize(s);
  if (!wal) {
    *error = why(db, "switching to WAL");
    return false;
  }
  return set_pragmas(db, full_sync, 0, error);
}

}  // namespace

std::span<const Migration> schema_migrations() {
  return kMigrations;
}

bool open_database(const std::string& path, std::span<const Migration> migrations, bool full_sync,
                   OpenedDb* out, std::string* error) {
  // Our own descriptor on the file carries an flock(2) lock, which SQLite's
  // fcntl locks neither see nor disturb: a second chatd fails here even when
  // the first is idle. It stays open until every connection is closed, since
  // closing any descriptor of the file would drop SQLite's fcntl locks.
  bool created = false;
  long fd = sys_retry([&] { return ::open(path.c_str(), O_RDWR | O_CLOEXEC); });
  if (fd == -ENOENT) {
    fd = sys_retry(
        [&] { return ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644); });
    created = fd >= 0;
  }
  if (fd < 0) {
    *error = path + ": cannot " +
             (fd == -EISDIR ? "open it"
              : created     ? "create it"
                            : "open or create it") +
             ": " + std::strerror(int(-fd));
    if (fd == -EACCES || fd == -EROFS) *error += " (the file and its directory must be writable)";
    return false;
  }
  UniqueFd lock{int(fd)};
  if (sys_retry([&] { return ::flock(lock.get(), LOCK_EX | LOCK_NB); }) < 0) {
    *error = path + ": in use by another chatd (the file is locked)";
    return false;
  }
  auto fail = [&](const std::string& why_line) {
    *error = path + ": " + why_line;
    if (created) ::unlink(path.c_str());
    return false;
  };
  sqlite3* raw = nullptr;
  int rc =
      sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr);
  sqlite::Db db(raw);
  if (rc != SQLITE_OK) return fail(why(raw, "opening"));
  sqlite3_extended_result_codes(raw, 1);
  std::string line;
  if (!check_and_migrate(raw, migrations, full_sync, &line)) {
    db.reset();
    if (created) {
      ::unlink((path + "-wal").c_str());
      ::unlink((path + "-shm").c_str());
      ::unlink((path + "-journal").c_str());
    }
    return fail(line);
  }
  out->lock = std::move(lock);
  out->db = std::move(db);
  return true;
}

sqlite::Db open_connection(const std::string& path, bool full_sync, int busy_ms,
                           std::string* error) {
  sqlite3* raw = nullptr;
  int rc =
      sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr);
  sqlite::Db db(raw);
  if (rc != SQLITE_OK) {
    *error = path + ": " + why(raw, "opening a second connection");
    return nullptr;
  }
  sqlite3_extended_result_codes(raw, 1);
  if (!set_pragmas(raw, full_sync, busy_ms, error)) return nullptr;
  return db;
}

}  // namespace chatd
