// EventRing: bounded by count and by bytes, oldest out first, ids always one
// consecutive run ending at the newest, and what it holds in memory.
#include "chat/event_ring.h"

#include <gtest/gtest.h>

#include <bit>
#include <deque>
#include <random>
#include <string>
#include <vector>

namespace chatd {
namespace {

// A block of exactly `n` content bytes (capacity n), tagged by its first byte.
BlockRef block_of(size_t n, char tag = 'x') {
  BlockRef b = BlockRef::make(n);
  std::string bytes(n, tag);
  b.append(bytes);
  return b;
}

// The ids the ring holds, oldest first, checked against first_id/last_id.
std::vector<uint64_t> ids(const EventRing& r) {
  std::vector<uint64_t> out;
  if (r.empty()) {
    EXPECT_EQ(r.first_id(), 0u);
    EXPECT_EQ(r.last_id(), 0u);
    return out;
  }
  for (uint64_t id = r.first_id(); id <= r.last_id(); ++id) {
    EXPECT_TRUE(r.holds(id));
    out.push_back(id);
  }
  EXPECT_FALSE(r.holds(r.first_id() - 1));
  EXPECT_FALSE(r.holds(r.last_id() + 1));
  EXPECT_EQ(out.size(), r.size());
  return out;
}

std::vector<uint64_t> run(uint64_t from, uint64_t to) {
  std::vector<uint64_t> out;
  for (uint64_t id = from; id <= to; ++id) out.push_back(id);
  return out;
}

TEST(EventRing, EmptyHoldsNothing) {
  EventRing r;
  EXPECT_TRUE(r.empty());
  EXPECT_EQ(r.size(), 0u);
  EXPECT_EQ(r.bytes(), 0u);
  EXPECT_EQ(r.memory_bytes(), 0u);
  EXPECT_EQ(ids(r), std::vector<uint64_t>{});
  EXPECT_FALSE(r.holds(0));
  EXPECT_FALSE(r.holds(1));
}

TEST(EventRing, BoundedByCountOldestFirst) {
  RingLimits lim{.max_events = 5, .max_bytes = 1 << 20};
  EventRing r;
  std::vector<BlockRef> pushed;
  for (uint64_t id = 1; id <= 12; ++id) {
    pushed.push_back(block_of(10, char('a' + id)));
    r.push(id, pushed.back(), lim);
    EXPECT_EQ(ids(r), run(id > 5 ? id - 4 : 1, id)) << id;
    EXPECT_EQ(r.bytes(), 10 * r.size());
  }
  // The blocks held are the very ones pushed: no copy, one reference each.
  for (uint64_t id = 8; id <= 12; ++id) EXPECT_EQ(r.at(id).get(), pushed[id - 1].get());
  for (uint64_t id = 1; id <= 7; ++id) EXPECT_EQ(pushed[id - 1]->refs, 1u) << "evicted " << id;
  for (uint64_t id = 8; id <= 12; ++id) EXPECT_EQ(pushed[id - 1]->refs, 2u) << "held " << id;
}

TEST(EventRing, BoundedByBytesNewestAlwaysStays) {
  RingLimits lim{.max_events = 100, .max_bytes = 100};
  EventRing r;
  r.push(1, block_of(40), lim);
  r.push(2, block_of(40), lim);
  EXPECT_EQ(ids(r), run(1, 2));
  EXPECT_EQ(r.bytes(), 80u);
  r.push(3, block_of(20), lim);  // exactly at the limit: nothing goes
  EXPECT_EQ(ids(r), run(1, 3));
  EXPECT_EQ(r.bytes(), 100u);
  r.push(4, block_of(1), lim);  // one byte over: the oldest goes
  EXPECT_EQ(ids(r), run(2, 4));
  EXPECT_EQ(r.bytes(), 61u);
  r.push(5, block_of(70), lim);  // 131: 2 goes (91)
  EXPECT_EQ(ids(r), run(3, 5));
  r.push(6, block_of(250), lim);  // bigger than the whole limit: alone, but kept
  EXPECT_EQ(ids(r), run(6, 6));
  EXPECT_EQ(r.bytes(), 250u);
  r.push(7, block_of(1), lim);
  EXPECT_EQ(ids(r), run(7, 7));
  EXPECT_EQ(r.bytes(), 1u);
}

TEST(EventRing, ZeroLimitsKeepOnlyTheNewest) {
  EventRing r;
  for (uint64_t id = 1; id <= 4; ++id) {
    r.push(id, block_of(3), {.max_events = 0, .max_bytes = 0});
    EXPECT_EQ(ids(r), run(id, id));
  }
}

TEST(EventRing, NonFollowingIdStartsAgain) {
  RingLimits lim{.max_events = 10, .max_bytes = 1000};
  struct Case {
    const char* name;
    uint64_t next;
  };
  for (Case c : {Case{"gap", 7}, Case{"same", 5}, Case{"back", 2}, Case{"restart at 1", 1},
                 Case{"far", 1ull << 40}}) {
    EventRing r;
    for (uint64_t id = 3; id <= 5; ++id) r.push(id, block_of(10), lim);
    BlockRef fresh = block_of(7, 'n');
    r.push(c.next, fresh, lim);
    EXPECT_EQ(ids(r), run(c.next, c.next)) << c.name;
    EXPECT_EQ(r.bytes(), 7u) << c.name;
    EXPECT_EQ(r.at(c.next).get(), fresh.get()) << c.name;
    r.push(c.next + 1, block_of(1), lim);
    EXPECT_EQ(ids(r), run(c.next, c.next + 1)) << c.name;
  }
}

TEST(EventRing, NullBlockIsSkippedAndTheNextIdStartsAgain) {
  RingLimits lim;
  EventRing r;
  r.push(1, block_of(5), lim);
  r.push(2, block_of(5), lim);
  r.push(3, BlockRef(), lim);  // malloc failed for event 3
  EXPECT_EQ(ids(r), run(1, 2));
  r.push(4, block_of(5), lim);  // 3 is missing: what remains must not skip it
  EXPECT_EQ(ids(r), run(4, 4));
}

TEST(EventRing, FirstIdMayBeAnything) {
  EventRing r;
  r.push(1000, block_of(1), {});
  r.push(1001, block_of(1), {});
  EXPECT_EQ(ids(r), run(1000, 1001));
}

// Limits are the caller's and may change between pushes (a new
// --history-memory would not, but the ring must not care).
TEST(EventRing, ShrinkingLimitsEvictAtTheNextPush) {
  EventRing r;
  for (uint64_t id = 1; id <= 20; ++id) r.push(id, block_of(10), {.max_events = 20});
  EXPECT_EQ(ids(r), run(1, 20));
  r.push(21, block_of(10), {.max_events = 3});
  EXPECT_EQ(ids(r), run(19, 21));
  r.push(22, block_of(10), {.max_events = 3, .max_bytes = 15});
  EXPECT_EQ(ids(r), run(22, 22));
  for (uint64_t id = 23; id <= 60; ++id) r.push(id, block_of(10), {.max_events = 40});
  EXPECT_EQ(ids(r), run(22, 60)) << "39 events, under the new count limit";
  r.push(61, block_of(10), {.max_events = 40});
  EXPECT_EQ(ids(r), run(22, 61));
  r.push(62, block_of(10), {.max_events = 40});
  EXPECT_EQ(ids(r), run(23, 62));
}

// memory_bytes() is the slot array plus every block held, whole: the
// figure /metrics and the memory-at-rest docs rely on.
TEST(EventRing, MemoryAccounting) {
  for (size_t max_events :
       {size_t(1), size_t(3), size_t(4), size_t(5), size_t(200), size_t(1000)}) {
    RingLimits lim{.max_events = max_events, .max_bytes = 1 << 30};
    EventRing r;
    std::deque<size_t> caps;
    for (uint64_t id = 1; id <= 2 * max_events + 3; ++id) {
      size_t n = 1 + (id * 37) % 300;
      r.push(id, block_of(n), lim);
      caps.push_back(n);
      if (caps.size() > max_events) caps.pop_front();
      size_t blocks = 0;
      for (size_t c : caps) blocks += sizeof(Block) + c;
      size_t bytes = 0;
      for (size_t c : caps) bytes += c;
      ASSERT_EQ(r.bytes(), bytes) << max_events << " " << id;
      ASSERT_GE(r.memory_bytes(), blocks + r.size() * sizeof(BlockRef));
      size_t slots = (r.memory_bytes() - blocks) / sizeof(BlockRef);
      ASSERT_EQ((r.memory_bytes() - blocks) % sizeof(BlockRef), 0u);
      // The slot array grows by doubling and never past the count limit's
      // power of two: the ring costs what it holds, not its maximum.
      ASSERT_TRUE(std::has_single_bit(slots)) << slots;
      ASSERT_LE(slots, std::bit_ceil(max_events));
      ASSERT_LE(slots, std::max<size_t>(4, 2 * r.size()));
    }
  }
  EventRing r;
  r.push(1, block_of(100), {});
  ASSERT_GT(r.memory_bytes(), 100u);
  r.clear();
  EXPECT_EQ(r.memory_bytes(), 0u) << "clear gives the slot array back";
  EXPECT_EQ(r.bytes(), 0u);
  EXPECT_TRUE(r.empty());
}

// Random sizes, limits and id jumps against a model written from the
// header's contract: same ids, same blocks, same byte count at every step.
TEST(EventRing, MatchesAModelUnderRandomPushes) {
  std::mt19937 rng(2026);
  for (int round = 0; round < 40; ++round) {
    RingLimits lim{.max_events = 1 + rng() % 70, .max_bytes = 1 + rng() % 4000};
    EventRing r;
    std::deque<std::pair<uint64_t, BlockRef>> model;
    size_t model_bytes = 0;
    uint64_t id = 1 + rng() % 5;
    for (int step = 0; step < 600; ++step) {
      id = rng() % 50 == 0 ? 1 + rng() % 1000 : id + 1;
      BlockRef b = block_of(rng() % 200);
      if (!model.empty() && id != model.back().first + 1) {
        model.clear();
        model_bytes = 0;
      }
      model.emplace_back(id, b);
      model_bytes += b->size();
      while (model.size() > 1 && (model.size() > lim.max_events || model_bytes > lim.max_bytes)) {
        model_bytes -= model.front().second->size();
        model.pop_front();
      }
      r.push(id, b, lim);
      ASSERT_EQ(r.size(), model.size()) << round << " " << step;
      ASSERT_EQ(r.bytes(), model_bytes);
      ASSERT_EQ(r.first_id(), model.front().first);
      ASSERT_EQ(r.last_id(), id);
      for (const auto& [mid, mb] : model) ASSERT_EQ(r.at(mid).get(), mb.get());
    }
  }
}

}  // namespace
}  // namespace chatd
