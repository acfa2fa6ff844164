// --fsync: batches are committed by the writer thread, their outcome comes
// back in order and is signalled on the completion fd; nothing queued is
// lost when the store closes.
#include <gtest/gtest.h>
#include <poll.h>

#include <limits>

#include "store/sqlite_store.h"
#include "store_test_util.h"

namespace chatd {
namespace {

using store_test::ids;
using store_test::msg;
using store_test::range;
constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();

std::unique_ptr<SqliteStore> open_fsync(const std::string& path, uint64_t retain = 100000) {
  SqliteOptions o;
  o.fsync = true;
  o.retention.max_events = retain;
  std::string error;
  auto s = SqliteStore::open(path, o, &error);
  EXPECT_TRUE(s) << error;
  return s;
}

// Waits on the fd until `n` results have come, and returns them.
std::vector<BatchDone> wait_done(EventStore& s, size_t n) {
  std::vector<BatchDone> done;
  while (done.size() < n) {
    pollfd p{s.completion_fd(), POLLIN, 0};
    EXPECT_EQ(poll(&p, 1, 10'000), 1) << "no completion signalled";
    if (!(p.revents & POLLIN)) break;
    s.take_done(&done);
  }
  return done;
}

TEST(SqliteFsync, BatchesCompleteInOrderSignalledOnTheFd) {
  store_test::TempDir dir;
  auto s = open_fsync(dir.file("chatd.db"));
  ASSERT_TRUE(s);
  ASSERT_GE(s->completion_fd(), 0);
  EXPECT_EQ(s->last_batch(), 0u);
  std::string error;
  ASSERT_TRUE(s->commit(&error)) << "an empty batch";
  EXPECT_EQ(s->last_batch(), 0u) << "is neither queued nor numbered";
  uint64_t id = 0;
  for (uint64_t b = 1; b <= 50; ++b) {
    for (int i = 0; i < 3; ++i) s->append(msg("dev", ++id).record());
    ASSERT_TRUE(s->commit(&error)) << error;
    EXPECT_EQ(s->last_batch(), b);
  }
  std::vector<BatchDone> done = wait_done(*s, 50);
  ASSERT_EQ(done.size(), 50u);
  for (size_t i = 0; i < done.size(); ++i) {
    EXPECT_EQ(done[i].seq, i + 1);
    EXPECT_TRUE(done[i].ok) << done[i].error;
  }
  // Everything reported done is readable from the loop's connection.
  EXPECT_EQ(ids(s->read("dev", 0, kMax, 1000)), range(1, 150));
  StoreStats st = s->stats();
  EXPECT_EQ(st.events_stored, 150u);
  EXPECT_EQ(st.latency_count, 50u);
  EXPECT_LE(st.commits, 50u) << "batches queued together commit together";
  // Nothing more: the fd is quiet.
  pollfd p{s->completion_fd(), POLLIN, 0};
  EXPECT_EQ(poll(&p, 1, 0), 0);
  std::vector<BatchDone> none;
  EXPECT_EQ(s->take_done(&none), 0u);
}

TEST(SqliteFsync, AFailedBatchIsReportedAloneAndTheNextOneSucceeds) {
  store_test::TempDir dir;
  auto s = open_fsync(dir.file("chatd.db"));
  ASSERT_TRUE(s);
  std::string error;
  s->append(msg("dev", 1).record());
  s->append(msg("dev", 1).record());  // a repeated id fails its batch
  ASSERT_TRUE(s->commit(&error));
  s->append(msg("dev", 1).record());
  ASSERT_TRUE(s->commit(&error));
  std::vector<BatchDone> done = wait_done(*s, 2);
  ASSERT_EQ(done.size(), 2u);
  EXPECT_FALSE(done[0].ok);
  EXPECT_NE(done[0].error.find("is not after its last id"), std::string::npos) << done[0].error;
  EXPECT_TRUE(done[1].ok) << done[1].error;
  EXPECT_EQ(ids(s->read("dev", 0, kMax, 10)), range(1, 1));
  EXPECT_GE(s->stats().store_errors, 1u);
}

TEST(SqliteFsync, ClosingCommitsWhatIsQueued) {
  store_test::TempDir dir;
  std::string path = dir.file("chatd.db");
  std::string error;
  {
    auto s = open_fsync(path);
    ASSERT_TRUE(s);
    for (uint64_t i = 1; i <= 200; ++i) {
      s->append(msg("dev", i).record());
      ASSERT_TRUE(s->commit(&error)) << error;
    }
  }
  auto s = open_fsync(path);
  ASSERT_TRUE(s);
  EXPECT_EQ(ids(s->read("dev", 0, kMax, 1000)), range(1, 200));
  EXPECT_EQ(s->heads().at(0).last_id, 200u);
}

TEST(SqliteFsync, TheWriterPrunesBeforeReportingTheBatch) {
  store_test::TempDir dir;
  auto s = open_fsync(dir.file("chatd.db"), 10);
  ASSERT_TRUE(s);
  std::string error;
  for (uint64_t i = 1; i <= 30; ++i) s->append(msg("dev", i).record());
  ASSERT_TRUE(s->commit(&error));
  ASSERT_EQ(wait_done(*s, 1).size(), 1u);
  EXPECT_FALSE(s->prune_step()) << "the loop has nothing to do: the writer prunes";
  EXPECT_EQ(ids(s->read("dev", 0, kMax, 100)), range(21, 30));
}

}  // namespace
}  // namespace chatd
