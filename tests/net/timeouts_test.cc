#include "net/timeouts.h"

#include <gtest/gtest.h>

#include <utility>
#include <vector>

namespace chatd {
namespace {

enum : uint8_t { kHead = 0, kIdle = 1, kPing = 2 };

Timeouts make() {
  Timeouts t{10'000, 30'000, 30'000};
  t.resize(16);
  return t;
}

// Pops everything due at `now`, in order, as (slot, lane) pairs.
std::vector<std::pair<uint32_t, uint8_t>> pop_all(Timeouts& t, int64_t now) {
  std::vector<std::pair<uint32_t, uint8_t>> out;
  uint32_t slot;
  uint8_t lane;
  while (t.pop_expired(now, slot, lane)) out.emplace_back(slot, lane);
  return out;
}

using Expired = std::vector<std::pair<uint32_t, uint8_t>>;

TEST(Timeouts, NothingArmed) {
  Timeouts t = make();
  EXPECT_EQ(t.next_deadline(), -1);
  EXPECT_EQ(t.timeout_ms(0), -1);
  EXPECT_TRUE(pop_all(t, INT64_MAX / 2).empty());
  EXPECT_FALSE(t.armed(3));
  EXPECT_EQ(t.lane_of(3), -1);
  t.disarm(3);  // harmless
}

TEST(Timeouts, DeadlinesAreNowPlusLaneDuration) {
  Timeouts t = make();
  t.arm(1, kHead, 1000);
  t.arm(2, kIdle, 1000);
  EXPECT_EQ(t.deadline(1), 11'000);
  EXPECT_EQ(t.deadline(2), 31'000);
  EXPECT_EQ(t.lane_of(1), kHead);
  EXPECT_EQ(t.next_deadline(), 11'000);
  EXPECT_EQ(t.timeout_ms(1000), 10'000);
  EXPECT_EQ(t.timeout_ms(50'000), 0) << "overdue means do not sleep";
}

TEST(Timeouts, PopsInDeadlineOrderAcrossLanes) {
  Timeouts t = make();
  t.arm(5, kIdle, 0);       // 30000
  t.arm(6, kHead, 0);       // 10000
  t.arm(7, kHead, 5'000);   // 15000
  t.arm(8, kPing, 1'000);   // 31000
  t.arm(9, kIdle, 2'000);   // 32000
  t.arm(4, kHead, 25'000);  // 35000
  EXPECT_TRUE(pop_all(t, 9'999).empty());
  EXPECT_EQ(pop_all(t, 10'000), (Expired{{6, kHead}}));
  EXPECT_EQ(t.next_deadline(), 15'000);
  EXPECT_EQ(pop_all(t, 31'500), (Expired{{7, kHead}, {5, kIdle}, {8, kPing}}));
  EXPECT_EQ(pop_all(t, 100'000), (Expired{{9, kIdle}, {4, kHead}}));
  EXPECT_EQ(t.next_deadline(), -1);
  for (uint32_t s = 0; s < 16; ++s) EXPECT_FALSE(t.armed(s));
}

TEST(Timeouts, RearmMovesToTheTailOfTheNewLane) {
  Timeouts t = make();
  t.arm(1, kIdle, 0);
  t.arm(2, kIdle, 100);
  t.arm(3, kIdle, 200);
  t.arm(1, kIdle, 300);  // activity: slot 1 goes to the back
  EXPECT_EQ(t.lane_size(kIdle), 3u);
  EXPECT_EQ(t.next_deadline(), 30'100);
  t.arm(2, kHead, 400);  // moved to another lane
  EXPECT_EQ(t.lane_size(kIdle), 2u);
  EXPECT_EQ(t.lane_size(kHead), 1u);
  EXPECT_EQ(pop_all(t, 1'000'000), (Expired{{2, kHead}, {3, kIdle}, {1, kIdle}}));
}

TEST(Timeouts, DisarmUnlinksFromHeadMiddleAndTail) {
  for (uint32_t victim : {1u, 2u, 3u}) {
    SCOPED_TRACE(victim);
    Timeouts t = make();
    t.arm(1, kPing, 0);
    t.arm(2, kPing, 1);
    t.arm(3, kPing, 2);
    t.disarm(victim);
    t.disarm(victim);  // twice is fine
    EXPECT_FALSE(t.armed(victim));
    EXPECT_EQ(t.lane_size(kPing), 2u);
    Expired want;
    for (uint32_t s : {1u, 2u, 3u})
      if (s != victim) want.emplace_back(s, kPing);
    EXPECT_EQ(pop_all(t, 1'000'000), want);
  }
}

TEST(Timeouts, PopExpiredDisarmsSoTheAppCanRearm) {
  Timeouts t = make();
  t.arm(0, kIdle, 0);
  uint32_t slot = 99;
  uint8_t lane = 99;
  ASSERT_TRUE(t.pop_expired(30'000, slot, lane));
  EXPECT_EQ(slot, 0u);
  EXPECT_EQ(lane, kIdle);
  EXPECT_FALSE(t.armed(0));
  t.arm(0, kPing, 30'000);  // idle expired: ping sent, wait for the pong
  EXPECT_EQ(t.next_deadline(), 60'000);
  EXPECT_FALSE(t.pop_expired(59'999, slot, lane));
  EXPECT_TRUE(t.pop_expired(60'000, slot, lane));
  EXPECT_EQ(lane, kPing);
}

TEST(Timeouts, ClockSteppingBackDoesNotUnsortALane) {
  Timeouts t = make();
  t.arm(1, kHead, 5'000);
  t.arm(2, kHead, 1'000);  // earlier "now" than the tail's
  EXPECT_EQ(t.deadline(2), t.deadline(1));
  EXPECT_EQ(pop_all(t, 15'000), (Expired{{1, kHead}, {2, kHead}}));
}

TEST(Timeouts, ResizeKeepsArmedSlots) {
  Timeouts t = make();
  t.arm(15, kHead, 0);
  t.resize(1000);
  t.arm(999, kHead, 1);
  EXPECT_EQ(pop_all(t, 20'000), (Expired{{15, kHead}, {999, kHead}}));
}

// Many slots re-armed at random: lanes must pop in nondecreasing deadline
// order and each armed slot exactly once.
TEST(Timeouts, RandomRearmsPopInOrder) {
  Timeouts t{10, 30, 45};
  t.resize(500);
  uint32_t seed = 7;
  auto rnd = [&] { return seed = seed * 1103515245u + 12345u, (seed >> 8); };
  int64_t now = 0;
  std::vector<int> armed_lane(500, -1);
  for (int i = 0; i < 5000; ++i) {
    now += rnd() % 3;
    uint32_t s = rnd() % 500;
    if (rnd() % 5 == 0) {
      t.disarm(s);
      armed_lane[s] = -1;
    } else {
      uint8_t lane = static_cast<uint8_t>(rnd() % 3);
      t.arm(s, lane, now);
      armed_lane[s] = lane;
    }
    uint32_t slot;
    uint8_t lane;
    int64_t last = -1;
    while (t.pop_expired(now, slot, lane)) {
      ASSERT_EQ(armed_lane[slot], lane);
      armed_lane[slot] = -1;
      ASSERT_GE(t.deadline(slot), last);
      ASSERT_LE(t.deadline(slot), now);
      last = t.deadline(slot);
    }
  }
  for (uint32_t s = 0; s < 500; ++s) ASSERT_EQ(t.lane_of(s), armed_lane[s]);
}

}  // namespace
}  // namespace chatd
