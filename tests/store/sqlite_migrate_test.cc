// The real schema's migrations: a file written by an older chatd (version 1,
// events keyed (room, id) WITHOUT ROWID) opens in this one with every event,
// head and id where they were, and goes on from there.
#include <gtest/gtest.h>

#include <limits>

#include "store/sqlite_store.h"
#include "store_test_util.h"

namespace chatd {
namespace {

using store_test::msg;
using store_test::raw_int;
constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();

TEST(SqliteMigrate, AVersion1FileKeepsItsEventsHeadsAndIds) {
  store_test::TempDir dir;
  std::string path = dir.file("chatd.db");
  std::string error;
  {
    SqliteOptions o;
    o.migrations = schema_migrations().first(1);
    auto s = SqliteStore::open(path, o, &error);
    ASSERT_TRUE(s) << error;
    // Interleaved rooms, as a loop turn writes them.
    for (uint64_t i = 1; i <= 300; ++i) {
      s->append(msg("dev", i, 1'700'000'000'000 + int64_t(i)).record());
      if (i % 3 == 0) s->append(msg("ops", i / 3, 1'700'000'000'000 + int64_t(i)).record());
    }
    ASSERT_TRUE(s->commit(&error)) << error;
  }
  ASSERT_EQ(raw_int(path, "PRAGMA user_version"), 1);
  ASSERT_EQ(raw_int(path, "SELECT count(*) FROM pragma_table_info('events') WHERE name = 'seq'"),
            0);

  auto s = SqliteStore::open(path, {}, &error);
  ASSERT_TRUE(s) << error;
  EXPECT_EQ(raw_int(path, "PRAGMA user_version"), 2);
  EXPECT_EQ(raw_int(path, "SELECT count(*) FROM pragma_table_info('events') WHERE name = 'seq'"),
            1);
  EXPECT_EQ(raw_int(path, "SELECT count(*) FROM sqlite_schema WHERE name = 'events_by_room'"), 1);
  EXPECT_EQ(raw_int(path, "SELECT count(*) FROM events"), 400);

  std::vector<RoomHead> heads = s->heads();
  ASSERT_EQ(heads.size(), 2u);
  EXPECT_EQ(heads[0].room, "dev");
  EXPECT_EQ(heads[0].last_id, 300u);
  EXPECT_EQ(heads[0].first_id, 1u);
  EXPECT_EQ(heads[1].room, "ops");
  EXPECT_EQ(heads[1].last_id, 100u);
  auto dev = s->read("dev", 0, kMax, 1000);
  EXPECT_EQ(store_test::ids(dev), store_test::range(1, 300));
  EXPECT_EQ(dev[41].ts, 1'700'000'000'042);
  EXPECT_EQ(dev[41].text, msg("dev", 42).text);
  EXPECT_EQ(store_test::ids(s->read("ops", 40, 51, 5)), store_test::range(46, 50));

  // New events land after the migrated ones, and a repeated id is refused
  // as before (the index keeps (room, id) unique).
  s->append(msg("dev", 301).record());
  ASSERT_TRUE(s->commit(&error)) << error;
  EXPECT_EQ(store_test::ids(s->read("dev", 298, kMax, 10)), store_test::range(299, 301));
  s->append(msg("dev", 301).record());
  EXPECT_FALSE(s->commit(&error));
  EXPECT_EQ(store_test::ids(s->read("dev", 298, kMax, 10)), store_test::range(299, 301));
}

}  // namespace
}  // namespace chatd
