#include "codec/sha1.h"

#include <gtest/gtest.h>

#include <string>

namespace chatd {
namespace {

std::string hex(const std::array<uint8_t, kSha1DigestBytes>& d) {
  static const char* digits = "0123456789abcdef";
  std::string s;
  for (uint8_t b : d) {
    s += digits[b >> 4];
    s += digits[b & 15];
  }
  return s;
}

// Bytes (i*7+1) mod 256: a pattern that is not one repeated byte, for the
// lengths around the padding boundaries (55/56 spill, 63/64/65 block edges).
std::string pattern(size_t n) {
  std::string s;
  for (size_t i = 0; i < n; ++i) s += char((i * 7 + 1) & 0xff);
  return s;
}

struct Vector {
  const char* name;
  std::string input;
  const char* digest;  // from Python's hashlib, hard-coded
};

TEST(Sha1, KnownVectors) {
  const Vector cases[] = {
      {"empty", "", "da39a3ee5e6b4b0d3255bfef95601890afd80709"},
      {"abc (FIPS 180 / RFC 3174 test 1)", "abc", "a9993e364706816aba3e25717850c26c9cd0d89d"},
      {"448-bit message (RFC 3174 test 2)",
       "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
       "84983e441c3bd26ebaae4aa1f95129e5e54670f1"},
      {"896-bit message",
       "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmn"
       "opqrsmnopqrstnopqrstu",
       "a49b2446a02c645bf419f995b67091253a04a259"},
      {"one million 'a' (RFC 3174 test 3)", std::string(1000000, 'a'),
       "34aa973cd4c4daa4f61eeb2bdbad27316534016f"},
      {"55 bytes: padding fits one block", pattern(55), "04bb34aef4880b625e6b1564a014abd25fc02bfe"},
      {"56 bytes: length spills to a second block", pattern(56),
       "83b9fcb6d3e3b20f376ab989a1b6353bcc6c0f44"},
      {"63 bytes", pattern(63), "ab15090e8dbe512f3733350f9623ab11f9b5165b"},
      {"64 bytes: exactly one block", pattern(64), "54305ee7e4c7bc5a96afc6d1994fc52d9bcb665f"},
      {"65 bytes", pattern(65), "5985422a25357371ebd2a7f6ecd7eebed43db42c"},
      {"119 bytes", pattern(119), "6839d6c27f22ed884ac43ae6bd3bfcee9e04b938"},
      {"120 bytes", pattern(120), "8c40517a14ab8b78fd4b8958f4e31254a34c3fb0"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(hex(sha1(c.input.data(), c.input.size())), c.digest) << c.name;
  }
}

TEST(Sha1, NullPointerWithZeroLength) {
  EXPECT_EQ(hex(sha1(nullptr, 0)), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
}

}  // namespace
}  // namespace chatd
