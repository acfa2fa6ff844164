// Retention: --retain-events per room and --retain-days, pruned in bounded
// steps; a room pruned empty keeps its last id, so its ids never repeat.
#include <gtest/gtest.h>

#include <limits>

#include "base/clock.h"
#include "store/sqlite_store.h"
#include "store_test_util.h"

namespace chatd {
namespace {

using store_test::ids;
using store_test::msg;
using store_test::range;
constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
constexpr int64_t kDay = 86'400'000;

std::unique_ptr<SqliteStore> open_with(const std::string& path, uint64_t events, uint32_t days) {
  SqliteOptions o;
  o.retention.max_events = events;
  o.retention.max_days = days;
  std::string error;
  auto s = SqliteStore::open(path, o, &error);
  EXPECT_TRUE(s) << error;
  return s;
}

void commit_range(EventStore& s, const std::string& room, uint64_t from, uint64_t to, int64_t ts) {
  for (uint64_t i = from; i <= to; ++i) s.append(msg(room, i, ts).record());
  std::string error;
  ASSERT_TRUE(s.commit(&error)) << error;
}

// Prunes until nothing is due; returns the rows each step deleted.
std::vector<uint64_t> prune_all(SqliteStore& s) {
  std::vector<uint64_t> steps;
  for (int guard = 0; guard < 1000; ++guard) {
    uint64_t before = s.stats().events_pruned;
    bool more = s.prune_step();
    uint64_t n = s.stats().events_pruned - before;
    if (n) steps.push_back(n);
    if (!more) break;
  }
  return steps;
}

TEST(SqliteRetention, KeepsTheNewestNPerRoom) {
  store_test::TempDir dir;
  auto s = open_with(dir.file("chatd.db"), 10, 0);
  ASSERT_TRUE(s);
  int64_t now = wall_ms();
  commit_range(*s, "dev", 1, 30, now);
  commit_range(*s, "ops", 1, 10, now);  // at the limit: nothing to do
  EXPECT_EQ(prune_all(*s), (std::vector<uint64_t>{20}));
  EXPECT_EQ(ids(s->read("dev", 0, kMax, 100)), range(21, 30));
  EXPECT_EQ(ids(s->read("ops", 0, kMax, 100)), range(1, 10));
  auto heads = s->heads();
  EXPECT_EQ(heads[0].first_id, 21u);
  EXPECT_EQ(heads[0].last_id, 30u);
  EXPECT_EQ(heads[1].first_id, 1u);
  commit_range(*s, "dev", 31, 31, now);
  EXPECT_EQ(prune_all(*s), (std::vector<uint64_t>{1})) << "a small limit is kept exactly";
  EXPECT_EQ(ids(s->read("dev", 0, kMax, 100)), range(22, 31));
}

TEST(SqliteRetention, EachStepDeletesABoundedBatch) {
  store_test::TempDir dir;
  auto s = open_with(dir.file("chatd.db"), 100, 0);
  ASSERT_TRUE(s);
  commit_range(*s, "dev", 1, 2000, wall_ms());
  EXPECT_EQ(prune_all(*s), (std::vector<uint64_t>{500, 500, 500, 400}));
  EXPECT_EQ(ids(s->read("dev", 0, kMax, 1000)), range(1901, 2000));
  // Past the limit by less than its slack (1/16 of it): no transaction yet.
  commit_range(*s, "dev", 2001, 2006, wall_ms());
  EXPECT_FALSE(s->prune_step());
  EXPECT_EQ(s->read("dev", 0, kMax, 1000).size(), 106u);
}

TEST(SqliteRetention, DeletesEventsOlderThanTheDaysAndKeepsTheLastId) {
  store_test::TempDir dir;
  std::string path = dir.file("chatd.db");
  int64_t now = wall_ms();
  {
    auto s = open_with(path, 0, 2);
    ASSERT_TRUE(s);
    commit_range(*s, "dev", 1, 5, now - 3 * kDay);
    commit_range(*s, "dev", 6, 8, now - kDay);
    commit_range(*s, "old", 1, 700, now - 10 * kDay);
    prune_all(*s);
    EXPECT_EQ(ids(s->read("dev", 0, kMax, 100)), range(6, 8));
    EXPECT_TRUE(s->read("old", 0, kMax, 1000).empty());
    EXPECT_EQ(s->stats().events_pruned, 705u);
  }
  auto s = open_with(path, 0, 2);
  ASSERT_TRUE(s);
  auto heads = s->heads();
  ASSERT_EQ(heads.size(), 2u);
  EXPECT_EQ(heads[0].first_id, 6u);
  EXPECT_EQ(heads[1].room, "old");
  EXPECT_EQ(heads[1].epoch, "ep-old");
  EXPECT_EQ(heads[1].last_id, 700u) << "an emptied room keeps its last id";
  EXPECT_EQ(heads[1].first_id, 701u) << "first_id past last_id: nothing kept";
  commit_range(*s, "old", 701, 701, now);
  EXPECT_FALSE(s->prune_step());
  EXPECT_EQ(ids(s->read("old", 0, kMax, 100)), range(701, 701));
}

TEST(SqliteRetention, OffKeepsEverything) {
  store_test::TempDir dir;
  auto s = open_with(dir.file("chatd.db"), 0, 0);
  ASSERT_TRUE(s);
  commit_range(*s, "dev", 1, 1200, 1);
  EXPECT_FALSE(s->prune_step());
  EXPECT_EQ(s->read("dev", 0, kMax, 2000).size(), 1200u);
}

}  // namespace
}  // namespace chatd
