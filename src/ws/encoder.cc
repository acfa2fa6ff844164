#include "ws/encoder.h"

#include <cassert>
#include <cstring>

#include "base/endian.h"
#include "ws/unmask.h"

namespace chatd {

namespace {

// Writes the first bytes and the length; `mask_bit` is 0x80 for client frames.
size_t write_base(uint8_t* dst, Opcode op, uint64_t len, bool fin, uint8_t mask_bit) {
  dst[0] = static_cast<uint8_t>((fin ? 0x80 : 0) | static_cast<uint8_t>(op));
  if (len < 126) {
    dst[1] = static_cast<uint8_t>(mask_bit | len);
    return 2;
  }
  if (len <= 0xFFFF) {
    dst[1] = mask_bit | 126;
    store_be16(dst + 2, static_cast<uint16_t>(len));
    return 4;
  }
  assert((len >> 63) == 0);
  dst[1] = mask_bit | 127;
  store_be64(dst + 2, len);
  return 10;
}

// Cuts s to at most max bytes without splitting a UTF-8 sequence.
std::string_view cut_utf8(std::string_view s, size_t max) {
  if (s.size() <= max) return s;
  size_t n = max;
  while (n > 0 && (static_cast<uint8_t>(s[n]) & 0xC0) == 0x80) --n;
  return s.substr(0, n);
}

}  // namespace

size_t frame_header_len(uint64_t payload_len) {
  return payload_len < 126 ? 2 : payload_len <= 0xFFFF ? 4 : 10;
}

size_t write_frame_header(uint8_t* dst, Opcode op, uint64_t payload_len, bool fin) {
  return write_base(dst, op, payload_len, fin, 0);
}

void frame_in_place(BlockRef& body, Opcode op) {
  uint8_t header[kMaxFrameHeader];
  size_t n = write_frame_header(header, op, body->size());
  assert(body->headroom() >= n);
  body.prepend(header, n);
}

BlockRef make_frame(Opcode op, std::string_view payload) {
  BlockRef b = BlockRef::make(kMaxFrameHeader + payload.size(), kMaxFrameHeader);
  if (!b) return b;
  if (!payload.empty()) b.append(payload);  // an empty view may hold nullptr: no memcpy
  frame_in_place(b, op);
  return b;
}

BlockRef make_close_frame(uint16_t code, std::string_view reason) {
  reason = cut_utf8(reason, kMaxControlPayload - 2);
  BlockRef b = BlockRef::make(kMaxFrameHeader + 2 + reason.size(), kMaxFrameHeader);
  if (!b) return b;
  uint8_t be[2];
  store_be16(be, code);
  b.append(be, 2);
  if (!reason.empty()) b.append(reason);
  frame_in_place(b, Opcode::close);
  return b;
}

BlockRef make_pong(std::string_view payload) {
  assert(payload.size() <= kMaxControlPayload);
  return make_frame(Opcode::pong, payload);
}

size_t client_frame_header_len(uint64_t payload_len) {
  return frame_header_len(payload_len) + 4;
}

size_t write_client_frame_header(uint8_t* dst, Opcode op, uint64_t len, const uint8_t mask[4],
                                 bool fin) {
  size_t n = write_base(dst, op, len, fin, 0x80);
  std::memcpy(dst + n, mask, 4);
  return n + 4;
}

BlockRef make_client_frame(Opcode op, std::string_view payload, const uint8_t mask[4], bool fin) {
  BlockRef b = BlockRef::make(kMaxClientFrameHeader + payload.size());
  if (!b) return b;
  auto* dst = reinterpret_cast<uint8_t*>(b.tail());
  size_t n = write_client_frame_header(dst, op, payload.size(), mask, fin);
  mask_copy(dst + n, reinterpret_cast<const uint8_t*>(payload.data()), payload.size(), mask);
  b.commit(n + payload.size());
  return b;
}

std::string_view server_frame_payload(const Block& frame) {
  auto p = reinterpret_cast<const uint8_t*>(frame.data());
  assert(frame.size() >= 2 && !(p[1] & 0x80));
  uint8_t len7 = p[1] & 0x7f;
  size_t header = len7 < 126 ? 2 : len7 == 126 ? 4 : 10;
  return {frame.data() + header, frame.size() - header};
}

}  // namespace chatd
