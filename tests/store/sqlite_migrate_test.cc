// The real schema's migrations: a file written by an older chatd (version 1,
// events keyed (room, id) WITHOUT ROWID; version 2, events in the order
// stored with a (room, id) index) opens in this one with every event, head
// and id where they were, and goes on from there.
#include <gtest/gtest.h>

#include <limits>

#include "store/sqlite_store.h"
#include "store_test_util.h"

namespace chatd {
namespace {

using store_test::ids;
using store_test::msg;
using store_test::range;
using store_test::raw_int;
constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();

// The rows of 300 events of "dev" and 100 of "ops", interleaved as a loop
// turn writes them; with_seq: version 2's events(seq, ...).
std::string interleaved_rows(bool with_seq) {
  std::string sql =
      "INSERT INTO rooms(id, name, epoch, last_id) VALUES(1, 'dev', 'ep-dev', 0),"
      " (2, 'ops', 'ep-ops', 0), (3, 'quiet', 'ep-quiet', 7);";
  int64_t seq = 0;
  auto row = [&](int room, uint64_t id, int64_t ts, const std::string& text) {
    sql += "INSERT INTO events(" + std::string(with_seq ? "seq, " : "") +
           "room, id, ts, kind, nick, text) VALUES(" +
           (with_seq ? std::to_string(++seq) + ", " : "") + std::to_string(room) + ", " +
           std::to_string(id) + ", " + std::to_string(ts) + ", 2, 'alice', '" + text + "');";
  };
  for (uint64_t i = 1; i <= 300; ++i) {
    int64_t ts = 1'700'000'000'000 + int64_t(i);
    row(1, i, ts, msg("dev", i).text);
    if (i % 3 == 0) row(2, i / 3, ts, msg("ops", i / 3).text);
  }
  return sql;
}

void expect_migrated(const std::string& path) {
  std::string error;
  auto s = SqliteStore::open(path, {}, &error);
  ASSERT_TRUE(s) << error;
  EXPECT_EQ(raw_int(path, "PRAGMA user_version"), 3);
  EXPECT_EQ(raw_int(path, "SELECT count(*) FROM events"), 400);
  EXPECT_EQ(raw_int(path, "SELECT count(*) FROM sqlite_schema WHERE name = 'events_by_room'"), 0)
      << "schema 3 keeps no index entry per event";
  // 300 events in runs of at most 128, and 100.
  EXPECT_EQ(raw_int(path, "SELECT count(*) FROM event_runs"), 4);
  EXPECT_EQ(raw_int(path, "SELECT below FROM fold"), raw_int(path, "SELECT max(seq) FROM events"))
      << "every event is in a run: a restart scans no row";

  std::vector<RoomHead> heads = s->heads();
  ASSERT_EQ(heads.size(), 3u);
  EXPECT_EQ(heads[0].room, "dev");
  EXPECT_EQ(heads[0].last_id, 300u);
  EXPECT_EQ(heads[0].first_id, 1u);
  EXPECT_EQ(heads[1].room, "ops");
  EXPECT_EQ(heads[1].last_id, 100u);
  EXPECT_EQ(heads[2].last_id, 7u) << "an emptied room keeps its last id";
  EXPECT_EQ(heads[2].first_id, 8u);
  auto dev = s->read("dev", 0, kMax, 1000);
  EXPECT_EQ(ids(dev), range(1, 300));
  EXPECT_EQ(dev[41].ts, 1'700'000'000'042);
  EXPECT_EQ(dev[41].text, msg("dev", 42).text);
  EXPECT_EQ(ids(s->read("ops", 40, 51, 5)), range(46, 50));
  EXPECT_EQ(ids(s->read("dev", 0, 130, 3)), range(127, 129)) << "across two runs";

  // New events land after the migrated ones, and a repeated id is refused
  // as before.
  s->append(msg("dev", 301).record());
  ASSERT_TRUE(s->commit(&error)) << error;
  EXPECT_EQ(ids(s->read("dev", 298, kMax, 10)), range(299, 301));
  s->append(msg("dev", 301).record());
  EXPECT_FALSE(s->commit(&error));
  EXPECT_EQ(ids(s->read("dev", 298, kMax, 10)), range(299, 301));
  s->append(msg("quiet", 8).record());
  ASSERT_TRUE(s->commit(&error)) << error;
  EXPECT_EQ(ids(s->read("quiet", 0, kMax, 10)), range(8, 8));
}

TEST(SqliteMigrate, AVersion1FileKeepsItsEventsHeadsAndIds) {
  store_test::TempDir dir;
  std::string path = dir.file("chatd.db");
  store_test::write_old_file(path, 1, interleaved_rows(false));
  ASSERT_EQ(raw_int(path, "PRAGMA user_version"), 1);
  ASSERT_EQ(raw_int(path, "SELECT count(*) FROM pragma_table_info('events') WHERE name = 'seq'"),
            0);
  expect_migrated(path);
}

TEST(SqliteMigrate, AVersion2FileKeepsItsEventsHeadsAndIds) {
  store_test::TempDir dir;
  std::string path = dir.file("chatd.db");
  store_test::write_old_file(path, 2, interleaved_rows(true));
  ASSERT_EQ(raw_int(path, "PRAGMA user_version"), 2);
  ASSERT_EQ(raw_int(path, "SELECT count(*) FROM sqlite_schema WHERE name = 'events_by_room'"), 1);
  expect_migrated(path);
}

}  // namespace
}  // namespace chatd
