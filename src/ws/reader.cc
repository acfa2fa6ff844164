#include "ws/reader.h"

#include <simdjson.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <utility>

#include "ws/close.h"
#include "ws/unmask.h"

namespace chatd {

static_assert(kJsonPadding == simdjson::SIMDJSON_PADDING,
              "kJsonPadding must match simdjson's padding");

namespace {

// First allocation of the assembly buffer: most fragmented chat messages fit.
constexpr size_t kAssemblyMinBytes = 1024;
// Internal error: the assembly buffer could not be allocated.
constexpr uint16_t kCloseInternalError = 1011;

WsEvent event(WsEventType t, uint8_t* data, size_t len, size_t consumed, uint16_t code = 0) {
  return {t, data, len, consumed, code, 0};
}

}  // namespace

WsReader::WsReader(const ReaderLimits* limits, MaskRule rule) : limits_(limits), rule_(rule) {}

WsReader::~WsReader() {
  std::free(asm_);
}

WsReader::WsReader(WsReader&& o) noexcept
    : limits_(o.limits_),
      rule_(o.rule_),
      in_message_(o.in_message_),
      finished_(o.finished_),
      final_type_(o.final_type_),
      final_code_(o.final_code_),
      msg_len_(o.msg_len_),
      fragments_(o.fragments_),
      utf8_(o.utf8_),
      asm_(std::exchange(o.asm_, nullptr)),
      asm_cap_(std::exchange(o.asm_cap_, 0)) {}

WsReader& WsReader::operator=(WsReader&& o) noexcept {
  if (this != &o) {
    std::free(asm_);
    limits_ = o.limits_;
    rule_ = o.rule_;
    in_message_ = o.in_message_;
    finished_ = o.finished_;
    final_type_ = o.final_type_;
    final_code_ = o.final_code_;
    msg_len_ = o.msg_len_;
    fragments_ = o.fragments_;
    utf8_ = o.utf8_;
    asm_ = std::exchange(o.asm_, nullptr);
    asm_cap_ = std::exchange(o.asm_cap_, 0);
  }
  return *this;
}

void WsReader::release_memory() {
  if (in_message_) return;
  std::free(asm_);
  asm_ = nullptr;
  asm_cap_ = 0;
}

// The message-level rules for a frame whose header is valid: 0 if the frame
// may follow what came before, else the close code. Decided on the header
// alone, so an oversized message fails without waiting for its bytes.
uint16_t WsReader::check_sequence(const FrameHeader& h) const {
  switch (h.opcode) {
    case Opcode::binary:
      return in_message_ ? 1002 : 1003;
    case Opcode::text:
      if (in_message_) return 1002;
      return h.payload_len > limits_->max_message ? 1009 : 0;
    case Opcode::continuation:
      if (!in_message_) return 1002;
      if (fragments_ >= limits_->max_fragments) return 1009;
      return h.payload_len > limits_->max_message - msg_len_ ? 1009 : 0;
    default:
      return 0;  // control frames: checked by parse_frame_header
  }
}

// Validates and copies one fragment into the assembly buffer; false with a
// close code set in final_code_ on failure.
bool WsReader::append(const uint8_t* p, size_t n) {
  if (!utf8_.feed(p, n)) {
    final_code_ = 1007;
    return false;
  }
  const size_t needed = msg_len_ + n + kJsonPadding;
  if (needed > asm_cap_) {
    size_t cap = std::max({needed, asm_cap_ * 2, kAssemblyMinBytes});
    cap = std::max(needed, std::min(cap, limits_->max_message + kJsonPadding));
    auto* grown = static_cast<uint8_t*>(std::realloc(asm_, cap));
    if (!grown) {
      final_code_ = kCloseInternalError;
      return false;
    }
    asm_ = grown;
    asm_cap_ = cap;
  }
  if (n) std::memcpy(asm_ + msg_len_, p, n);
  msg_len_ += n;
  ++fragments_;
  return true;
}

WsEvent WsReader::finish(WsEvent e) {
  finished_ = true;
  final_type_ = e.type;
  final_code_ = e.close_code;
  in_message_ = false;
  return e;
}

WsEvent WsReader::next(uint8_t* buf, size_t len) {
  if (finished_) return event(final_type_, nullptr, 0, 0, final_code_);
  // The last message is handled by now: drop a buffer it grew.
  if (!in_message_ && asm_cap_ > kAssemblyKeepBytes) release_memory();

  size_t off = 0;
  for (;;) {
    uint8_t* p = buf + off;
    const size_t n = len - off;
    FrameHeader h;
    HeaderResult hr = parse_frame_header(p, n, h, rule_);
    if (hr.status == HeaderStatus::need_more) {
      WsEvent e = event(WsEventType::need_more, nullptr, 0, off);
      e.need_bytes = hr.need_bytes;
      return e;
    }
    if (hr.status == HeaderStatus::error)
      return finish(event(WsEventType::fail, nullptr, 0, off, hr.close_code));
    if (uint16_t code = check_sequence(h))
      return finish(event(WsEventType::fail, nullptr, 0, off, code));

    // Bounded now: data frames by max_message, control frames by 125.
    const size_t total = h.header_len + static_cast<size_t>(h.payload_len);
    if (n < total) {
      WsEvent e = event(WsEventType::need_more, nullptr, 0, off);
      e.need_bytes = total;
      return e;
    }
    uint8_t* payload = p + h.header_len;
    const size_t plen = static_cast<size_t>(h.payload_len);
    if (h.masked) unmask(payload, plen, h.mask);
    off += total;

    switch (h.opcode) {
      case Opcode::ping:
        return event(WsEventType::ping, payload, plen, off);
      case Opcode::pong:
        return event(WsEventType::pong, payload, plen, off);
      case Opcode::close: {
        CloseInfo ci = parse_close_payload(payload, plen);
        if (!ci.valid) return finish(event(WsEventType::fail, nullptr, 0, off, ci.code));
        auto* reason = const_cast<uint8_t*>(reinterpret_cast<const uint8_t*>(ci.reason.data()));
        return finish(event(WsEventType::close, reason, ci.reason.size(), off, ci.code));
      }
      case Opcode::text:
        if (h.fin) {  // the common case: zero-copy view into buf
          std::string_view s(reinterpret_cast<const char*>(payload), plen);
          if (!utf8_valid(s)) return finish(event(WsEventType::fail, nullptr, 0, off, 1007));
          return event(WsEventType::text, payload, plen, off);
        }
        in_message_ = true;
        msg_len_ = 0;
        fragments_ = 0;
        utf8_.reset();
        [[fallthrough]];
      case Opcode::continuation:
        if (!append(payload, plen))
          return finish(event(WsEventType::fail, nullptr, 0, off, final_code_));
        if (!h.fin) continue;  // absorbed; look at the next frame
        if (!utf8_.complete()) return finish(event(WsEventType::fail, nullptr, 0, off, 1007));
        in_message_ = false;
        std::memset(asm_ + msg_len_, 0, kJsonPadding);
        return event(WsEventType::text, asm_, msg_len_, off);
      default:  // binary: refused by check_sequence
        return finish(event(WsEventType::fail, nullptr, 0, off, 1003));
    }
  }
}

}  // namespace chatd
