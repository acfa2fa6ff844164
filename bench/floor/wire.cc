#include "wire.h"

#include <cstring>

#include "codec/base64.h"
#include "codec/sha1.h"

namespace floorsrv {

namespace {

constexpr std::string_view kGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

bool starts_with_nocase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    char c = s[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
    if (c != prefix[i]) return false;
  }
  return true;
}

// The string value after the quoted key `needle` and ':' (blanks allowed
// around it), up to its closing unescaped quote; empty when the key is absent
// or its value not a string.
std::string_view string_value(std::string_view text, std::string_view needle) {
  for (size_t at = text.find(needle); at != std::string_view::npos;
       at = text.find(needle, at + 1)) {
    size_t i = at + needle.size();
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) ++i;
    if (i >= text.size() || text[i] != ':') continue;  // a value that looks like the key
    ++i;
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) ++i;
    if (i >= text.size() || text[i] != '"') return {};
    size_t start = ++i;
    while (i < text.size() && text[i] != '"') i += text[i] == '\\' ? 2 : 1;
    if (i >= text.size()) return {};
    return text.substr(start, i - start);
  }
  return {};
}

}  // namespace

std::string upgrade_answer(std::string_view head) {
  std::string_view key;
  for (size_t pos = head.find("\r\n"); pos != std::string_view::npos;) {
    size_t end = head.find("\r\n", pos + 2);
    if (end == std::string_view::npos) break;
    std::string_view line = head.substr(pos + 2, end - pos - 2);
    if (starts_with_nocase(line, "sec-websocket-key:")) {
      key = line.substr(18);
      while (!key.empty() && key.front() == ' ') key.remove_prefix(1);
      while (!key.empty() && key.back() == ' ') key.remove_suffix(1);
    }
    pos = end;
  }
  if (key.empty()) return {};
  std::string material = std::string(key) + std::string(kGuid);
  auto digest = chatd::sha1(material.data(), material.size());
  return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Accept: " +
         chatd::base64_encode(digest.data(), digest.size()) + "\r\n\r\n";
}

ClientFrame take_frame(uint8_t* p, size_t n, size_t max_payload) {
  ClientFrame f;
  if (n < 2) return f;
  if (!(p[1] & 0x80)) {
    f.status = ClientFrame::Status::bad;
    return f;
  }
  size_t len = p[1] & 0x7F, hl = 2;
  if (len == 126) {
    if (n < 4) return f;
    len = (size_t(p[2]) << 8) | p[3];
    hl = 4;
  } else if (len == 127) {
    if (n < 10) return f;
    len = 0;
    for (int i = 2; i < 10; ++i) len = (len << 8) | p[i];
    hl = 10;
  }
  if (len > max_payload) {
    f.status = ClientFrame::Status::bad;
    return f;
  }
  if (n < hl + 4 + len) return f;
  const uint8_t* mask = p + hl;
  uint8_t* payload = p + hl + 4;
  for (size_t i = 0; i < len; ++i) payload[i] ^= mask[i & 3];
  f.status = ClientFrame::Status::ok;
  f.opcode = p[0] & 0x0F;
  f.payload_off = hl + 4;
  f.payload_len = len;
  f.size = hl + 4 + len;
  return f;
}

size_t text_header(uint8_t* out, size_t len) {
  out[0] = 0x81;
  if (len < 126) {
    out[1] = static_cast<uint8_t>(len);
    return 2;
  }
  if (len < 65536) {
    out[1] = 126;
    out[2] = static_cast<uint8_t>(len >> 8);
    out[3] = static_cast<uint8_t>(len);
    return 4;
  }
  out[1] = 127;
  for (int i = 0; i < 8; ++i) out[2 + i] = static_cast<uint8_t>(uint64_t(len) >> (56 - 8 * i));
  return 10;
}

ClientMsg scan_msg(std::string_view text) {
  return {string_value(text, "\"type\""), string_value(text, "\"nick\""),
          string_value(text, "\"msg\"")};
}

}  // namespace floorsrv
