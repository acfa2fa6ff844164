// Helpers of the store tests: a scratch directory removed afterwards, events
// made in one line, a child process whose verdict comes back as text, and
// SQL run on a file as another program would.
#pragma once

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <string>
#include <vector>

#include "store/event_store.h"
#include "store/sqlite_schema.h"

namespace chatd::store_test {

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/chatd-store-test-XXXXXX";
    path_ = mkdtemp(tmpl);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

inline std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

inline void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

inline bool exists(const std::string& path) {
  return std::filesystem::exists(path);
}

// A msg event of room with id, ts and text "<room>#<id>".
struct Ev {
  std::string room, epoch, nick, text;
  uint64_t id;
  int64_t ts;
  StoredKind kind;
  EventRecord record() const { return EventRecord{room, epoch, id, ts, kind, nick, text}; }
};
inline Ev msg(const std::string& room, uint64_t id, int64_t ts = 1'700'000'000'000) {
  return Ev{room, "ep-" + room, "alice", room + "#" + std::to_string(id), id, ts, StoredKind::msg};
}

// The ids of events, in order.
inline std::vector<uint64_t> ids(const std::vector<StoredEvent>& events) {
  std::vector<uint64_t> out;
  for (const StoredEvent& e : events) out.push_back(e.id);
  return out;
}
inline std::vector<uint64_t> range(uint64_t from, uint64_t to) {
  std::vector<uint64_t> out;
  for (uint64_t i = from; i <= to; ++i) out.push_back(i);
  return out;
}

// Runs body in a forked child; returns what it returned ("" = all good), or
// a line saying how the child died. The child touches no state of the test.
inline std::string in_child(const std::function<std::string()>& body) {
  int p[2];
  if (pipe(p) != 0) return "pipe failed";
  pid_t pid = fork();
  if (pid == 0) {
    close(p[0]);
    std::string verdict = body();
    if (write(p[1], verdict.data(), verdict.size()) < 0) _exit(2);
    _exit(0);
  }
  close(p[1]);
  std::string out;
  char buf[512];
  ssize_t n;
  while ((n = read(p[0], buf, sizeof buf)) > 0) out.append(buf, size_t(n));
  close(p[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return "child died (status " + std::to_string(status) + "): " + out;
  return out;
}

// Runs SQL on the file with a plain connection, as another program would.
inline void raw_exec(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  char* err = nullptr;
  EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err), SQLITE_OK) << err;
  sqlite3_free(err);
  sqlite3_close(db);
}

inline int64_t raw_int(const std::string& path, const char* sql) {
  sqlite3* db = nullptr;
  sqlite3_stmt* s = nullptr;
  int64_t v = -1;
  if (sqlite3_open(path.c_str(), &db) == SQLITE_OK &&
      sqlite3_prepare_v2(db, sql, -1, &s, nullptr) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
    v = sqlite3_column_int64(s, 0);
  sqlite3_finalize(s);
  sqlite3_close(db);
  return v;
}

// Writes a file as an older chatd left it: the real schema's steps up to
// `version` (1 or 2, plain SQL), then `rows`, SQL inserting its rooms and
// events in that version's tables.
inline void write_old_file(const std::string& path, int64_t version, const std::string& rows) {
  std::string sql = "BEGIN;";
  for (const Migration& m : schema_migrations())
    if (m.version <= version) sql += std::string(m.sql) + ";";
  sql += "PRAGMA user_version=" + std::to_string(version) +
         "; PRAGMA application_id=" + std::to_string(kApplicationId) + ";" + rows + "; COMMIT;";
  raw_exec(path, sql);
}

}  // namespace chatd::store_test
