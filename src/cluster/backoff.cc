#include "cluster/backoff.h"

namespace chatd {

int64_t Backoff::ceiling_ms() const {
  int64_t d = policy_.initial_ms > 0 ? policy_.initial_ms : 1;
  // Doubling stops at the cap, so the shift never overflows.
  for (uint32_t i = 0; i < attempt_ && d < policy_.max_ms; ++i) d *= 2;
  return d < policy_.max_ms ? d : policy_.max_ms;
}

int64_t Backoff::next_delay_ms() {
  int64_t d = ceiling_ms();
  ++attempt_;
  int64_t half = d / 2;
  return half + int64_t(random() % uint64_t(d - half + 1));
}

uint64_t Backoff::random() {
  // xorshift64: enough to spread nodes apart; not for secrets.
  state_ ^= state_ << 13;
  state_ ^= state_ >> 7;
  state_ ^= state_ << 17;
  return state_;
}

}  // namespace chatd
