#include "chat/json_writer.h"

#include <array>
#include <cassert>
#include <charconv>

#include "ws/encoder.h"

namespace chatd {

namespace {

// Escaped length of each byte: 1 (as is), 2 (\" \\ \b \f \n \r \t) or 6 (\u00XX).
constexpr std::array<uint8_t, 256> kEscapedLen = [] {
  std::array<uint8_t, 256> t{};
  for (int c = 0; c < 256; ++c) t[c] = c < 0x20 ? 6 : 1;
  for (int c : {'"', '\\', '\b', '\f', '\n', '\r', '\t'}) t[c] = 2;
  return t;
}();

char short_escape(unsigned char c) {
  switch (c) {
    case '"':
      return '"';
    case '\\':
      return '\\';
    case '\b':
      return 'b';
    case '\f':
      return 'f';
    case '\n':
      return 'n';
    case '\r':
      return 'r';
    default:
      return 't';
  }
}

// First pass: measures what the second pass will write.
struct CountSink {
  size_t n = 0;
  void raw(std::string_view s) { n += s.size(); }
  void esc(std::string_view s) { n += escaped_size(s); }
  void str(std::string_view s) { n += 2 + escaped_size(s); }
  template <typename Int>
  void num(Int v) {
    char buf[24];
    n += size_t(std::to_chars(buf, buf + sizeof buf, v).ptr - buf);
  }
};

// Second pass: writes into the block's tail, never past the measured end.
struct BlockSink {
  char* p;
  char* end;
  void raw(std::string_view s) {
    assert(s.size() <= size_t(end - p));
    std::memcpy(p, s.data(), s.size());
    p += s.size();
  }
  void esc(std::string_view s) {
    assert(escaped_size(s) <= size_t(end - p));
    p = write_escaped(p, s);
  }
  void str(std::string_view s) {
    raw("\"");
    esc(s);
    raw("\"");
  }
  template <typename Int>
  void num(Int v) {
    p = std::to_chars(p, end, v).ptr;
  }
};

// Runs `shape` over a counting sink, then over a block of exactly that size
// with frame headroom, and frames it. Null only if malloc fails.
template <typename Shape>
BlockRef encode(const Shape& shape) {
  CountSink count;
  shape(count);
  BlockRef block = BlockRef::make(kMaxFrameHeader + count.n, kMaxFrameHeader);
  if (!block) return block;
  BlockSink sink{block.tail(), block.tail() + count.n};
  shape(sink);
  assert(sink.p == sink.end);
  block.commit(count.n);
  frame_in_place(block, Opcode::text);
  return block;
}

}  // namespace

size_t escaped_size(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) n += kEscapedLen[c];
  return n;
}

char* write_escaped(char* dst, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (unsigned char c : s) {
    switch (kEscapedLen[c]) {
      case 1:
        *dst++ = char(c);
        break;
      case 2:
        *dst++ = '\\';
        *dst++ = short_escape(c);
        break;
      default:
        std::memcpy(dst, "\\u00", 4);
        dst[4] = kHex[c >> 4];
        dst[5] = kHex[c & 0xf];
        dst += 6;
    }
  }
  return dst;
}

BlockRef encode_welcome(std::string_view nick, std::span<const Member> users) {
  return encode([&](auto& s) {
    s.raw(R"({"type":"welcome","nick":)");
    s.str(nick);
    s.raw(R"(,"users":[)");
    for (size_t i = 0; i < users.size(); ++i) {
      if (i) s.raw(",");
      s.str(users[i].nick);
    }
    s.raw("]}");
  });
}

BlockRef encode_system(bool join, std::string_view nick, uint64_t id, int64_t ts) {
  return encode([&](auto& s) {
    s.raw(join ? R"({"type":"system","event":"join","nick":)"
               : R"({"type":"system","event":"leave","nick":)");
    s.str(nick);
    s.raw(R"(,"text":")");
    s.esc(nick);
    s.raw(join ? R"( joined","id":)" : R"( left","id":)");
    s.num(id);
    s.raw(R"(,"ts":)");
    s.num(ts);
    s.raw("}");
  });
}

BlockRef encode_msg(std::string_view nick, std::string_view msg, uint64_t id, int64_t ts) {
  return encode([&](auto& s) {
    s.raw(R"({"type":"msg","nick":)");
    s.str(nick);
    s.raw(R"(,"msg":)");
    s.str(msg);
    s.raw(R"(,"id":)");
    s.num(id);
    s.raw(R"(,"ts":)");
    s.num(ts);
    s.raw("}");
  });
}

BlockRef encode_error(ChatError e) {
  return encode([&](auto& s) {
    s.raw(R"({"type":"error","code":)");
    s.str(error_code(e));
    s.raw(R"(,"message":)");
    s.str(error_message(e));
    s.raw("}");
  });
}

}  // namespace chatd
