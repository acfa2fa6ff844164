// XOR masking of WebSocket payloads (RFC 6455 5.3), 8 bytes per step.
#pragma once

#include <cstddef>
#include <cstdint>

namespace chatd {

// XORs p[0..n) in place with the repeating 4-byte mask, starting at mask[0];
// works at any alignment (masking is its own inverse, so this also masks).
void unmask(uint8_t* p, size_t n, const uint8_t mask[4]);

// Writes src[0..n) XOR the repeating mask to dst (may equal src, must not
// otherwise overlap): the client side masks a copy of its payload.
void mask_copy(uint8_t* dst, const uint8_t* src, size_t n, const uint8_t mask[4]);

}  // namespace chatd
