#include "codec/sha1.h"

#include <cstring>

#include "base/endian.h"

namespace chatd {

namespace {

constexpr size_t kBlockBytes = 64;

uint32_t rotl(uint32_t x, int n) {
  return (x << n) | (x >> (32 - n));
}

// Compresses one 512-bit block into the running state h (FIPS 180-4, 6.1.2).
void compress(std::array<uint32_t, 5>& h, const uint8_t* block) {
  uint32_t w[80];
  for (int t = 0; t < 16; ++t) w[t] = load_be32(block + 4 * t);
  for (int t = 16; t < 80; ++t) w[t] = rotl(w[t - 3] ^ w[t - 8] ^ w[t - 14] ^ w[t - 16], 1);

  uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
  for (int t = 0; t < 80; ++t) {
    uint32_t f, k;
    if (t < 20) {
      f = (b & c) | (~b & d);  // Ch
      k = 0x5a827999;
    } else if (t < 40) {
      f = b ^ c ^ d;  // Parity
      k = 0x6ed9eba1;
    } else if (t < 60) {
      f = (b & c) | (b & d) | (c & d);  // Maj
      k = 0x8f1bbcdc;
    } else {
      f = b ^ c ^ d;  // Parity
      k = 0xca62c1d6;
    }
    uint32_t temp = rotl(a, 5) + f + e + k + w[t];
    e = d;
    d = c;
    c = rotl(b, 30);
    b = a;
    a = temp;
  }
  h[0] += a;
  h[1] += b;
  h[2] += c;
  h[3] += d;
  h[4] += e;
}

}  // namespace

std::array<uint8_t, kSha1DigestBytes> sha1(const void* p, size_t n) {
  std::array<uint32_t, 5> h = {0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0};
  const auto* in = static_cast<const uint8_t*>(p);

  size_t whole = n - n % kBlockBytes;
  for (size_t off = 0; off < whole; off += kBlockBytes) compress(h, in + off);

  // Padding (5.1.1): a 1 bit, zeros, then the bit length in the last 8 bytes;
  // when the remainder leaves fewer than 9 bytes free this spills into a second block.
  uint8_t tail[2 * kBlockBytes] = {};
  size_t rest = n - whole;
  if (rest) std::memcpy(tail, in + whole, rest);
  tail[rest] = 0x80;
  size_t tail_len = rest + 9 <= kBlockBytes ? kBlockBytes : 2 * kBlockBytes;
  store_be64(tail + tail_len - 8, uint64_t(n) * 8);
  for (size_t off = 0; off < tail_len; off += kBlockBytes) compress(h, tail + off);

  std::array<uint8_t, kSha1DigestBytes> digest;
  for (int i = 0; i < 5; ++i) store_be32(digest.data() + 4 * i, h[i]);
  return digest;
}

}  // namespace chatd
