// TokenBucket with injected monotonic times: burst, then the steady rate.
#include "chat/rate_limiter.h"

#include <gtest/gtest.h>

namespace chatd {
namespace {

// How many of `n` takes at time t succeed.
int takes(TokenBucket& b, int n, int64_t t, uint32_t rate, uint32_t burst) {
  int ok = 0;
  for (int i = 0; i < n; ++i) ok += b.take(t, rate, burst);
  return ok;
}

TEST(TokenBucket, SmallEnoughForEveryConnection) {
  EXPECT_LE(sizeof(TokenBucket), 16u);
}

TEST(TokenBucket, BurstThenSteadyRate) {
  TokenBucket b;
  const int64_t t0 = 5'000'000;
  EXPECT_EQ(takes(b, 100, t0, 20, 40), 40);  // a fresh bucket is full
  EXPECT_FALSE(b.take(t0 + 49, 20, 40));     // 20/s: one token per 50 ms
  EXPECT_TRUE(b.take(t0 + 50, 20, 40));
  EXPECT_FALSE(b.take(t0 + 50, 20, 40));
  // Over 10 s of steady sending, exactly 20 per second get through.
  int ok = 0;
  for (int64_t t = t0 + 51; t <= t0 + 10'050; ++t) ok += b.take(t, 20, 40);
  EXPECT_EQ(ok, 200);
}

TEST(TokenBucket, FractionalRefillAccumulatesWithoutDrift) {
  TokenBucket b;
  EXPECT_EQ(takes(b, 9, 0, 3, 5), 5);
  // 3/s: a token every 333.3 ms; checking every ms must not lose the
  // fractions (while the bucket is below its burst, nothing is clipped).
  int ok = 0;
  for (int64_t t = 1; t <= 30'000; ++t) ok += b.take(t, 3, 5);
  EXPECT_EQ(ok, 90);
}

TEST(TokenBucket, RefillIsCappedAtBurst) {
  TokenBucket b;
  EXPECT_EQ(takes(b, 40, 0, 20, 40), 40);
  EXPECT_EQ(takes(b, 100, 3'600'000, 20, 40), 40);  // an hour idle: still only 40
  EXPECT_EQ(takes(b, 100, INT64_MAX / 2, 20, 40), 40);
}

TEST(TokenBucket, RateZeroDisables) {
  TokenBucket b;
  EXPECT_EQ(takes(b, 100000, 0, 0, 40), 100000);
}

TEST(TokenBucket, TimeGoingBackRefillsNothing) {
  TokenBucket b;
  EXPECT_EQ(takes(b, 40, 10'000, 20, 40), 40);
  EXPECT_FALSE(b.take(9'000, 20, 40));
  EXPECT_FALSE(b.take(10'049, 20, 40));
  EXPECT_TRUE(b.take(10'050, 20, 40));
}

TEST(TokenBucket, NegativeStartTimeAndExtremeLimits) {
  TokenBucket b;
  EXPECT_EQ(takes(b, 2, -1000, 1, 0), 1);  // burst 0 counts as 1
  EXPECT_TRUE(b.take(0, 1, 0));
  TokenBucket big;
  EXPECT_EQ(takes(big, 10, 0, UINT32_MAX, UINT32_MAX), 10);
  EXPECT_TRUE(big.take(1, UINT32_MAX, UINT32_MAX));
}

}  // namespace
}  // namespace chatd
