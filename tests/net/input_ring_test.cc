#include "net/input_ring.h"

#include <gtest/gtest.h>

#include <cstring>
#include <deque>
#include <random>

namespace chatd {
namespace {

constexpr uint32_t kPoolSize = 256;
constexpr size_t kLimit = 1000;

// Touches every padding byte behind the buffer: under ASan a missing
// allocation here is a heap-buffer-overflow, not a silent pass.
void expect_padding_readable(const InputRing& ring) {
  if (ring.memory_bytes() == 0) return;
  const uint8_t* end = ring.read_ptr() - ring.read_offset() + ring.capacity();
  unsigned sum = 0;
  for (size_t i = 0; i < kInputPadding; ++i) sum += static_cast<const volatile uint8_t*>(end)[i];
  EXPECT_EQ(sum, 0u) << "padding is zeroed and never written";
}

void fill(InputRing& ring, size_t n, uint8_t& next) {
  ASSERT_GE(ring.writable(), n);
  for (size_t i = 0; i < n; ++i) ring.write_ptr()[i] = next++;
  ring.produced(n);
}

void expect_bytes(const InputRing& ring, uint8_t first) {
  for (size_t i = 0; i < ring.readable(); ++i) {
    ASSERT_EQ(ring.read_ptr()[i], static_cast<uint8_t>(first + i)) << "at " << i;
  }
}

TEST(InputRing, IdleRingHoldsNoMemory) {
  InputRing ring;
  EXPECT_EQ(ring.memory_bytes(), 0u);
  EXPECT_EQ(ring.readable(), 0u);
  EXPECT_EQ(ring.writable(), 0u);
  InputPool pool(kPoolSize, 4);
  ring.release_if_empty(pool);
  ring.release(pool);
  EXPECT_EQ(ring.memory_bytes(), 0u);
  EXPECT_EQ(pool.kept(), 0u);
}

TEST(InputRing, TakesPooledBufferLazilyAndGivesItBackWhenEmpty) {
  InputPool pool(kPoolSize, 4);
  InputRing ring;
  ASSERT_TRUE(ring.reserve(1, kLimit, pool));
  EXPECT_EQ(ring.capacity(), kPoolSize);
  EXPECT_EQ(ring.writable(), kPoolSize);
  EXPECT_EQ(ring.memory_bytes(), kPoolSize + kInputPadding);
  expect_padding_readable(ring);
  uint8_t next = 0;
  fill(ring, 10, next);
  ring.release_if_empty(pool);  // not empty: keeps the buffer and its bytes
  EXPECT_EQ(ring.readable(), 10u);
  EXPECT_EQ(pool.kept(), 0u);
  ring.consume(10);
  EXPECT_EQ(ring.read_offset(), 0u) << "an emptied ring rewinds";
  ring.release_if_empty(pool);
  EXPECT_EQ(ring.memory_bytes(), 0u);
  EXPECT_EQ(pool.kept(), 1u);

  InputRing other;  // the next reader reuses the pooled buffer
  ASSERT_TRUE(other.reserve(1, kLimit, pool));
  EXPECT_EQ(pool.kept(), 0u);
  other.release(pool);
  EXPECT_EQ(pool.kept(), 1u);
}

TEST(InputRing, PoolKeepsAtMostItsBound) {
  InputPool pool(kPoolSize, 2);
  InputRing rings[4];
  for (auto& r : rings) ASSERT_TRUE(r.reserve(1, kLimit, pool));
  for (auto& r : rings) r.release(pool);
  EXPECT_EQ(pool.kept(), 2u);
}

TEST(InputRing, ReserveWithRoomMovesNothing) {
  InputPool pool(kPoolSize, 4);
  InputRing ring;
  ASSERT_TRUE(ring.reserve(1, kLimit, pool));
  uint8_t next = 0;
  fill(ring, 100, next);
  ring.consume(40);
  const uint8_t* before = ring.read_ptr();
  ASSERT_TRUE(ring.reserve(kPoolSize - 100, kLimit, pool));
  EXPECT_EQ(ring.read_ptr(), before);
  EXPECT_EQ(ring.read_offset(), 40u);
  expect_bytes(ring, 40);
}

TEST(InputRing, CompactionMovesOnlyTheUnreadTail) {
  InputPool pool(kPoolSize, 4);
  InputRing ring;
  ASSERT_TRUE(ring.reserve(1, kLimit, pool));
  uint8_t next = 0;
  fill(ring, 250, next);
  ring.consume(200);  // 50 unread bytes (a partial frame) at offset 200
  // Scribble over the consumed region: compaction must not carry it along.
  std::memset(ring.read_ptr() - 200, 0xEE, 200);
  ASSERT_TRUE(ring.reserve(100, kLimit, pool));
  EXPECT_EQ(ring.capacity(), kPoolSize) << "room after compaction: no growth";
  EXPECT_EQ(ring.read_offset(), 0u);
  EXPECT_EQ(ring.readable(), 50u);
  EXPECT_EQ(ring.writable(), kPoolSize - 50);
  expect_bytes(ring, 200);
  fill(ring, 100, next);
  expect_bytes(ring, 200);
  expect_padding_readable(ring);
}

TEST(InputRing, GrowsToPowerOfTwoClampedToLimitAndRefusesBeyond) {
  struct Case {
    const char* name;
    size_t unread, want, limit;
    bool ok;
    size_t cap;
  };
  const Case cases[] = {
      {"fits pooled after compaction", 200, 56, 1000, true, kPoolSize},
      {"one past pooled grows to pow2", 200, 57, 1000, true, 512},
      {"pow2 above limit is clamped", 200, 600, 1000, true, 1000},
      {"exactly the limit", 200, 800, 1000, true, 1000},
      {"one past the limit is refused", 200, 801, 1000, false, kPoolSize},
      {"limit below pooled size refuses growth", 200, 100, 100, false, kPoolSize},
      {"absurd request does not overflow", 200, SIZE_MAX, SIZE_MAX, false, kPoolSize},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    InputPool pool(kPoolSize, 4);
    InputRing ring;
    ASSERT_TRUE(ring.reserve(1, c.limit, pool));
    uint8_t next = 0;
    fill(ring, 250, next);
    ring.consume(250 - c.unread);
    const uint8_t first = static_cast<uint8_t>(250 - c.unread);
    const size_t offset = ring.read_offset();
    EXPECT_EQ(ring.reserve(c.want, c.limit, pool), c.ok);
    EXPECT_EQ(ring.capacity(), c.cap);
    EXPECT_EQ(ring.readable(), c.unread);
    if (c.ok) {
      EXPECT_GE(ring.writable(), c.want);
    } else {
      EXPECT_EQ(ring.read_offset(), offset) << "a refused reserve changes nothing";
    }
    expect_bytes(ring, first);
    expect_padding_readable(ring);
  }
}

TEST(InputRing, GrownBufferIsFreedNotPooledAndNextReadStartsPooled) {
  InputPool pool(kPoolSize, 4);
  InputRing ring;
  ASSERT_TRUE(ring.reserve(900, kLimit, pool));  // a large frame on an idle ring
  EXPECT_EQ(ring.capacity(), kLimit);
  EXPECT_EQ(pool.kept(), 0u);
  uint8_t next = 0;
  fill(ring, 900, next);
  expect_padding_readable(ring);
  ring.consume(900);
  ring.release_if_empty(pool);
  EXPECT_EQ(ring.memory_bytes(), 0u);
  EXPECT_EQ(pool.kept(), 0u) << "a grown buffer is not the pool's size";
  ASSERT_TRUE(ring.reserve(1, kLimit, pool));
  EXPECT_EQ(ring.capacity(), kPoolSize) << "shrinks back to the pooled size";
  ring.release(pool);
}

TEST(InputRing, GrowthFromPooledReturnsThePooledBuffer) {
  InputPool pool(kPoolSize, 4);
  InputRing ring;
  ASSERT_TRUE(ring.reserve(1, kLimit, pool));
  uint8_t next = 0;
  fill(ring, kPoolSize, next);
  ASSERT_TRUE(ring.reserve(1, kLimit, pool));
  EXPECT_EQ(ring.capacity(), 512u);
  EXPECT_EQ(pool.kept(), 1u);
  expect_bytes(ring, 0);
  ring.release(pool);
  EXPECT_EQ(pool.kept(), 1u);
}

TEST(InputRing, MoveTransfersTheBuffer) {
  InputPool pool(kPoolSize, 4);
  InputRing a;
  ASSERT_TRUE(a.reserve(1, kLimit, pool));
  uint8_t next = 0;
  fill(a, 30, next);
  InputRing b(std::move(a));
  EXPECT_EQ(a.memory_bytes(), 0u);
  EXPECT_EQ(b.readable(), 30u);
  InputRing c;
  c = std::move(b);
  expect_bytes(c, 0);
  c.release(pool);
}

// Random reads and parses against a std::deque model: every byte comes out
// in order, invariants hold, and the padding stays readable throughout.
TEST(InputRing, RandomTrafficMatchesModel) {
  InputPool pool(kPoolSize, 4);
  InputRing ring;
  std::deque<uint8_t> model;
  std::mt19937 rng(12345);
  uint8_t next = 0;
  for (int step = 0; step < 20000; ++step) {
    size_t want = 1 + rng() % (rng() % 8 == 0 ? 900 : 64);
    if (ring.reserve(want, kLimit, pool)) {
      ASSERT_GE(ring.writable(), want);
      size_t n = std::min<size_t>(ring.writable(), 1 + rng() % 300);
      for (size_t i = 0; i < n; ++i) {
        ring.write_ptr()[i] = next;
        model.push_back(next++);
      }
      ring.produced(n);
    } else {
      ASSERT_GT(model.size() + want, kLimit);
    }
    ASSERT_EQ(ring.readable(), model.size());
    ASSERT_LE(ring.capacity(), std::max<size_t>(kLimit, kPoolSize));
    size_t eat = std::min<size_t>(model.size(), rng() % 400);
    for (size_t i = 0; i < eat; ++i) {
      ASSERT_EQ(ring.read_ptr()[i], model[i]);
    }
    ring.consume(eat);
    model.erase(model.begin(), model.begin() + static_cast<long>(eat));
    expect_padding_readable(ring);
    if (rng() % 4 == 0) ring.release_if_empty(pool);
  }
  ring.release(pool);
  EXPECT_LE(pool.kept(), 4u);
}

}  // namespace
}  // namespace chatd
