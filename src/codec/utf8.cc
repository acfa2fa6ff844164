#include "codec/utf8.h"

#include <cstring>

namespace chatd {

namespace {

constexpr uint64_t kHighBits = 0x8080808080808080ull;

// Length of the ASCII run at the start of p[0..n), 8 bytes per step while it
// lasts: chat text is mostly ASCII, so this is the common case.
size_t ascii_prefix(const uint8_t* p, size_t n) {
  size_t i = 0;
  while (i + 8 <= n) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    if (w & kHighBits) break;
    i += 8;
  }
  while (i < n && p[i] < 0x80) ++i;
  return i;
}

// What a lead byte opens: continuation count and the allowed range of the
// first continuation byte. need == 0xFF marks a byte that can never lead.
struct Lead {
  uint8_t need, lo, hi;
};

Lead classify(uint8_t b) {
  if (b < 0x80) return {0, 0x80, 0xBF};
  if (b < 0xC2) return {0xFF, 0, 0};  // continuation or overlong C0/C1
  if (b < 0xE0) return {1, 0x80, 0xBF};
  if (b == 0xE0) return {2, 0xA0, 0xBF};  // below A0 is overlong
  if (b == 0xED) return {2, 0x80, 0x9F};  // A0..BF would be a surrogate
  if (b < 0xF0) return {2, 0x80, 0xBF};
  if (b == 0xF0) return {3, 0x90, 0xBF};  // below 90 is overlong
  if (b < 0xF4) return {3, 0x80, 0xBF};
  if (b == 0xF4) return {3, 0x80, 0x8F};  // above 8F is > U+10FFFF
  return {0xFF, 0, 0};                    // F5..FF
}

}  // namespace

bool Utf8Validator::feed(const uint8_t* p, size_t n) {
  if (!ok_) return false;
  size_t i = 0;
  while (i < n) {
    if (need_ == 0) {
      i += ascii_prefix(p + i, n - i);
      if (i == n) break;
      Lead l = classify(p[i++]);
      if (l.need == 0xFF) return ok_ = false;
      need_ = l.need;
      lo_ = l.lo;
      hi_ = l.hi;
      continue;
    }
    uint8_t b = p[i++];
    if (b < lo_ || b > hi_) return ok_ = false;
    --need_;
    lo_ = 0x80;
    hi_ = 0xBF;
  }
  return true;
}

bool utf8_valid(std::string_view s) {
  Utf8Validator v;
  return v.feed(reinterpret_cast<const uint8_t*>(s.data()), s.size()) && v.complete();
}

size_t utf8_length(std::string_view s) {
  const auto* p = reinterpret_cast<const uint8_t*>(s.data());
  size_t n = s.size(), i = 0, count = 0;
  while (i < n) {
    size_t run = ascii_prefix(p + i, n - i);
    i += run;
    count += run;
    // Outside ASCII runs, every byte that is not a continuation starts a code point.
    while (i < n && p[i] >= 0x80) count += (p[i++] & 0xC0) != 0x80;
  }
  return count;
}

bool utf8_next(std::string_view s, size_t& i, char32_t& cp) {
  if (i >= s.size()) return false;
  const auto* p = reinterpret_cast<const uint8_t*>(s.data()) + i;
  size_t avail = s.size() - i;
  Lead l = classify(p[0]);
  if (l.need == 0xFF || l.need >= avail) return false;  // bad lead or truncated
  if (l.need == 0) {
    cp = p[0];
    ++i;
    return true;
  }
  if (p[1] < l.lo || p[1] > l.hi) return false;
  for (size_t k = 2; k <= l.need; ++k)
    if ((p[k] & 0xC0) != 0x80) return false;
  static constexpr uint8_t kLeadMask[4] = {0x7F, 0x1F, 0x0F, 0x07};
  char32_t v = p[0] & kLeadMask[l.need];
  for (size_t k = 1; k <= l.need; ++k) v = (v << 6) | (p[k] & 0x3F);
  cp = v;
  i += 1 + l.need;
  return true;
}

}  // namespace chatd
