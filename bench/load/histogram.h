// LatencyHistogram: HDR-style log-linear buckets over microseconds. Each
// power of two is split into kSubBuckets linear buckets, so any percentile is
// reported within 1/kSubBuckets (about 3%) of the true value, from 1 us to
// hours, in a fixed array: record() never allocates.
#pragma once

#include <array>
#include <cstdint>

namespace chatd::load {

class LatencyHistogram {
 public:
  static constexpr int kSubBits = 5;
  static constexpr uint64_t kSubBuckets = 1u << kSubBits;
  static constexpr int kBuckets = (64 - kSubBits + 1) * kSubBuckets;

  // Counts one value (microseconds; negative clock skew is counted as 0).
  void record(int64_t us) {
    uint64_t v = us < 0 ? 0 : static_cast<uint64_t>(us);
    ++counts_[index_of(v)];
    ++total_;
    sum_ += v;
    if (v > max_) max_ = v;
  }

  // The value at or below which a fraction q (0..1] of all samples lie: the
  // top of the bucket holding that rank, capped at the exact maximum. 0 when
  // nothing was recorded.
  uint64_t percentile(double q) const;
  uint64_t count() const { return total_; }
  uint64_t max() const { return max_; }
  double mean() const { return total_ ? double(sum_) / double(total_) : 0; }

  static int index_of(uint64_t v) {
    if (v < kSubBuckets) return static_cast<int>(v);
    int msb = 63 - __builtin_clzll(v);
    int shift = msb - kSubBits;
    return static_cast<int>(((shift + 1) << kSubBits) + ((v >> shift) - kSubBuckets));
  }
  // The largest value that lands in bucket i.
  static uint64_t bucket_top(int i);

 private:
  std::array<uint64_t, kBuckets> counts_{};
  uint64_t total_ = 0;
  uint64_t sum_ = 0;
  uint64_t max_ = 0;
};

}  // namespace chatd::load
