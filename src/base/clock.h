// Clocks: wall time for event timestamps, monotonic time for deadlines.
#pragma once

#include <time.h>

#include <cstdint>

namespace chatd {

// Milliseconds since the Unix epoch (CLOCK_REALTIME): what `ts` carries.
inline int64_t wall_ms() {
  timespec t;
  clock_gettime(CLOCK_REALTIME, &t);
  return int64_t(t.tv_sec) * 1000 + t.tv_nsec / 1000000;
}

// Milliseconds on CLOCK_MONOTONIC: immune to clock changes, for timeouts.
inline int64_t mono_ms() {
  timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return int64_t(t.tv_sec) * 1000 + t.tv_nsec / 1000000;
}

}  // namespace chatd

namespace chatd {

// Microseconds on CLOCK_MONOTONIC: for round trips shorter than a millisecond.
inline int64_t mono_us() {
  timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return int64_t(t.tv_sec) * 1000000 + t.tv_nsec / 1000;
}

}  // namespace chatd
