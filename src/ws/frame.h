// WebSocket frame header (RFC 6455 section 5.2): decode into a plain struct,
// validate every header rule in one place, and map each failure to its close
// code in one table. No I/O, no allocation.
#pragma once

#include <cstddef>
#include <cstdint>

namespace chatd {

enum class Opcode : uint8_t {
  continuation = 0,
  text = 1,
  binary = 2,
  close = 8,
  ping = 9,
  pong = 10
};

// Control frames are the opcodes with the high bit set (close, ping, pong).
constexpr bool is_control(Opcode op) {
  return (static_cast<uint8_t>(op) & 0x8) != 0;
}

// Largest payload a control frame may carry (RFC 6455 5.5).
constexpr size_t kMaxControlPayload = 125;

struct FrameHeader {
  bool fin;
  uint8_t rsv;  // the three RSV bits, shifted down (0..7)
  Opcode opcode;
  bool masked;
  uint64_t payload_len;
  uint8_t mask[4];     // zero when !masked
  uint8_t header_len;  // 2..14 bytes before the payload
};

// Which masking the receiver demands: a server requires masked client frames,
// a client (the load generator) requires unmasked server frames.
enum class MaskRule : uint8_t { required, forbidden };

// Every way a header can break the protocol; each maps to one close code.
enum class FrameFault : uint8_t {
  reserved_bits,       // RSV1-3 set with no extension negotiated
  reserved_opcode,     // 3-7, 11-15
  unmasked,            // client frame without a mask
  masked,              // server frame with a mask
  control_fragmented,  // control frame without FIN
  control_too_long,    // control payload over 125 bytes
  length_top_bit,      // 64-bit length with its most significant bit set
};

// The close code a header fault fails the connection with.
uint16_t fault_close_code(FrameFault f);

enum class HeaderStatus : uint8_t { need_more, ok, error };

struct HeaderResult {
  HeaderStatus status;
  FrameFault fault;     // meaningful when status == error
  uint16_t close_code;  // when status == error: the code to fail with
  size_t need_bytes;    // when status == need_more: header bytes needed (2..14)
};

// Parses the header at p[0..n). ok: h filled, h.header_len bytes used;
// need_more: n is short of need_bytes; error: a rule was broken (checks run
// as soon as the bytes they look at are present, in byte order, so the result
// does not depend on how the bytes were split). Non-minimal length encodings
// are accepted, as RFC 6455 allows.
HeaderResult parse_frame_header(const uint8_t* p, size_t n, FrameHeader& h,
                                MaskRule rule = MaskRule::required);

}  // namespace chatd
