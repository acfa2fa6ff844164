#include "chat/rate_limiter.h"

#include <algorithm>

namespace chatd {

namespace {
constexpr uint64_t kMilli = 1000;
// Any gap longer than this refills any bucket: capping it first keeps
// elapsed * rate far from overflow (2^30 ms * 2^32 < 2^63).
constexpr int64_t kMaxGapMs = int64_t(1) << 30;
}  // namespace

bool TokenBucket::take(int64_t now_ms, uint32_t rate_per_sec, uint32_t burst) {
  if (rate_per_sec == 0) return true;
  // Clamped so the fixed-point capacity fits 32 bits (bursts over 4 million
  // messages are not a limit anyone means).
  const uint64_t cap = std::min<uint64_t>(std::max<uint32_t>(burst, 1) * kMilli, UINT32_MAX);
  if (!primed_) {
    primed_ = true;
    milli_ = uint32_t(cap);
    last_ms_ = now_ms;
  } else if (now_ms > last_ms_) {
    // Monotonic time never goes back; if a caller's did, nothing refills.
    uint64_t gap = uint64_t(std::min(now_ms - last_ms_, kMaxGapMs));
    milli_ = uint32_t(std::min<uint64_t>(cap, milli_ + gap * rate_per_sec));
    last_ms_ = now_ms;
  }
  if (milli_ > cap) milli_ = uint32_t(cap);  // the burst may have been lowered
  if (milli_ < kMilli) return false;
  milli_ -= kMilli;
  return true;
}

}  // namespace chatd
