#include "chat/json_writer.h"

#include <array>
#include <bit>
#include <cassert>
#include <charconv>
#include <cstring>

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

constexpr uint64_t kOnes = 0x0101010101010101ull;
constexpr uint64_t kHighs = 0x8080808080808080ull;

uint64_t load_le64(const unsigned char* p) {
  uint64_t w;
  std::memcpy(&w, p, 8);
  if constexpr (std::endian::native == std::endian::big) w = __builtin_bswap64(w);
  return w;
}

// Per byte lane of w (p[0] in the low lane), the high bit is set when the
// byte needs escaping: below 0x20, or zero after xor with '"' or '\'. A
// borrow can set a lane above a hit but never below one, so the lowest set
// lane is always the first byte to escape.
uint64_t escape_hits(uint64_t w) {
  const uint64_t quote = w ^ (kOnes * '"'), slash = w ^ (kOnes * '\\');
  return ((w - kOnes * 0x20) | (quote - kOnes) | (slash - kOnes)) & ~w & kHighs;
}

// True when none of the 16 bytes at p needs escaping: the bulk step, two
// words per branch.
bool clean16(const unsigned char* p) {
  return !(escape_hits(load_le64(p)) | escape_hits(load_le64(p + 8)));
}

// Writes the escape of c (kEscapedLen[c] > 1) at dst; returns its end.
char* write_escape(char* dst, unsigned char c) {
  static constexpr char kHex[] = "0123456789abcdef";
  if (kEscapedLen[c] == 2) {
    dst[0] = '\\';
    dst[1] = short_escape(c);
    return dst + 2;
  }
  std::memcpy(dst, "\\u00", 4);
  dst[4] = kHex[c >> 4];
  dst[5] = kHex[c & 0xf];
  return dst + 6;
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
// with headroom for exactly its frame header, and frames it: rings keep
// these blocks, so every byte of slack would be paid per stored event.
// Null only if malloc fails.
template <typename Shape>
BlockRef encode(const Shape& shape) {
  CountSink count;
  shape(count);
  const size_t header = frame_header_len(count.n);
  BlockRef block = BlockRef::make(header + count.n, header);
  if (!block) return block;
  BlockSink sink{block.tail(), block.tail() + count.n};
  shape(sink);
  assert(sink.p == sink.end);
  block.commit(count.n);
  frame_in_place(block, Opcode::text);
  return block;
}

}  // namespace

// Both passes go 16 or 8 bytes per step: text between escapes is long and
// almost always needs none.
size_t escaped_size(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  size_t out = n, i = 0;
  while (i + 8 <= n) {
    if (i + 16 <= n && clean16(p + i)) {
      i += 16;
      continue;
    }
    const uint64_t hits = escape_hits(load_le64(p + i));
    if (!hits) {
      i += 8;
      continue;
    }
    i += size_t(std::countr_zero(hits)) / 8;
    out += kEscapedLen[p[i++]] - 1;
  }
  for (; i < n; ++i) out += kEscapedLen[p[i]] - 1;
  return out;
}

char* write_escaped(char* dst, std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  size_t i = 0;
  while (i + 8 <= n) {
    if (i + 16 <= n && clean16(p + i)) {
      std::memcpy(dst, p + i, 16);
      dst += 16;
      i += 16;
      continue;
    }
    const uint64_t hits = escape_hits(load_le64(p + i));
    if (!hits) {
      std::memcpy(dst, p + i, 8);
      dst += 8;
      i += 8;
      continue;
    }
    for (size_t run = size_t(std::countr_zero(hits)) / 8; run > 0; --run) *dst++ = char(p[i++]);
    dst = write_escape(dst, p[i++]);
  }
  for (; i < n; ++i) {
    if (kEscapedLen[p[i]] == 1) {
      *dst++ = char(p[i]);
    } else {
      dst = write_escape(dst, p[i]);
    }
  }
  return dst;
}

namespace {

// `,"ref":"..."` when the request carried one.
template <typename Sink>
void write_ref(Sink& s, std::string_view ref) {
  if (ref.empty()) return;
  s.raw(R"(,"ref":)");
  s.str(ref);
}

}  // namespace

BlockRef encode_welcome(const Welcome& w) {
  return encode([&](auto& s) {
    if (w.v1) {
      s.raw(R"({"type":"welcome","nick":)");
    } else {
      s.raw(R"({"type":"welcome","room":)");
      s.str(w.room);
      s.raw(R"(,"nick":)");
    }
    s.str(w.nick);
    s.raw(R"(,"users":[)");
    for (size_t i = 0; i < w.users.size(); ++i) {
      if (i) s.raw(",");
      s.str(w.users[i].nick());
    }
    if (w.v1) return s.raw("]}");
    s.raw(R"(],"epoch":)");
    s.str(w.epoch);
    s.raw(R"(,"last_id":)");
    s.num(w.last_id);
    s.raw(w.resumed ? R"(,"resumed":true)" : R"(,"resumed":false)");
    write_ref(s, w.ref);
    s.raw("}");
  });
}

BlockRef encode_system(std::string_view room, bool join, std::string_view nick, uint64_t id,
                       int64_t ts) {
  return encode([&](auto& s) {
    s.raw(R"({"type":"system","room":)");
    s.str(room);
    s.raw(join ? R"(,"event":"join","nick":)" : R"(,"event":"leave","nick":)");
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

BlockRef encode_msg(std::string_view room, std::string_view nick, std::string_view msg, uint64_t id,
                    int64_t ts) {
  return encode([&](auto& s) {
    s.raw(R"({"type":"msg","room":)");
    s.str(room);
    s.raw(R"(,"nick":)");
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

BlockRef encode_error(ChatError e, const std::string_view* room, std::string_view ref) {
  return encode([&](auto& s) {
    s.raw(R"({"type":"error","code":)");
    s.str(error_code(e));
    s.raw(R"(,"message":)");
    s.str(error_message(e));
    if (room) {
      s.raw(R"(,"room":)");
      s.str(*room);
    }
    write_ref(s, ref);
    s.raw("}");
  });
}

BlockRef encode_history(std::string_view room, std::span<const BlockRef> events, bool more,
                        std::string_view ref) {
  return encode([&](auto& s) {
    s.raw(R"({"type":"history","room":)");
    s.str(room);
    s.raw(R"(,"events":[)");
    for (size_t i = 0; i < events.size(); ++i) {
      if (i) s.raw(",");
      s.raw(server_frame_payload(*events[i].get()));
    }
    s.raw(more ? R"(],"more":true)" : R"(],"more":false)");
    write_ref(s, ref);
    s.raw("}");
  });
}

BlockRef encode_rooms(std::span<const RoomLine> rooms, std::string_view ref) {
  return encode([&](auto& s) {
    s.raw(R"({"type":"rooms","rooms":[)");
    for (size_t i = 0; i < rooms.size(); ++i) {
      s.raw(i ? R"(,{"room":)" : R"({"room":)");
      s.str(rooms[i].room);
      s.raw(R"(,"users":)");
      s.num(rooms[i].users);
      s.raw(R"(,"last_id":)");
      s.num(rooms[i].last_id);
      s.raw("}");
    }
    s.raw("]");
    write_ref(s, ref);
    s.raw("}");
  });
}

}  // namespace chatd
