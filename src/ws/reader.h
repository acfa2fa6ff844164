// WsReader: one connection's WebSocket input state: frames in, events out,
// with message assembly, limits and incremental UTF-8 checks.
//
// Ownership: the reader does not own the input bytes (the connection's input
// ring does) nor the limits (the server config does; they must outlive it).
// It owns only the assembly buffer for fragmented messages.
//
// Copies: none for an unfragmented text message, which is unmasked in place
// and yielded as a view into the caller's buffer. Only a fragmented message is
// copied, fragment by fragment, into the assembly buffer (allocated lazily,
// with kJsonPadding slack, freed again after a message that grew it past
// kAssemblyKeepBytes). Control frames are always views into the caller's buffer.
#pragma once

#include <cstddef>
#include <cstdint>

#include "codec/utf8.h"
#include "ws/frame.h"

namespace chatd {

// Readable bytes that must follow the data handed to the JSON parser: simdjson
// reads up to SIMDJSON_PADDING past the end (static_assert in reader.cc).
constexpr size_t kJsonPadding = 64;

// Defaults for the server config; each limit is named here once.
constexpr size_t kDefaultMaxMessage = 64 * 1024;
// A fragment count cap is needed because zero-length fragments cost the peer
// two bytes each and add nothing to the message size: without it one message
// could keep the reader busy forever within max_message.
constexpr size_t kDefaultMaxFragments = 1024;

struct ReaderLimits {
  size_t max_message = kDefaultMaxMessage;      // bytes after reassembly, else 1009
  size_t max_fragments = kDefaultMaxFragments;  // frames per message, else 1009
};

enum class WsEventType : uint8_t { need_more, text, ping, pong, close, fail };

struct WsEvent {
  WsEventType type;
  // text: the message; ping/pong: the payload; close: the peer's reason
  // (valid UTF-8). Valid until the caller consumes `consumed` bytes or calls
  // next() again. A text message is mutable and followed by kJsonPadding
  // readable bytes.
  uint8_t* data;
  size_t len;
  // Bytes of the caller's buffer this call used up (whole frames, fragments
  // absorbed into the assembly buffer included, also with need_more).
  size_t consumed;
  // close: the code to echo (1000 when the peer sent none); fail: the code to
  // close with.
  uint16_t close_code;
  // need_more: size of the next frame (header + payload) counted from
  // buf + consumed, or the header bytes needed while the header is short.
  size_t need_bytes;
};

class WsReader {
 public:
  // Capacity kept between fragmented messages; a larger buffer is freed.
  static constexpr size_t kAssemblyKeepBytes = 4096;

  // limits must outlive the reader. A server requires masked frames (the
  // default); a client (load generator) passes MaskRule::forbidden.
  explicit WsReader(const ReaderLimits* limits, MaskRule rule = MaskRule::required);
  ~WsReader();
  WsReader(WsReader&& o) noexcept;
  WsReader& operator=(WsReader&& o) noexcept;
  WsReader(const WsReader&) = delete;
  WsReader& operator=(const WsReader&) = delete;

  // Parses the next event from buf[0..len). Contract: at least kJsonPadding
  // readable bytes exist after buf+len (the caller's input ring guarantees
  // this). The caller consumes event.consumed bytes after handling the event
  // (payload views stay valid until then); bytes it consumed are never passed
  // again (they were unmasked in place). A frame is yielded only once whole,
  // except that a data frame that would exceed max_message fails with 1009 as
  // soon as its header is parsed. After a close or fail the reader is
  // finished: every later call returns that same event type and code again,
  // with no data and consumed == 0.
  WsEvent next(uint8_t* buf, size_t len);

  // Heap bytes held (the assembly buffer).
  size_t memory_bytes() const { return asm_cap_; }
  // Frees the assembly buffer unless a fragmented message is in progress.
  void release_memory();
  // True once a close or fail event has been returned.
  bool finished() const { return finished_; }
  // True while a fragmented text message is being assembled.
  bool in_message() const { return in_message_; }

 private:
  uint16_t check_sequence(const FrameHeader& h) const;
  bool append(const uint8_t* p, size_t n);
  WsEvent finish(WsEvent e);

  const ReaderLimits* limits_;
  MaskRule rule_;
  bool in_message_ = false;
  bool finished_ = false;
  WsEventType final_type_ = WsEventType::fail;
  uint16_t final_code_ = 0;
  size_t msg_len_ = 0;    // bytes assembled so far
  size_t fragments_ = 0;  // frames of the message so far
  Utf8Validator utf8_;    // spans the fragments of one message
  uint8_t* asm_ = nullptr;
  size_t asm_cap_ = 0;
};

}  // namespace chatd
