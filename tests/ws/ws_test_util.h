// Test helpers for the ws layer: client frame builders and a little input
// ring that behaves like the server's (append, next() until need_more,
// consume, kJsonPadding readable bytes after the data, exactly sized so ASan
// catches any read past the padding).
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "ws/encoder.h"
#include "ws/reader.h"
#include "ws/unmask.h"

namespace chatd::test {

constexpr uint8_t kMask[4] = {0x37, 0xFA, 0x21, 0x3D};

// One masked client frame.
inline std::string cframe(Opcode op, std::string_view payload, bool fin = true,
                          const uint8_t* mask = kMask) {
  std::string out(kMaxClientFrameHeader + payload.size(), '\0');
  auto* dst = reinterpret_cast<uint8_t*>(out.data());
  size_t n = write_client_frame_header(dst, op, payload.size(), mask, fin);
  mask_copy(dst + n, reinterpret_cast<const uint8_t*>(payload.data()), payload.size(), mask);
  out.resize(n + payload.size());
  return out;
}

// A close frame payload: big-endian code then reason.
inline std::string close_payload(uint16_t code, std::string_view reason = {}) {
  std::string p;
  p += static_cast<char>(code >> 8);
  p += static_cast<char>(code & 0xFF);
  p += reason;
  return p;
}

// What the reader yielded, minus need_more (which depends on the split).
struct Ev {
  WsEventType type;
  std::string data;
  uint16_t code = 0;
  bool operator==(const Ev&) const = default;
};
inline std::ostream& operator<<(std::ostream& os, const Ev& e) {
  static const char* names[] = {"need_more", "text", "ping", "pong", "close", "fail"};
  os << names[static_cast<int>(e.type)] << "(";
  for (unsigned char c : e.data.substr(0, 40)) {
    if (c >= 0x20 && c < 0x7F)
      os << c;
    else
      os << "\\x"
         << "0123456789abcdef"[c >> 4] << "0123456789abcdef"[c & 15];
  }
  if (e.data.size() > 40) os << "...[" << e.data.size() << "]";
  return os << ", " << e.code << ")";
}
inline Ev text(std::string_view s) {
  return {WsEventType::text, std::string(s), 0};
}
inline Ev ping(std::string_view s) {
  return {WsEventType::ping, std::string(s), 0};
}
inline Ev pong(std::string_view s) {
  return {WsEventType::pong, std::string(s), 0};
}
inline Ev closed(uint16_t code, std::string_view reason = {}) {
  return {WsEventType::close, std::string(reason), code};
}
inline Ev fail(uint16_t code) {
  return {WsEventType::fail, {}, code};
}

class TestRing {
 public:
  ~TestRing() { std::free(buf_); }
  void append(const void* p, size_t n) {
    buf_ = static_cast<uint8_t*>(std::realloc(buf_, len_ + n + kJsonPadding));
    std::memcpy(buf_ + len_, p, n);
    len_ += n;
    std::memset(buf_ + len_, 0xEE, kJsonPadding);  // stale bytes, as in a real ring
  }
  void consume(size_t n) {
    ASSERT_LE(n, len_);
    std::memmove(buf_, buf_ + n, len_ - n);
    len_ -= n;
  }
  uint8_t* data() { return buf_; }
  size_t size() const { return len_; }

 private:
  uint8_t* buf_ = nullptr;
  size_t len_ = 0;
};

// Appends one chunk and drains events the way the server does; returns false
// once the reader is finished.
inline bool drain(WsReader& r, TestRing& ring, std::vector<Ev>& out) {
  for (;;) {
    WsEvent e = r.next(ring.data(), ring.size());
    EXPECT_LE(e.consumed, ring.size());
    if (e.type == WsEventType::need_more) {
      // It must really need more than what is left after consuming.
      EXPECT_GT(e.need_bytes, ring.size() - e.consumed);
      ring.consume(e.consumed);
      return true;
    }
    Ev ev{e.type, {}, e.close_code};
    if (e.data) ev.data.assign(reinterpret_cast<const char*>(e.data), e.len);
    if (e.type == WsEventType::text) {
      // The padding after the text must be readable (ASan checks the reads).
      volatile uint8_t sink = 0;
      for (size_t i = 0; i < kJsonPadding; ++i) sink = sink ^ e.data[e.len + i];
      (void)sink;
    }
    out.push_back(ev);
    if (e.type == WsEventType::close || e.type == WsEventType::fail) {
      WsEvent again = r.next(ring.data(), ring.size());  // sticky
      EXPECT_EQ(again.type, e.type);
      EXPECT_EQ(again.close_code, e.close_code);
      EXPECT_EQ(again.consumed, 0u);
      return false;
    }
    ring.consume(e.consumed);
  }
}

// Feeds stream to a fresh reader in chunks ending at the given cut offsets.
inline std::vector<Ev> feed(std::string_view stream, const std::vector<size_t>& cuts,
                            const ReaderLimits& limits = {}, MaskRule rule = MaskRule::required) {
  WsReader r(&limits, rule);
  TestRing ring;
  std::vector<Ev> out;
  size_t pos = 0;
  for (size_t cut : cuts) {
    ring.append(stream.data() + pos, cut - pos);
    pos = cut;
    if (!drain(r, ring, out)) return out;
  }
  ring.append(stream.data() + pos, stream.size() - pos);
  drain(r, ring, out);
  return out;
}

// Feeds stream whole, byte by byte (when short enough) and split in two at
// every offset (or every `stride`-th), expecting the same events each time.
inline void expect_events(std::string_view stream, const std::vector<Ev>& want,
                          const ReaderLimits& limits = {}, MaskRule rule = MaskRule::required) {
  EXPECT_EQ(feed(stream, {}, limits, rule), want) << "whole";
  if (stream.size() <= 4096) {
    std::vector<size_t> bytes;
    for (size_t i = 1; i < stream.size(); ++i) bytes.push_back(i);
    EXPECT_EQ(feed(stream, bytes, limits, rule), want) << "byte by byte";
  }
  const size_t stride = stream.size() <= 4096 ? 1 : stream.size() / 61 + 1;
  for (size_t at = 1; at < stream.size(); at += stride)
    EXPECT_EQ(feed(stream, {at}, limits, rule), want) << "split at " << at;
}

}  // namespace chatd::test
