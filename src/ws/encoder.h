// WebSocket frame encoder. Server frames are unmasked, so a header is at most
// 10 bytes; the chat layer encodes a body into a block with that much
// headroom and frame_in_place() prepends the header without copying the body.
// The client-side encoder (masked, up to 14 bytes) serves the load generator
// and the tests.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "base/block.h"
#include "ws/frame.h"

namespace chatd {

constexpr size_t kMaxFrameHeader = 10;        // 2 + 8-byte length, no mask
constexpr size_t kMaxClientFrameHeader = 14;  // 2 + 8-byte length + 4-byte mask

// Bytes of the unmasked header for a payload of payload_len bytes (2, 4 or 10).
size_t frame_header_len(uint64_t payload_len);

// Writes an unmasked header to dst (room for kMaxFrameHeader) using the
// minimal length form; returns the bytes written.
size_t write_frame_header(uint8_t* dst, Opcode op, uint64_t payload_len, bool fin = true);

// Turns the block's content into one whole frame by writing the header into
// its headroom (asserts the block is unshared and the headroom suffices).
void frame_in_place(BlockRef& body, Opcode op);

// The payload of a whole unmasked server frame held by `frame` (as written
// by frame_in_place or make_frame).
std::string_view server_frame_payload(const Block& frame);

// A new block holding one frame with a copy of payload; null if malloc fails.
BlockRef make_frame(Opcode op, std::string_view payload);

// A close frame: 2-byte code then the reason, cut at a code point boundary
// to fit the 125-byte control payload limit.
BlockRef make_close_frame(uint16_t code, std::string_view reason = {});

// A pong echoing a ping's payload (at most 125 bytes, as the ping's was).
BlockRef make_pong(std::string_view payload);

// Bytes of a masked client header for payload_len (6, 8 or 14).
size_t client_frame_header_len(uint64_t payload_len);

// Writes a masked client header to dst (room for kMaxClientFrameHeader);
// returns the bytes written. The payload must then be masked with the same mask.
size_t write_client_frame_header(uint8_t* dst, Opcode op, uint64_t len, const uint8_t mask[4],
                                 bool fin = true);

// A new block holding one masked client frame: header plus a masked copy of
// payload (payload itself is untouched).
BlockRef make_client_frame(Opcode op, std::string_view payload, const uint8_t mask[4],
                           bool fin = true);

}  // namespace chatd
