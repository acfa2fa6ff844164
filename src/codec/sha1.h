// SHA-1 (FIPS 180-4, section 6.1): the digest the WebSocket handshake needs.
// Written for reading, not speed: it runs once per handshake.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace chatd {

inline constexpr size_t kSha1DigestBytes = 20;

// Returns the 20-byte SHA-1 digest of the n bytes at p (p may be null when n == 0).
std::array<uint8_t, kSha1DigestBytes> sha1(const void* p, size_t n);

}  // namespace chatd
