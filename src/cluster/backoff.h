// Backoff: when to try Redis again after a failed or dropped connection.
// Exponential with "equal jitter": attempt n waits a random time in
// [d/2, d], d = min(max, initial * 2^n), so a fleet of nodes that lost Redis
// together does not reconnect in lockstep, yet none retries faster than d/2.
// Plain data; the randomness is a seeded xorshift so tests can replay it.
#pragma once

#include <cstdint>

namespace chatd {

struct BackoffPolicy {
  int64_t initial_ms = 100;
  int64_t max_ms = 5000;
};

class Backoff {
 public:
  Backoff(BackoffPolicy policy, uint64_t seed) : policy_(policy), state_(seed ? seed : 1) {}

  // The delay before the next attempt, in [d/2, d] for this attempt's d; counts the attempt.
  int64_t next_delay_ms();
  // Forgets the failures: the next delay starts from `initial_ms` again.
  void reset() { attempt_ = 0; }
  // Attempts since the last reset.
  uint32_t attempt() const { return attempt_; }
  // The upper bound d of the delay next_delay_ms() would return now.
  int64_t ceiling_ms() const;

 private:
  uint64_t random();
  BackoffPolicy policy_;
  uint64_t state_;
  uint32_t attempt_ = 0;
};

}  // namespace chatd
