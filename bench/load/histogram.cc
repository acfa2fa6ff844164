#include "histogram.h"

#include <algorithm>
#include <cmath>

namespace chatd::load {

uint64_t LatencyHistogram::bucket_top(int i) {
  if (i < static_cast<int>(kSubBuckets)) return static_cast<uint64_t>(i);
  int shift = (i >> kSubBits) - 1;
  uint64_t mant = (static_cast<uint64_t>(i) & (kSubBuckets - 1)) + kSubBuckets;
  return ((mant + 1) << shift) - 1;
}

uint64_t LatencyHistogram::percentile(double q) const {
  if (total_ == 0) return 0;
  // Rank of the sample asked for, 1-based, so q = 1 is the largest sample.
  uint64_t rank = static_cast<uint64_t>(std::ceil(q * double(total_)));
  rank = std::clamp<uint64_t>(rank, 1, total_);
  uint64_t seen = 0;
  for (int i = 0; i < kBuckets; ++i) {
    seen += counts_[i];
    if (seen >= rank) return std::min(bucket_top(i), max_);
  }
  return max_;
}

}  // namespace chatd::load
