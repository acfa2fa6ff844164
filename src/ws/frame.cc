#include "ws/frame.h"

#include <cstring>

#include "base/endian.h"

namespace chatd {

namespace {

// The one table of header faults to close codes. All are protocol errors
// today; the table keeps the mapping in one reviewable place.
struct FaultCode {
  FrameFault fault;
  uint16_t code;
};
constexpr FaultCode kFaultCodes[] = {
    {FrameFault::reserved_bits, 1002},      {FrameFault::reserved_opcode, 1002},
    {FrameFault::unmasked, 1002},           {FrameFault::masked, 1002},
    {FrameFault::control_fragmented, 1002}, {FrameFault::control_too_long, 1002},
    {FrameFault::length_top_bit, 1002},
};

bool opcode_known(uint8_t op) {
  return op <= 2 || (op >= 8 && op <= 10);
}

HeaderResult fail(FrameFault f) {
  return {HeaderStatus::error, f, fault_close_code(f), 0};
}
HeaderResult need(size_t bytes) {
  return {HeaderStatus::need_more, FrameFault{}, 0, bytes};
}

}  // namespace

uint16_t fault_close_code(FrameFault f) {
  for (const FaultCode& fc : kFaultCodes)
    if (fc.fault == f) return fc.code;
  return 1002;
}

HeaderResult parse_frame_header(const uint8_t* p, size_t n, FrameHeader& h, MaskRule rule) {
  if (n < 2) return need(2);
  const uint8_t b0 = p[0], b1 = p[1];
  const uint8_t op = b0 & 0x0F;
  const bool fin = (b0 & 0x80) != 0, masked = (b1 & 0x80) != 0;
  const uint8_t len7 = b1 & 0x7F;

  // Everything decidable from the first two bytes, before waiting for more.
  if (b0 & 0x70) return fail(FrameFault::reserved_bits);
  if (!opcode_known(op)) return fail(FrameFault::reserved_opcode);
  if (rule == MaskRule::required && !masked) return fail(FrameFault::unmasked);
  if (rule == MaskRule::forbidden && masked) return fail(FrameFault::masked);
  const bool control = is_control(static_cast<Opcode>(op));
  if (control && !fin) return fail(FrameFault::control_fragmented);
  if (control && len7 > kMaxControlPayload) return fail(FrameFault::control_too_long);

  const size_t ext = len7 == 126 ? 2 : len7 == 127 ? 8 : 0;
  const size_t header_len = 2 + ext + (masked ? 4 : 0);
  if (n < header_len) {
    // The top bit of a 64-bit length is in byte 2: fail on it without the rest.
    if (ext == 8 && n > 2 && (p[2] & 0x80)) return fail(FrameFault::length_top_bit);
    return need(header_len);
  }

  uint64_t len = len7;
  if (ext == 2) len = load_be16(p + 2);
  if (ext == 8) {
    len = load_be64(p + 2);
    if (len >> 63) return fail(FrameFault::length_top_bit);
  }

  h.fin = fin;
  h.rsv = (b0 >> 4) & 0x7;
  h.opcode = static_cast<Opcode>(op);
  h.masked = masked;
  h.payload_len = len;
  if (masked)
    std::memcpy(h.mask, p + 2 + ext, 4);
  else
    std::memset(h.mask, 0, 4);
  h.header_len = static_cast<uint8_t>(header_len);
  return {HeaderStatus::ok, FrameFault{}, 0, 0};
}

}  // namespace chatd
