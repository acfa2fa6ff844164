// RttHistogram: Redis round trips, in fixed buckets for /metrics. Plain data;
// recording is a few compares and two adds, no allocation.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace chatd {

struct RttHistogram {
  // Upper bounds in microseconds; one more bucket counts everything above.
  static constexpr std::array<uint32_t, 13> kBoundsUs = {
      100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 1000000, 5000000};
  std::array<uint64_t, kBoundsUs.size() + 1> buckets{};  // not cumulative
  uint64_t count = 0;
  uint64_t sum_us = 0;

  // Counts one round trip of `us` microseconds in the first bucket whose bound is >= us.
  void record(uint64_t us) {
    size_t i = 0;
    while (i < kBoundsUs.size() && us > kBoundsUs[i]) ++i;
    ++buckets[i];
    ++count;
    sum_us += us;
  }
};

// Appends `h` in the Prometheus text format as histogram `name` in seconds
// (cumulative _bucket{le=...} lines, _sum and _count), with a HELP line.
void append_prometheus_histogram(std::string& out, std::string_view name, std::string_view help,
                                 const RttHistogram& h);

}  // namespace chatd
