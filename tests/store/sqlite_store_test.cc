// SqliteStore on a temporary file: round trips, paging, heads at start,
// batches that fail whole, and the counters.
#include "store/sqlite_store.h"

#include <gtest/gtest.h>

#include <limits>

#include "store_test_util.h"

namespace chatd {
namespace {

using store_test::Ev;
using store_test::ids;
using store_test::msg;
using store_test::range;
constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();

std::unique_ptr<SqliteStore> open_store(const std::string& path, SqliteOptions o = {}) {
  std::string error;
  auto s = SqliteStore::open(path, o, &error);
  EXPECT_TRUE(s) << error;
  return s;
}

void add(EventStore& s, const std::vector<Ev>& events) {
  for (const Ev& e : events) s.append(e.record());
}

bool commit(EventStore& s) {
  std::string error;
  bool ok = s.commit(&error);
  EXPECT_TRUE(ok) << error;
  return ok;
}

TEST(SqliteStore, RoundTripKeepsEveryField) {
  store_test::TempDir dir;
  std::string path = dir.file("chatd.db");
  Ev join{"dev", "k3x9q2", "alice", "", 1, 1'700'000'000'001, StoredKind::join};
  Ev m{"dev", "k3x9q2", "alice", "héllo \"world\"\n\t😀", 2, 1'700'000'000'002, StoredKind::msg};
  Ev leave{"dev", "k3x9q2", "bob", "", 3, 1'700'000'000'003, StoredKind::leave};
  Ev nul{"dev", "k3x9q2", "bob", std::string("a\0b", 3), 4, 5, StoredKind::msg};
  {
    auto s = open_store(path);
    ASSERT_TRUE(s);
    EXPECT_TRUE(s->durable());
    EXPECT_EQ(s->completion_fd(), -1);
    add(*s, {join, m, leave, nul});
    EXPECT_TRUE(s->read("dev", 0, kMax, 10).empty()) << "uncommitted events are not read";
    ASSERT_TRUE(commit(*s));
  }
  auto s = open_store(path);
  ASSERT_TRUE(s);
  auto got = s->read("dev", 0, kMax, 10);
  ASSERT_EQ(got.size(), 4u);
  const Ev* want[] = {&join, &m, &leave, &nul};
  for (size_t i = 0; i < 4; ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(got[i].id, want[i]->id);
    EXPECT_EQ(got[i].ts, want[i]->ts);
    EXPECT_EQ(got[i].kind, want[i]->kind);
    EXPECT_EQ(got[i].nick, want[i]->nick);
    EXPECT_EQ(got[i].text, want[i]->text);
  }
}

TEST(SqliteStore, ReadWindowsAreTheNewestOfTheRangeOldestFirst) {
  store_test::TempDir dir;
  auto s = open_store(dir.file("chatd.db"));
  ASSERT_TRUE(s);
  for (uint64_t i = 1; i <= 50; ++i) add(*s, {msg("dev", i), msg("ops", i)});
  ASSERT_TRUE(commit(*s));
  struct Case {
    uint64_t after, before;
    size_t limit;
    std::vector<uint64_t> want;
  } cases[] = {
      {0, kMax, 10, range(41, 50)},    // the newest page
      {0, 41, 10, range(31, 40)},      // the page before it
      {0, 5, 10, range(1, 4)},         // the oldest, short
      {45, kMax, 100, range(46, 50)},  // since 45: what was missed
      {10, 15, 200, range(11, 14)},    // both bounds exclusive
      {0, kMax, 200, range(1, 50)},    // everything
      {50, kMax, 10, {}},              // nothing newer
      {10, 11, 10, {}},                // an empty window
      {20, 10, 10, {}},                // an inverted one
      {0, kMax, 0, {}},                // limit 0
      {0, kMax, 1, {50}},              // the newest alone
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::to_string(c.after) + ".." + std::to_string(c.before) + " limit " +
                 std::to_string(c.limit));
    EXPECT_EQ(ids(s->read("dev", c.after, c.before, c.limit)), c.want);
  }
  EXPECT_TRUE(s->read("nope", 0, kMax, 10).empty());
  EXPECT_EQ(s->read("ops", 0, kMax, 1).at(0).text, "ops#50");
}

TEST(SqliteStore, HeadsAtStartAndIdsContinue) {
  store_test::TempDir dir;
  std::string path = dir.file("chatd.db");
  {
    auto s = open_store(path);
    ASSERT_TRUE(s);
    EXPECT_TRUE(s->heads().empty());
    for (uint64_t i = 1; i <= 7; ++i) add(*s, {msg("dev", i)});
    ASSERT_TRUE(commit(*s));
    add(*s, {msg("ops", 1), msg("dev", 8)});
    ASSERT_TRUE(commit(*s));
    EXPECT_TRUE(commit(*s)) << "an empty batch commits";
  }
  auto s = open_store(path);
  ASSERT_TRUE(s);
  auto heads = s->heads();
  ASSERT_EQ(heads.size(), 2u);
  EXPECT_EQ(heads[0].room, "dev");
  EXPECT_EQ(heads[0].epoch, "ep-dev");
  EXPECT_EQ(heads[0].last_id, 8u);
  EXPECT_EQ(heads[0].first_id, 1u);
  EXPECT_EQ(heads[1].room, "ops");
  EXPECT_EQ(heads[1].last_id, 1u);
  add(*s, {msg("dev", 9)});
  ASSERT_TRUE(commit(*s));
  EXPECT_EQ(ids(s->read("dev", 0, kMax, 100)), range(1, 9));
  EXPECT_EQ(s->heads()[0].last_id, 9u);
}

TEST(SqliteStore, AFailedBatchIsDiscardedWholeAndTheStoreGoesOn) {
  store_test::TempDir dir;
  auto s = open_store(dir.file("chatd.db"));
  ASSERT_TRUE(s);
  add(*s, {msg("dev", 1)});
  ASSERT_TRUE(commit(*s));
  // A new room and a repeated id in one batch: the repeated id fails it all.
  add(*s, {msg("new", 1), msg("dev", 2), msg("dev", 1)});
  std::string error;
  EXPECT_FALSE(s->commit(&error));
  EXPECT_NE(error.find("is not after its last id"), std::string::npos) << error;
  EXPECT_EQ(error.find('\n'), std::string::npos);
  EXPECT_EQ(ids(s->read("dev", 0, kMax, 10)), (std::vector<uint64_t>{1}));
  EXPECT_TRUE(s->read("new", 0, kMax, 10).empty());
  EXPECT_EQ(s->heads().size(), 1u) << "the new room was rolled back too";
  // The same ids again, now valid: ids stay gap-free.
  add(*s, {msg("new", 1), msg("dev", 2)});
  ASSERT_TRUE(commit(*s));
  EXPECT_EQ(ids(s->read("dev", 0, kMax, 10)), range(1, 2));
  EXPECT_EQ(ids(s->read("new", 0, kMax, 10)), range(1, 1));
  auto heads = s->heads();
  ASSERT_EQ(heads.size(), 2u);
  EXPECT_EQ(heads[1].room, "new");
  EXPECT_EQ(heads[1].epoch, "ep-new");
  StoreStats st = s->stats();
  EXPECT_EQ(st.store_errors, 1u);
  EXPECT_EQ(st.commits, 2u);
}

TEST(SqliteStore, StatsCountCommitsEventsLatencyAndSize) {
  store_test::TempDir dir;
  auto s = open_store(dir.file("chatd.db"));
  ASSERT_TRUE(s);
  StoreStats before = s->stats();
  EXPECT_GT(before.db_bytes, 0u);
  for (uint64_t i = 1; i <= 2000; ++i) add(*s, {msg("dev", i)});
  ASSERT_TRUE(commit(*s));
  add(*s, {msg("dev", 2001)});
  ASSERT_TRUE(commit(*s));
  ASSERT_TRUE(commit(*s));  // empty: not counted
  StoreStats st = s->stats();
  EXPECT_EQ(st.commits, 2u);
  EXPECT_EQ(st.events_stored, 2001u);
  EXPECT_EQ(st.store_errors, 0u);
  EXPECT_EQ(st.latency_count, 2u);
  uint64_t in_buckets = 0;
  for (uint64_t b : st.latency_buckets) in_buckets += b;
  EXPECT_EQ(in_buckets, 2u);
  EXPECT_GT(st.db_bytes, before.db_bytes);
  EXPECT_EQ(st.db_bytes % 4096, 0u);
}

TEST(StoreStats, LatencyBuckets) {
  EXPECT_EQ(latency_bucket(0), 0u);
  EXPECT_EQ(latency_bucket(50), 0u);
  EXPECT_EQ(latency_bucket(51), 1u);
  EXPECT_EQ(latency_bucket(250000), kCommitLatencyBoundsUs.size() - 1);
  EXPECT_EQ(latency_bucket(250001), kCommitLatencyBoundsUs.size());
}

}  // namespace
}  // namespace chatd
