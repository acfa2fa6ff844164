#include "net/output_queue.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "queue_test_util.h"

namespace chatd {
namespace {

using test::expect_pattern;
using test::expect_refs;
using test::Pair;
using test::push_blocks;

TEST(OutputQueue, EmptyQueueOwnsNothingAndFlushesNothing) {
  OutputQueue q;
  EXPECT_EQ(sizeof(OutputQueue), 32u);
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.memory_bytes(), 0u);
  Pair p;
  FlushResult r = q.flush(p.writer.get(), 1 << 20);
  EXPECT_EQ(r.written, 0u);
  EXPECT_FALSE(r.would_block);
  EXPECT_EQ(r.error, 0);
  q.push(BlockRef());         // null: dropped
  q.push(BlockRef::make(8));  // empty: dropped
  EXPECT_TRUE(q.empty());
}

TEST(OutputQueue, PartialWritesResumeAtTheExactOffset) {
  Pair p(4096);
  OutputQueue q;
  size_t pos = 0;
  const std::vector<size_t> sizes = {1, 7, 1000, 5000, 3, 65536, 333, 20000, 2, 4096, 4097, 1};
  auto kept = push_blocks(q, sizes, pos);
  EXPECT_EQ(q.bytes(), pos);
  std::string got;
  size_t sent = 0;
  int blocked = 0;
  for (int round = 0; !q.empty(); ++round) {
    ASSERT_LT(round, 100000) << "no progress";
    FlushResult r = q.flush(p.writer.get(), SIZE_MAX);
    ASSERT_EQ(r.error, 0);
    sent += r.written;
    EXPECT_EQ(q.bytes(), pos - sent);
    if (!q.empty()) {
      EXPECT_TRUE(r.would_block) << "stopped early without a full socket";
      ++blocked;
    }
    expect_refs(kept, sent);
    p.drain(got);
  }
  EXPECT_GT(blocked, 2) << "the small buffer should force several partial writes";
  EXPECT_EQ(got.size(), pos);
  expect_pattern(got);
}

TEST(OutputQueue, BudgetIsRespectedToTheByte) {
  Pair p(1 << 20);
  OutputQueue q;
  size_t pos = 0;
  auto kept = push_blocks(q, {100, 100, 100, 100}, pos);
  std::string got;
  const size_t budgets[] = {0, 1, 99, 150, 50};
  size_t sent = 0;
  for (size_t budget : budgets) {
    FlushResult r = q.flush(p.writer.get(), budget);
    EXPECT_EQ(r.written, budget);
    EXPECT_FALSE(r.would_block);
    sent += r.written;
    expect_refs(kept, sent);
    p.drain(got);
    EXPECT_EQ(got.size(), sent);
  }
  FlushResult r = q.flush(p.writer.get(), 1000);
  EXPECT_EQ(r.written, 400 - sent);
  EXPECT_TRUE(q.empty());
  p.drain(got);
  expect_pattern(got);
  expect_refs(kept, 400);
}

TEST(OutputQueue, GathersMoreThanOneWritevWorthOfBlocks) {
  Pair p(1 << 20);
  OutputQueue q;
  size_t pos = 0;
  std::vector<size_t> sizes(3 * OutputQueue::kMaxIov + 5, 3);
  auto kept = push_blocks(q, sizes, pos);
  FlushResult r = q.flush(p.writer.get(), SIZE_MAX);
  EXPECT_EQ(r.written, pos);
  EXPECT_FALSE(r.would_block);
  EXPECT_TRUE(q.empty());
  expect_refs(kept, pos);
  std::string got;
  p.drain(got);
  expect_pattern(got);
}

TEST(OutputQueue, ReportsEagainWhenTheSocketIsAlreadyFull) {
  Pair p(4096);
  // Fill the socket so the very first writev cannot send anything.
  char junk[4096] = {};
  while (write(p.writer.get(), junk, sizeof junk) > 0) {
  }
  OutputQueue q;
  size_t pos = 0;
  auto kept = push_blocks(q, {10}, pos);
  FlushResult r = q.flush(p.writer.get(), SIZE_MAX);
  EXPECT_EQ(r.written, 0u);
  EXPECT_TRUE(r.would_block);
  EXPECT_EQ(r.error, 0);
  EXPECT_EQ(q.bytes(), 10u);
  expect_refs(kept, 0);
}

TEST(OutputQueue, PeerGoneIsAnErrorAndBlocksStayUntilClear) {
  Pair p;
  OutputQueue q;
  size_t pos = 0;
  auto kept = push_blocks(q, {10, 20}, pos);
  p.reader.reset();
  FlushResult r = q.flush(p.writer.get(), SIZE_MAX);
  EXPECT_EQ(r.error, -EPIPE);
  EXPECT_EQ(r.written, 0u);
  expect_refs(kept, 0);
  q.clear();
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.bytes(), 0u);
  EXPECT_EQ(q.memory_bytes(), 0u);
  expect_refs(kept, 30);
}

TEST(OutputQueue, SharedBlockInManyQueuesIsFreedByTheLast) {
  Pair a, b;
  OutputQueue qa, qb;
  size_t pos = 0;
  auto kept = push_blocks(qa, {50}, pos);
  qb.push(kept[0]);
  EXPECT_EQ(kept[0]->refs, 3u);
  EXPECT_EQ(qa.flush(a.writer.get(), SIZE_MAX).written, 50u);
  EXPECT_EQ(kept[0]->refs, 2u);
  EXPECT_EQ(qb.flush(b.writer.get(), SIZE_MAX).written, 50u);
  EXPECT_EQ(kept[0]->refs, 1u);
}

TEST(OutputQueue, EntryArrayIsKeptWhenSmallAndFreedAfterGrowingLarge) {
  Pair p(1 << 20);
  OutputQueue q;
  size_t pos = 0;
  push_blocks(q, {1, 1, 1}, pos);
  const size_t small = q.memory_bytes();
  EXPECT_GT(small, 0u);
  q.flush(p.writer.get(), SIZE_MAX);
  EXPECT_EQ(q.memory_bytes(), small) << "steady state: the array is reused";
  push_blocks(q, std::vector<size_t>(1000, 1), pos);
  EXPECT_EQ(q.blocks(), 1000u);
  EXPECT_GT(q.memory_bytes(), small);
  q.flush(p.writer.get(), SIZE_MAX);
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.memory_bytes(), 0u) << "a drained large array is given back";
  std::string got;
  p.drain(got);
  EXPECT_EQ(got.size(), pos);
  expect_pattern(got);
}

TEST(OutputQueue, OneBlockAtATimeNeverTouchesTheHeap) {
  Pair p(1 << 20);
  OutputQueue q;
  size_t pos = 0;
  for (int i = 0; i < 100; ++i) {
    push_blocks(q, {7}, pos);
    EXPECT_EQ(q.memory_bytes(), 0u) << "one queued block lives in the inline slot";
    q.flush(p.writer.get(), SIZE_MAX);
  }
  push_blocks(q, {7, 7}, pos);  // a second block moves both to an entry array, in order
  EXPECT_GT(q.memory_bytes(), 0u);
  q.flush(p.writer.get(), SIZE_MAX);
  std::string got;
  p.drain(got);
  EXPECT_EQ(got.size(), pos);
  expect_pattern(got);
}

TEST(OutputQueue, DropUnstartedKeepsAPartlyWrittenHead) {
  Pair p(1 << 20);
  OutputQueue q;
  size_t pos = 0;
  push_blocks(q, {100, 50, 50}, pos);
  EXPECT_EQ(q.flush(p.writer.get(), 40).written, 40u);
  q.drop_unstarted();
  EXPECT_EQ(q.blocks(), 1u);
  EXPECT_EQ(q.bytes(), 60u);
  EXPECT_EQ(q.flush(p.writer.get(), SIZE_MAX).written, 60u);
  std::string got;
  p.drain(got);
  ASSERT_EQ(got.size(), 100u);
  expect_pattern(got);
  push_blocks(q, {10, 10}, pos);
  q.drop_unstarted();  // nothing started: everything goes
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.bytes(), 0u);
}

TEST(OutputQueue, RingWrapsAroundWithoutLosingOrder) {
  Pair p(1 << 20);
  OutputQueue q;
  size_t pos = 0, sent = 0;
  std::string got;
  // Keep 5 queued while pushing and flushing 3 at a time: head wraps in 8 slots.
  push_blocks(q, {10, 10, 10, 10, 10}, pos);
  for (int i = 0; i < 50; ++i) {
    push_blocks(q, {10, 10, 10}, pos);
    sent += q.flush(p.writer.get(), 30).written;
    EXPECT_EQ(q.blocks(), 5u);
  }
  EXPECT_EQ(q.memory_bytes(), sizeof(uint64_t) + 8 * sizeof(Block*));
  sent += q.flush(p.writer.get(), SIZE_MAX).written;
  EXPECT_EQ(sent, pos);
  p.drain(got);
  expect_pattern(got);
}

// A member of a busy room gets a dozen or two events per turn: its array is
// kept across turns (no malloc per turn) until the server, quiet, calls
// release_spare(); a queue with blocks in it keeps its array then.
TEST(OutputQueue, TurnSizedArrayIsKeptUntilReleaseSpare) {
  Pair p(1 << 20);
  OutputQueue q;
  size_t pos = 0;
  const size_t kept_bytes = sizeof(uint64_t) + OutputQueue::kKeepEntries * sizeof(Block*);
  for (int turn = 0; turn < 3; ++turn) {
    push_blocks(q, std::vector<size_t>(18, 9), pos);
    EXPECT_EQ(q.memory_bytes(), kept_bytes);
    q.flush(p.writer.get(), SIZE_MAX);
    EXPECT_TRUE(q.empty());
    EXPECT_EQ(q.memory_bytes(), kept_bytes) << "turn " << turn;
  }
  push_blocks(q, {9, 9}, pos);
  EXPECT_EQ(q.release_spare(), 0u) << "blocks queued: the array stays";
  EXPECT_EQ(q.memory_bytes(), kept_bytes);
  q.flush(p.writer.get(), SIZE_MAX);
  EXPECT_EQ(q.release_spare(), kept_bytes);
  EXPECT_EQ(q.memory_bytes(), 0u);
  EXPECT_EQ(q.release_spare(), 0u);
  std::string got;
  p.drain(got);
  EXPECT_EQ(got.size(), pos);
  expect_pattern(got);
}

// A slow consumer cut with 1008 drops its backlog: a large array goes with it.
TEST(OutputQueue, DropUnstartedFreesALargeArray) {
  OutputQueue q;
  size_t pos = 0;
  push_blocks(q, std::vector<size_t>(500, 3), pos);
  EXPECT_GT(q.memory_bytes(), sizeof(uint64_t) + OutputQueue::kKeepEntries * sizeof(Block*));
  q.drop_unstarted();
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.memory_bytes(), 0u);
}

TEST(OutputQueue, MoveKeepsTheQueue) {
  OutputQueue a;
  size_t pos = 0;
  auto kept = push_blocks(a, {5, 6}, pos);
  OutputQueue b(std::move(a));
  EXPECT_TRUE(a.empty());
  EXPECT_EQ(b.bytes(), 11u);
  OutputQueue c;
  c = std::move(b);
  EXPECT_EQ(c.blocks(), 2u);
  c.clear();
  expect_refs(kept, 11);
}

}  // namespace
}  // namespace chatd
