#include "ws/unmask.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

namespace chatd {
namespace {

// Every alignment and length around the 8-byte step, against a byte loop.
TEST(Unmask, MatchesTheByteLoopAtEveryAlignmentAndLength) {
  std::mt19937 rng(7);
  for (size_t align = 0; align < 16; ++align) {
    for (size_t n = 0; n <= 41; ++n) {
      uint8_t mask[4];
      for (auto& m : mask) m = static_cast<uint8_t>(rng());
      std::vector<uint8_t> buf(align + n + 8), orig;
      for (auto& b : buf) b = static_cast<uint8_t>(rng());
      orig = buf;
      unmask(buf.data() + align, n, mask);
      for (size_t i = 0; i < buf.size(); ++i) {
        const bool inside = i >= align && i < align + n;
        const uint8_t want = inside ? orig[i] ^ mask[(i - align) & 3] : orig[i];
        ASSERT_EQ(buf[i], want) << "align " << align << " n " << n << " i " << i;
      }
      unmask(buf.data() + align, n, mask);  // its own inverse
      ASSERT_EQ(buf, orig);
    }
  }
}

TEST(Unmask, MaskCopyLeavesTheSourceAlone) {
  const uint8_t mask[4] = {1, 2, 3, 4};
  const std::vector<uint8_t> src = {10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110};
  std::vector<uint8_t> dst(src.size() + 3, 0);
  mask_copy(dst.data() + 3, src.data(), src.size(), mask);
  for (size_t i = 0; i < src.size(); ++i) EXPECT_EQ(dst[3 + i], src[i] ^ mask[i % 4]);
  EXPECT_EQ(dst[0], 0);
}

}  // namespace
}  // namespace chatd
