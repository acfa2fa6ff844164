// Schema 3's index at work: events of many rooms interleaved as loop turns
// write them, folded into runs a few rooms per commit, read back across runs
// and the unfolded tail (paging, heads) before and after a restart, after a
// kill that left the tail only in the WAL, and with --fsync; the rows a
// restart scans stay bounded.
#include <gtest/gtest.h>
#include <poll.h>

#include <algorithm>
#include <limits>
#include <map>
#include <random>

#include "store/sqlite_store.h"
#include "store_test_util.h"

namespace chatd {
namespace {

using store_test::ids;
using store_test::msg;
using store_test::range;
using store_test::raw_int;
constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();

std::string room_name(size_t i) {
  return "r" + std::to_string(i);
}

// `turns` commits of `per_turn` events over `rooms` rooms picked at random
// (seeded), ids counted per room in *last.
void chat(EventStore& s, size_t rooms, size_t turns, size_t per_turn,
          std::map<std::string, uint64_t>* last, uint32_t seed = 1) {
  std::mt19937 rng(seed);
  std::string error;
  for (size_t t = 0; t < turns; ++t) {
    for (size_t i = 0; i < per_turn; ++i) {
      std::string room = room_name(rng() % rooms);
      s.append(msg(room, ++(*last)[room], 1'700'000'000'000 + int64_t(t)).record());
    }
    ASSERT_TRUE(s.commit(&error)) << error;
  }
}

// Every room reads back whole and in pages, with the head matching.
void expect_all(EventStore& s, const std::map<std::string, uint64_t>& last) {
  std::map<std::string, uint64_t> heads;
  for (const RoomHead& h : s.heads()) {
    EXPECT_EQ(h.first_id, 1u) << h.room;
    heads[h.room] = h.last_id;
  }
  EXPECT_EQ(heads, last);
  for (const auto& [room, n] : last) {
    auto all = s.read(room, 0, kMax, 100'000);
    ASSERT_EQ(ids(all), range(1, n)) << room;
    EXPECT_EQ(all.back().text, msg(room, n).text);
    // Paging back from the newest, as `history` does, 7 at a time.
    std::vector<uint64_t> paged;
    for (uint64_t before = kMax;;) {
      auto page = s.read(room, 0, before, 7);
      if (page.empty()) break;
      for (size_t i = page.size(); i-- > 0;) paged.push_back(page[i].id);
      before = page.front().id;
    }
    std::vector<uint64_t> want = range(1, n);
    std::reverse(want.begin(), want.end());
    EXPECT_EQ(paged, want) << room;
    if (n > 5) {
      EXPECT_EQ(ids(s.read(room, n - 5, kMax, 100)), range(n - 4, n)) << "replay since";
    }
    RoomHead h;
    ASSERT_TRUE(s.head(room, &h));
    EXPECT_EQ(h.last_id, n);
    EXPECT_EQ(h.first_id, 1u);
    EXPECT_EQ(h.epoch, "ep-" + room);
  }
  EXPECT_TRUE(s.read_ok());
}

std::unique_ptr<SqliteStore> open_store(const std::string& path, bool fsync = false) {
  SqliteOptions o;
  o.fsync = fsync;
  std::string error;
  auto s = SqliteStore::open(path, o, &error);
  EXPECT_TRUE(s) << error;
  return s;
}

TEST(SqliteFold, ManyRoomsReadBackAcrossRunsAndTheTail) {
  store_test::TempDir dir;
  std::string path = dir.file("chatd.db");
  std::map<std::string, uint64_t> last;
  {
    auto s = open_store(path);
    ASSERT_TRUE(s);
    chat(*s, 50, 60, 110, &last);
    EXPECT_GT(raw_int(path, "SELECT count(*) FROM event_runs"), 50) << "busy rooms were folded";
    EXPECT_GT(raw_int(path, "SELECT count(*) FROM events WHERE seq > (SELECT below FROM fold)"), 0)
        << "and the newest events of each room are not yet";
    expect_all(*s, last);
  }
  auto s = open_store(path);
  ASSERT_TRUE(s);
  expect_all(*s, last);
  chat(*s, 50, 5, 110, &last, 2);
  expect_all(*s, last);
}

TEST(SqliteFold, AKillLeavesTheTailInTheWalAndARestartFindsIt) {
  store_test::TempDir dir;
  std::string path = dir.file("chatd.db");
  std::map<std::string, uint64_t> last;
  std::string verdict = store_test::in_child([&] {
    auto s = open_store(path);
    if (!s) return std::string("no store");
    chat(*s, 30, 40, 50, &last);
    (void)s.release();  // no close, no checkpoint: as after kill -9
    return std::string();
  });
  ASSERT_EQ(verdict, "");
  ASSERT_TRUE(store_test::exists(path + "-wal"));
  {
    // The child's counts, computed the same way (same seed).
    store_test::TempDir scratch;
    auto s = open_store(scratch.file("x.db"));
    chat(*s, 30, 40, 50, &last);
  }
  auto s = open_store(path);
  ASSERT_TRUE(s);
  expect_all(*s, last);
  // Ids go on, and a repeated one is still refused.
  std::string error;
  s->append(msg("r1", last["r1"] + 1).record());
  ASSERT_TRUE(s->commit(&error)) << error;
  ++last["r1"];
  s->append(msg("r1", last["r1"]).record());
  EXPECT_FALSE(s->commit(&error));
  expect_all(*s, last);
}

TEST(SqliteFold, ARestartScansABoundedTail) {
  store_test::TempDir dir;
  std::string path = dir.file("chatd.db");
  std::map<std::string, uint64_t> last;
  auto s = open_store(path);
  ASSERT_TRUE(s);
  // 3000 rooms, 20 events each on average: no room reaches a run's worth,
  // so only the age of the oldest gets them folded.
  chat(*s, 3000, 550, 110, &last);
  int64_t unfolded =
      raw_int(path, "SELECT count(*) FROM events WHERE seq > (SELECT below FROM fold)");
  EXPECT_LE(unfolded, kTailSpan + 2 * 110) << "rows a restart reads";
  EXPECT_GT(raw_int(path, "SELECT count(*) FROM event_runs"), 1000);
  s.reset();
  s = open_store(path);
  ASSERT_TRUE(s);
  for (const char* room : {"r0", "r1234", "r2999"})
    EXPECT_EQ(ids(s->read(room, 0, kMax, 1000)), range(1, last[room])) << room;
}

TEST(SqliteFold, WithFsyncTheLoopReadsWhatTheWriterStored) {
  store_test::TempDir dir;
  std::string path = dir.file("chatd.db");
  std::map<std::string, uint64_t> last;
  auto s = open_store(path, true);
  ASSERT_TRUE(s);
  std::mt19937 rng(3);
  std::string error;
  for (size_t t = 0; t < 40; ++t) {
    for (size_t i = 0; i < 60; ++i) {
      std::string room = room_name(rng() % 20);
      s->append(msg(room, ++last[room]).record());
    }
    ASSERT_TRUE(s->commit(&error)) << error;
    std::vector<BatchDone> done;
    while (done.empty()) {
      pollfd p{s->completion_fd(), POLLIN, 0};
      ASSERT_EQ(poll(&p, 1, 10'000), 1);
      s->take_done(&done);
    }
    ASSERT_TRUE(done[0].ok) << done[0].error;
  }
  expect_all(*s, last);
  s.reset();
  s = open_store(path, true);
  ASSERT_TRUE(s);
  expect_all(*s, last);
}

}  // namespace
}  // namespace chatd
