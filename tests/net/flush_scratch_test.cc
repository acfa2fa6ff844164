// OutputQueue::flush with a FlushScratch: which frames are copied into one
// run and which go by reference, and that short writes, partial frames and
// mixed sizes keep the stream whole whatever the scratch holds afterwards.
#include "net/flush_scratch.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "net/output_queue.h"
#include "queue_test_util.h"

namespace chatd {
namespace {

using test::expect_pattern;
using test::expect_refs;
using test::Pair;
using test::push_blocks;

// Big enough that one flush of everything below is never short.
constexpr int kRoomy = 1 << 20;

TEST(FlushScratch, HoldsNoMemoryUntilFirstUsedAndNeverGrows) {
  FlushScratch s(2048, 4096);
  EXPECT_EQ(s.memory_bytes(), 0u);
  Pair p(kRoomy);
  OutputQueue q;
  size_t pos = 0;
  push_blocks(q, {10}, pos);
  q.flush(p.writer.get(), SIZE_MAX, &s);  // a lone frame: nothing to copy
  EXPECT_EQ(s.memory_bytes(), 0u);
  push_blocks(q, std::vector<size_t>(100, 100), pos);  // more than fits
  q.flush(p.writer.get(), SIZE_MAX, &s);
  EXPECT_EQ(s.memory_bytes(), 4096u);
  EXPECT_TRUE(q.empty());
  std::string got;
  p.drain(got);
  EXPECT_EQ(got.size(), pos);
  expect_pattern(got);
}

// One line per case: frame sizes, and what one writev of them must look
// like with copy_max 2048 (runs of two or more small frames are one iovec;
// a lone small frame and large ones are references).
struct GatherCase {
  const char* name;
  std::vector<size_t> sizes;
  uint32_t iovecs;
  size_t copied;
};

TEST(FlushScratch, CopiesRunsOfSmallFramesAndReferencesTheRest) {
  const std::vector<GatherCase> cases = {
      {"one small frame", {107}, 1, 0},
      {"a turn of 18 small frames", std::vector<size_t>(18, 107), 1, 18 * 107},
      {"two small", {1, 2}, 1, 3},
      {"exactly copy_max is small", {2048, 2048}, 1, 4096},
      {"one past copy_max is large", {2049, 2049}, 2, 0},
      {"large frames only", {5000, 3000, 70000}, 3, 0},
      {"lone small between large", {5000, 100, 5000}, 3, 0},
      {"mixed", {100, 100, 5000, 100, 3000, 100, 100, 100, 70000, 1, 2}, 7, 200 + 300 + 3},
      {"small run then large then lone small", {50, 60, 70, 9000, 80}, 3, 180},
  };
  for (const GatherCase& c : cases) {
    SCOPED_TRACE(c.name);
    Pair p(kRoomy);
    OutputQueue q;
    FlushScratch s(2048);
    size_t pos = 0;
    auto kept = push_blocks(q, c.sizes, pos);
    FlushResult r = q.flush(p.writer.get(), SIZE_MAX, &s);
    EXPECT_EQ(r.error, 0);
    EXPECT_EQ(r.written, pos);
    EXPECT_EQ(r.writes, 1u);
    EXPECT_EQ(r.iovecs, c.iovecs);
    EXPECT_EQ(r.copied, c.copied);
    EXPECT_TRUE(q.empty());
    expect_refs(kept, pos);
    std::string got;
    p.drain(got);
    EXPECT_EQ(got.size(), pos);
    expect_pattern(got);
  }
}

TEST(FlushScratch, WithoutCopyingEveryFrameIsItsOwnIovec) {
  for (bool null_scratch : {true, false}) {
    Pair p(kRoomy);
    OutputQueue q;
    FlushScratch off(0);
    size_t pos = 0;
    push_blocks(q, std::vector<size_t>(10, 100), pos);
    FlushResult r = q.flush(p.writer.get(), SIZE_MAX, null_scratch ? nullptr : &off);
    EXPECT_EQ(r.written, pos);
    EXPECT_EQ(r.iovecs, 10u);
    EXPECT_EQ(r.copied, 0u);
    EXPECT_EQ(off.memory_bytes(), 0u);
  }
}

TEST(FlushScratch, ARunIsNotCappedByTheIovecLimit) {
  Pair p(kRoomy);
  OutputQueue q;
  FlushScratch s;
  size_t pos = 0;
  auto kept = push_blocks(q, std::vector<size_t>(3 * OutputQueue::kMaxIov + 5, 30), pos);
  FlushResult r = q.flush(p.writer.get(), SIZE_MAX, &s);
  EXPECT_EQ(r.written, pos);
  EXPECT_EQ(r.writes, 1u);
  EXPECT_EQ(r.iovecs, 1u);
  expect_refs(kept, pos);
  std::string got;
  p.drain(got);
  expect_pattern(got);
}

// A 1 KiB scratch takes ten 100-byte frames; the other twenty go by
// reference, each its own iovec, in the same writev.
TEST(FlushScratch, FramesThatNoLongerFitGoByReference) {
  Pair p(kRoomy);
  OutputQueue q;
  FlushScratch s(2048, 1024);
  size_t pos = 0;
  auto kept = push_blocks(q, std::vector<size_t>(30, 100), pos);
  FlushResult r = q.flush(p.writer.get(), SIZE_MAX, &s);
  EXPECT_EQ(r.written, pos);
  EXPECT_EQ(r.writes, 1u);
  EXPECT_EQ(r.copied, 1000u);
  EXPECT_EQ(r.iovecs, 21u);
  expect_refs(kept, pos);
  std::string got;
  p.drain(got);
  expect_pattern(got);
}

// The budget cuts a frame in the middle of a run; the next flush resumes
// from the queue's offset, not from what the scratch held.
TEST(FlushScratch, BudgetCutsARunAndTheRestResumesAtTheOffset) {
  Pair p(kRoomy);
  OutputQueue q;
  FlushScratch s;
  size_t pos = 0;
  auto kept = push_blocks(q, {100, 100, 100}, pos);
  FlushResult r = q.flush(p.writer.get(), 150, &s);
  EXPECT_EQ(r.written, 150u);
  EXPECT_EQ(r.copied, 150u);
  EXPECT_EQ(q.blocks(), 2u);
  EXPECT_EQ(q.bytes(), 150u);
  expect_refs(kept, 150);
  std::memset(s.data(), 'Z', s.capacity());
  r = q.flush(p.writer.get(), SIZE_MAX, &s);
  EXPECT_EQ(r.written, 150u);
  EXPECT_EQ(r.iovecs, 1u);
  EXPECT_EQ(r.copied, 150u) << "the rest of frame 2 and frame 3, copied anew";
  EXPECT_TRUE(q.empty());
  std::string got;
  p.drain(got);
  ASSERT_EQ(got.size(), 300u);
  expect_pattern(got);
}

// Sizes from 1 byte to past copy_max, many partial writes into a 4 KiB
// socket buffer; the scratch is scribbled over between flushes, as another
// connection's flush would, and the stream must still come out whole.
TEST(FlushScratch, ShortWritesAndMixedSizesKeepTheStreamWhole) {
  Pair p(4096);
  OutputQueue q;
  FlushScratch s(2048, 8192);
  std::vector<size_t> sizes;
  uint32_t x = 12345;
  for (int i = 0; i < 600; ++i) {
    x = x * 1103515245 + 12345;
    const uint32_t r = (x >> 8) % 100;
    sizes.push_back(r < 70 ? 1 + r * 3 : r < 95 ? 1000 + r * 20 : 9000 + r * 100);
  }
  size_t pos = 0;
  auto kept = push_blocks(q, sizes, pos);
  std::string got;
  size_t sent = 0, copied = 0;
  int blocked = 0;
  for (int round = 0; !q.empty(); ++round) {
    ASSERT_LT(round, 100000) << "no progress";
    FlushResult r = q.flush(p.writer.get(), SIZE_MAX, &s);
    ASSERT_EQ(r.error, 0);
    sent += r.written;
    copied += r.copied;
    EXPECT_EQ(q.bytes(), pos - sent);
    if (!q.empty()) {
      EXPECT_TRUE(r.would_block);
      ++blocked;
    }
    expect_refs(kept, sent);
    std::memset(s.data(), 'Z', s.capacity());
    p.drain(got);
  }
  EXPECT_GT(blocked, 10) << "the small buffer should force many partial writes";
  EXPECT_GT(copied, 0u);
  EXPECT_EQ(got.size(), pos);
  expect_pattern(got);
}

// One scratch serves every connection: flushes of two queues alternate,
// each cut short by its socket, and neither stream borrows the other's bytes.
TEST(FlushScratch, TwoQueuesShareOneScratch) {
  Pair pa(4096), pb(4096);
  OutputQueue qa, qb;
  FlushScratch s;
  size_t pos_a = 0, pos_b = 100000;  // different stretches of the pattern
  const size_t start_b = pos_b;
  push_blocks(qa, std::vector<size_t>(200, 97), pos_a);
  push_blocks(qb, std::vector<size_t>(150, 131), pos_b);
  std::string got_a, got_b;
  for (int round = 0; !qa.empty() || !qb.empty(); ++round) {
    ASSERT_LT(round, 100000) << "no progress";
    ASSERT_EQ(qa.flush(pa.writer.get(), SIZE_MAX, &s).error, 0);
    ASSERT_EQ(qb.flush(pb.writer.get(), SIZE_MAX, &s).error, 0);
    pa.drain(got_a);
    pb.drain(got_b);
  }
  EXPECT_EQ(got_a.size(), pos_a);
  EXPECT_EQ(got_b.size(), pos_b - start_b);
  expect_pattern(got_a);
  expect_pattern(got_b, start_b);
}

}  // namespace
}  // namespace chatd
