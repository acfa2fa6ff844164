// TokenBucket: per-connection message rate limit (PROTOCOL.md rate_limited).
//
// Fixed point: the bucket holds milli-tokens, and a rate of r tokens per
// second refills exactly r milli-tokens per millisecond, so integer monotonic
// milliseconds give an exact refill with no rounding drift. The limits are
// passed in by the caller (the engine holds them once), which keeps this
// struct at 16 bytes in every connection.
#pragma once

#include <cstdint>

namespace chatd {

class TokenBucket {
 public:
  // Takes one token at monotonic time now_ms; returns false (take nothing)
  // when the bucket is empty. A fresh bucket starts full. rate == 0 disables
  // the limit (always true); a burst below 1 counts as 1.
  bool take(int64_t now_ms, uint32_t rate_per_sec, uint32_t burst);

 private:
  int64_t last_ms_ = 0;  // time of the last refill
  uint32_t milli_ = 0;   // tokens * 1000, at most burst * 1000 (clamped)
  bool primed_ = false;  // false until the first take fills the bucket
};

}  // namespace chatd
