#include "cluster/rtt_histogram.h"

#include <gtest/gtest.h>

namespace chatd {
namespace {

TEST(RttHistogram, BucketsAreUpperBoundsInclusive) {
  RttHistogram h;
  h.record(0);
  h.record(100);
  h.record(101);
  h.record(5000000);
  h.record(5000001);
  EXPECT_EQ(h.buckets[0], 2u);
  EXPECT_EQ(h.buckets[1], 1u);
  EXPECT_EQ(h.buckets[RttHistogram::kBoundsUs.size() - 1], 1u);
  EXPECT_EQ(h.buckets.back(), 1u);
  EXPECT_EQ(h.count, 5u);
  EXPECT_EQ(h.sum_us, 10000202u);
}

TEST(RttHistogram, PrometheusTextIsCumulative) {
  RttHistogram h;
  h.record(50);
  h.record(700);
  h.record(9000000);
  std::string out;
  append_prometheus_histogram(out, "chatd_redis_rtt_seconds", "Redis round trips", h);
  EXPECT_NE(out.find("# TYPE chatd_redis_rtt_seconds histogram\n"), std::string::npos);
  EXPECT_NE(out.find("chatd_redis_rtt_seconds_bucket{le=\"0.0001\"} 1\n"), std::string::npos);
  EXPECT_NE(out.find("chatd_redis_rtt_seconds_bucket{le=\"0.001\"} 2\n"), std::string::npos);
  EXPECT_NE(out.find("chatd_redis_rtt_seconds_bucket{le=\"5\"} 2\n"), std::string::npos);
  EXPECT_NE(out.find("chatd_redis_rtt_seconds_bucket{le=\"+Inf\"} 3\n"), std::string::npos);
  EXPECT_NE(out.find("chatd_redis_rtt_seconds_sum 9.000750\n"), std::string::npos);
  EXPECT_NE(out.find("chatd_redis_rtt_seconds_count 3\n"), std::string::npos);
}

}  // namespace
}  // namespace chatd
