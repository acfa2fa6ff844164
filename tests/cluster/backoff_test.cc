#include "cluster/backoff.h"

#include <gtest/gtest.h>

namespace chatd {
namespace {

TEST(Backoff, DoublesToTheCapWithEqualJitter) {
  Backoff b({100, 1000}, 42);
  const int64_t ceilings[] = {100, 200, 400, 800, 1000, 1000, 1000};
  for (int64_t d : ceilings) {
    EXPECT_EQ(b.ceiling_ms(), d);
    int64_t delay = b.next_delay_ms();
    EXPECT_GE(delay, d / 2);
    EXPECT_LE(delay, d);
  }
  EXPECT_EQ(b.attempt(), 7u);
  b.reset();
  EXPECT_EQ(b.ceiling_ms(), 100);
}

TEST(Backoff, JitterSpreadsNodesApart) {
  // Two nodes that lost Redis at the same moment pick different delays.
  Backoff a({1000, 1000}, 1), b({1000, 1000}, 2);
  int same = 0;
  for (int i = 0; i < 20; ++i) same += a.next_delay_ms() == b.next_delay_ms();
  EXPECT_LT(same, 20);
  // And the same seed replays the same delays.
  Backoff c({1000, 1000}, 7), d({1000, 1000}, 7);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(c.next_delay_ms(), d.next_delay_ms());
}

TEST(Backoff, HugeAttemptCountsDoNotOverflow) {
  Backoff b({1, INT64_MAX / 4}, 3);
  for (int i = 0; i < 200; ++i) {
    int64_t delay = b.next_delay_ms();
    EXPECT_GE(delay, 0);
    EXPECT_LE(delay, INT64_MAX / 4);
  }
  Backoff zero({0, 0}, 0);
  EXPECT_GE(zero.next_delay_ms(), 0);
}

}  // namespace
}  // namespace chatd
