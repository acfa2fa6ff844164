#include "codec/utf8.h"

#include <array>
#include <bit>
#include <cstring>

namespace chatd {

namespace {

constexpr uint64_t kHighBits = 0x8080808080808080ull;
constexpr uint64_t kLowBits = 0x0101010101010101ull;

// Loads 8 or 4 bytes with p[0] in the low byte, at any alignment.
uint64_t load_le64(const uint8_t* p) {
  uint64_t w;
  std::memcpy(&w, p, 8);
  if constexpr (std::endian::native == std::endian::big) w = __builtin_bswap64(w);
  return w;
}
uint32_t load_le32(const uint8_t* p) {
  uint32_t w;
  std::memcpy(&w, p, 4);
  if constexpr (std::endian::native == std::endian::big) w = __builtin_bswap32(w);
  return w;
}

// Length of the ASCII run at the start of p[0..n), 8 bytes per step while it
// lasts: chat text is mostly ASCII, so this is the common case.
size_t ascii_prefix(const uint8_t* p, size_t n) {
  size_t i = 0;
  while (i + 8 <= n) {
    uint64_t high = load_le64(p + i) & kHighBits;
    if (high) return i + size_t(std::countr_zero(high)) / 8;
    i += 8;
  }
  while (i < n && p[i] < 0x80) ++i;
  return i;
}

// What a lead byte opens (table 3-7): continuation count, the allowed range
// of the first continuation byte, and for the whole-sequence check the mask
// and value the 2nd and 3rd continuation bytes must show (10xxxxxx) in a
// little-endian load of the sequence. need == kBad marks a byte that can
// never lead; its mask/want pair can never match.
constexpr uint8_t kBad = 0xFF;
struct Lead {
  uint8_t need, lo, hi;
  uint32_t mask, want;
};

constexpr Lead classify(uint8_t b) {
  constexpr uint32_t kMask[4] = {0, 0, 0x00C00000, 0xC0C00000};
  constexpr uint32_t kWant[4] = {0, 0, 0x00800000, 0x80800000};
  auto lead = [&](uint8_t need, uint8_t lo, uint8_t hi) {
    return Lead{need, lo, hi, kMask[need], kWant[need]};
  };
  if (b < 0x80) return lead(0, 0x00, 0xFF);
  if (b < 0xC2) return {kBad, 0, 0, 0, 1};  // continuation or overlong C0/C1
  if (b < 0xE0) return lead(1, 0x80, 0xBF);
  if (b == 0xE0) return lead(2, 0xA0, 0xBF);  // below A0 is overlong
  if (b == 0xED) return lead(2, 0x80, 0x9F);  // A0..BF would be a surrogate
  if (b < 0xF0) return lead(2, 0x80, 0xBF);
  if (b == 0xF0) return lead(3, 0x90, 0xBF);  // below 90 is overlong
  if (b < 0xF4) return lead(3, 0x80, 0xBF);
  if (b == 0xF4) return lead(3, 0x80, 0x8F);  // above 8F is > U+10FFFF
  return {kBad, 0, 0, 0, 1};                  // F5..FF
}

constexpr std::array<Lead, 256> kLeads = [] {
  std::array<Lead, 256> t{};
  for (int b = 0; b < 256; ++b) t[b] = classify(uint8_t(b));
  return t;
}();

// Validates the complete sequences of p[0..n) from the start, with no state:
// every sequence it looks at lies wholly inside the buffer, so one 4-byte
// load checks it without branching per byte. Stops at a sequence boundary
// fewer than 4 bytes from the end (the byte-wise state machine takes the
// rest) and returns that index, or n + 1 at an invalid sequence.
size_t validate_inner(const uint8_t* p, size_t n) {
  size_t i = 0;
  while (i + 4 <= n) {
    if (p[i] < 0x80) {
      i += ascii_prefix(p + i, n - i);
      continue;
    }
    const Lead& l = kLeads[p[i]];
    const uint32_t w = load_le32(p + i);
    const uint8_t first = uint8_t(w >> 8);
    const bool ok = (first >= l.lo) & (first <= l.hi) & ((w & l.mask) == l.want);
    if (!ok) return n + 1;
    i += 1 + l.need;
  }
  return i;
}

}  // namespace

bool Utf8Validator::step(uint8_t b) {
  if (need_ == 0) {
    if (b < 0x80) return true;
    const Lead& l = kLeads[b];
    if (l.need == kBad) return false;
    need_ = l.need;
    lo_ = l.lo;
    hi_ = l.hi;
    return true;
  }
  if (b < lo_ || b > hi_) return false;
  --need_;
  lo_ = 0x80;
  hi_ = 0xBF;
  return true;
}

bool Utf8Validator::feed(const uint8_t* p, size_t n) {
  if (!ok_) return false;
  size_t i = 0;
  // The sequence the previous feed left open, if any, ends here.
  while (need_ != 0 && i < n)
    if (!step(p[i++])) return ok_ = false;
  if (need_ == 0) {
    size_t done = validate_inner(p + i, n - i);
    if (done > n - i) return ok_ = false;
    i += done;
  }
  // The last few bytes, where a sequence may be cut by the end of the buffer.
  while (i < n)
    if (!step(p[i++])) return ok_ = false;
  return true;
}

bool utf8_valid(std::string_view s) {
  Utf8Validator v;
  return v.feed(reinterpret_cast<const uint8_t*>(s.data()), s.size()) && v.complete();
}

size_t utf8_length(std::string_view s) {
  const auto* p = reinterpret_cast<const uint8_t*>(s.data());
  const size_t n = s.size();
  size_t i = 0, count = 0;
  // Every byte that is not a continuation byte (10xxxxxx) starts a code
  // point. Eight bytes per step: each byte lane adds 1 for a byte with bit 7
  // clear or bit 6 set; lanes are summed before any can pass 255.
  while (i + 8 <= n) {
    uint64_t lanes = 0;
    for (size_t steps = 0; steps < 255 && i + 8 <= n; ++steps, i += 8) {
      const uint64_t w = load_le64(p + i);
      lanes += ((~w >> 7) | (w >> 6)) & kLowBits;
    }
    const uint64_t pairs = (lanes & 0x00FF00FF00FF00FFull) + ((lanes >> 8) & 0x00FF00FF00FF00FFull);
    count += size_t((pairs * 0x0001000100010001ull) >> 48);
  }
  for (; i < n; ++i) count += (p[i] & 0xC0) != 0x80;
  return count;
}

bool utf8_next(std::string_view s, size_t& i, char32_t& cp) {
  if (i >= s.size()) return false;
  const auto* p = reinterpret_cast<const uint8_t*>(s.data()) + i;
  size_t avail = s.size() - i;
  const Lead& l = kLeads[p[0]];
  if (l.need == kBad || l.need >= avail) return false;  // bad lead or truncated
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
