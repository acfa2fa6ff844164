// Syscall results as values: a non-negative result, or -errno. errno is read
// once, right after the call, and never later (libuv's convention).
#pragma once

#include <cerrno>

namespace chatd {

// Wraps the return of a libc call that sets errno on -1.
inline long sys_result(long r) {
  return r < 0 ? -errno : r;
}

// Retries a call interrupted by a signal; returns its value or -errno.
template <typename F>
long sys_retry(F&& call) {
  long r;
  do r = sys_result(call());
  while (r == -EINTR);
  return r;
}

}  // namespace chatd
