// SqliteStore::open: the schema's version and its migrations, and every file
// that must be refused at start with one line, left as it was.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <limits>
#include <vector>

#include "store/sqlite_store.h"
#include "store_test_util.h"

namespace chatd {
namespace {

using store_test::exists;
using store_test::msg;
using store_test::raw_exec;
using store_test::raw_int;
using store_test::read_bytes;
constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();

// Opens and expects a refusal whose line contains `want`; returns the line.
std::string refused(const std::string& path, const std::string& want, SqliteOptions o = {}) {
  std::string error;
  auto s = SqliteStore::open(path, o, &error);
  EXPECT_FALSE(s);
  EXPECT_NE(error.find(want), std::string::npos) << error;
  EXPECT_EQ(error.rfind(path + ": ", 0), 0u) << error;
  EXPECT_EQ(error.find('\n'), std::string::npos) << error;
  return error;
}

TEST(SqliteOpen, ANewFileGetsTheNewestSchemaMarkedAsChatds) {
  store_test::TempDir dir;
  std::string path = dir.file("chatd.db");
  std::string error;
  {
    auto s = SqliteStore::open(path, {}, &error);
    ASSERT_TRUE(s) << error;
  }
  EXPECT_EQ(raw_int(path, "PRAGMA user_version"), schema_migrations().back().version);
  EXPECT_EQ(raw_int(path, "PRAGMA application_id"), kApplicationId);
  EXPECT_EQ(raw_int(path, "SELECT count(*) FROM sqlite_schema WHERE name IN ('rooms', 'events')"),
            2);
  // WAL is a property of the file: it stays.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)), "wal");
  sqlite3_finalize(st);
  sqlite3_close(db);
  // An empty file (touch chatd.db) is a new database too.
  store_test::write_bytes(dir.file("empty.db"), "");
  EXPECT_TRUE(SqliteStore::open(dir.file("empty.db"), {}, &error)) << error;
}

TEST(SqliteOpen, AnOlderSchemaIsMigratedInOrderKeepingItsEvents) {
  store_test::TempDir dir;
  std::string path = dir.file("chatd.db");
  std::string error;
  // Made-up next versions on top of the real schema, as the next schema
  // change will add them.
  std::vector<Migration> next(schema_migrations().begin(), schema_migrations().end());
  int64_t now = next.back().version;
  next.push_back({now + 1, "ALTER TABLE rooms ADD COLUMN topic TEXT NOT NULL DEFAULT ''"});
  next.push_back(
      {now + 2, "CREATE INDEX events_by_ts ON events(ts); UPDATE rooms SET topic = 'migrated'"});
  {
    auto s = SqliteStore::open(path, {}, &error);
    ASSERT_TRUE(s) << error;
    for (uint64_t i = 1; i <= 3; ++i) s->append(msg("dev", i).record());
    ASSERT_TRUE(s->commit(&error)) << error;
  }
  EXPECT_EQ(raw_int(path, "PRAGMA user_version"), now);
  {
    SqliteOptions o;
    o.migrations = next;
    auto s = SqliteStore::open(path, o, &error);
    ASSERT_TRUE(s) << error;
    EXPECT_EQ(store_test::ids(s->read("dev", 0, kMax, 10)), store_test::range(1, 3));
  }
  EXPECT_EQ(raw_int(path, "PRAGMA user_version"), now + 2);
  EXPECT_EQ(raw_int(path, "SELECT count(*) FROM rooms WHERE topic = 'migrated'"), 1);
  EXPECT_EQ(raw_int(path, "SELECT count(*) FROM sqlite_schema WHERE name = 'events_by_ts'"), 1);

  // A step that fails leaves the file at the version it had, steps before
  // it included (one transaction).
  std::vector<Migration> bad = next;
  bad.push_back({now + 3, "CREATE TABLE t(a)"});
  bad.push_back({now + 4, "NOT SQL"});
  SqliteOptions o;
  o.migrations = bad;
  refused(path, "migrating to schema version " + std::to_string(now + 4), o);
  EXPECT_EQ(raw_int(path, "PRAGMA user_version"), now + 2);
  EXPECT_EQ(raw_int(path, "SELECT count(*) FROM sqlite_schema WHERE name = 't'"), 0);
}

TEST(SqliteOpen, ANewerSchemaIsRefusedAndTheFileUntouched) {
  store_test::TempDir dir;
  std::string path = dir.file("chatd.db");
  std::string error;
  ASSERT_TRUE(SqliteStore::open(path, {}, &error)) << error;
  raw_exec(path, "PRAGMA user_version = 99");
  std::string before = read_bytes(path);
  refused(path, "schema version 99 is newer than this chatd knows (" +
                    std::to_string(schema_migrations().back().version) + ")");
  EXPECT_EQ(read_bytes(path), before);
  EXPECT_FALSE(exists(path + "-wal"));
}

TEST(SqliteOpen, AFileThatIsNotADatabaseIsRefusedAndUntouched) {
  store_test::TempDir dir;
  std::string path = dir.file("chatd.db");
  std::string garbage;
  for (int i = 0; i < 8192; ++i) garbage += char((i * 7919) % 251);
  store_test::write_bytes(path, garbage);
  refused(path, "not a SQLite database");
  EXPECT_EQ(read_bytes(path), garbage);
  EXPECT_FALSE(exists(path + "-wal"));
  EXPECT_FALSE(exists(path + "-shm"));

  store_test::write_bytes(path, "hello, not sqlite\n");
  refused(path, "not a SQLite database");
  EXPECT_EQ(read_bytes(path), "hello, not sqlite\n");
}

TEST(SqliteOpen, AnotherProgramsDatabaseIsRefusedAndUntouched) {
  store_test::TempDir dir;
  std::string path = dir.file("other.db");
  raw_exec(path, "CREATE TABLE notes(a TEXT); INSERT INTO notes VALUES('keep me')");
  std::string before = read_bytes(path);
  refused(path, "a SQLite database of another program");
  EXPECT_EQ(read_bytes(path), before);
}

TEST(SqliteOpen, ADirectoryIsRefused) {
  store_test::TempDir dir;
  refused(dir.path(), "cannot open it");
}

TEST(SqliteOpen, ASecondStoreOnTheSameFileIsRefusedInProcessAndFromAnother) {
  store_test::TempDir dir;
  std::string path = dir.file("chatd.db");
  std::string error;
  {
    auto first = SqliteStore::open(path, {}, &error);
    ASSERT_TRUE(first) << error;
    first->append(msg("dev", 1).record());
    ASSERT_TRUE(first->commit(&error));
    refused(path, "in use by another chatd");
    // From another process, while this one is idle.
    std::string verdict = store_test::in_child([&] {
      std::string e;
      auto s = SqliteStore::open(path, {}, &e);
      if (s) return std::string("opened a locked file");
      if (e.find("in use by another chatd") == std::string::npos) return "wrong error: " + e;
      return std::string();
    });
    EXPECT_EQ(verdict, "");
    // The refused opens changed nothing: the first store goes on.
    first->append(msg("dev", 2).record());
    ASSERT_TRUE(first->commit(&error)) << error;
  }
  auto again = SqliteStore::open(path, {}, &error);
  ASSERT_TRUE(again) << error;
  EXPECT_EQ(store_test::ids(again->read("dev", 0, kMax, 10)), store_test::range(1, 2));
}

TEST(SqliteOpen, AFileAnotherProgramIsWritingIsRefused) {
  store_test::TempDir dir;
  std::string path = dir.file("chatd.db");
  std::string error;
  ASSERT_TRUE(SqliteStore::open(path, {}, &error)) << error;
  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &other), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(other, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);
  refused(path, "locked by another process");
  sqlite3_exec(other, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close(other);
  EXPECT_TRUE(SqliteStore::open(path, {}, &error)) << error;
}

// Runs open in a child without the right to write `dir` (as nobody when the
// tests run as root, who may write anywhere). Returns the child's error.
std::string open_as_nobody(const std::string& path) {
  return store_test::in_child([&] {
    if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0))
      return std::string("cannot drop to nobody");
    std::string e;
    auto s = SqliteStore::open(path, {}, &e);
    if (s) return std::string("opened");
    return "error: " + e;
  });
}

TEST(SqliteOpen, AnUnwritableDirectoryIsRefused) {
  store_test::TempDir dir;
  std::string sub = dir.file("ro");
  ASSERT_EQ(mkdir(sub.c_str(), 0755), 0);
  ASSERT_EQ(chmod(dir.path().c_str(), 0755), 0);  // mkdtemp's 0700 would hide it from nobody
  if (geteuid() != 0) {
    ASSERT_EQ(chmod(sub.c_str(), 0555), 0);
  }

  std::string line = open_as_nobody(sub + "/chatd.db");
  EXPECT_NE(line.find("error: " + sub + "/chatd.db: cannot open or create it: Permission denied"),
            std::string::npos)
      << line;
  EXPECT_FALSE(exists(sub + "/chatd.db"));

  // An existing database the user may write, in a directory it may not:
  // SQLite cannot make the -wal and -shm files next to it.
  std::string path = sub + "/existing.db";
  std::string error;
  {
    if (geteuid() != 0) chmod(sub.c_str(), 0755);
    auto s = SqliteStore::open(path, {}, &error);
    ASSERT_TRUE(s) << error;
    s->append(msg("dev", 1).record());
    ASSERT_TRUE(s->commit(&error)) << error;
  }
  ASSERT_FALSE(exists(path + "-wal")) << "a clean close removes the WAL";
  if (geteuid() == 0) {
    ASSERT_EQ(chown(path.c_str(), 65534, 65534), 0);
  } else {
    ASSERT_EQ(chmod(sub.c_str(), 0555), 0);
  }
  std::string before = read_bytes(path);
  line = open_as_nobody(path);
  EXPECT_EQ(line.rfind("error: " + path + ": ", 0), 0u) << line;
  EXPECT_NE(line.find("must be writable"), std::string::npos) << line;
  EXPECT_EQ(read_bytes(path), before);
  chmod(sub.c_str(), 0755);
}

}  // namespace
}  // namespace chatd
