#include "ws/unmask.h"

#include <cstring>

namespace chatd {

void mask_copy(uint8_t* dst, const uint8_t* src, size_t n, const uint8_t mask[4]) {
  // The mask repeated twice as one 64-bit pattern: XOR-ing 8 bytes at a time
  // keeps the byte order right at any alignment since memcpy loads and stores
  // in memory order.
  uint8_t pattern[8];
  std::memcpy(pattern, mask, 4);
  std::memcpy(pattern + 4, mask, 4);
  uint64_t m;
  std::memcpy(&m, pattern, 8);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    std::memcpy(&w, src + i, 8);
    w ^= m;
    std::memcpy(dst + i, &w, 8);
  }
  // i is a multiple of 8, hence of 4: the tail starts at mask[0] again.
  for (size_t k = 0; i < n; ++i, ++k) dst[i] = src[i] ^ mask[k & 3];
}

void unmask(uint8_t* p, size_t n, const uint8_t mask[4]) {
  mask_copy(p, p, n, mask);
}

}  // namespace chatd
