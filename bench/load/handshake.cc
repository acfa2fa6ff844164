#include "handshake.h"

#include <cstring>

#include "codec/base64.h"
#include "codec/sha1.h"

namespace chatd::load {

namespace {

constexpr std::string_view kWsGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

bool iequal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x + 32);
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y + 32);
    if (x != y) return false;
  }
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::string make_upgrade_request(std::string_view host, uint16_t port, uint64_t& rng,
                                 std::string& expected_accept) {
  uint8_t nonce[16];
  uint64_t a = next_random(rng), b = next_random(rng);
  std::memcpy(nonce, &a, 8);
  std::memcpy(nonce + 8, &b, 8);
  std::string key = base64_encode(nonce, sizeof nonce);
  std::string material = key + std::string(kWsGuid);
  auto digest = sha1(material.data(), material.size());
  expected_accept = base64_encode(digest.data(), digest.size());

  std::string req = "GET /ws HTTP/1.1\r\nHost: ";
  bool v6 = host.find(':') != std::string_view::npos;
  if (v6) req += '[';
  req += host;
  if (v6) req += ']';
  req += ':' + std::to_string(port);
  req += "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ";
  req += key;
  req += "\r\nSec-WebSocket-Version: 13\r\n\r\n";
  return req;
}

bool upgrade_accepted(std::string_view head, std::string_view expected_accept) {
  size_t eol = head.find("\r\n");
  if (eol == std::string_view::npos) return false;
  std::string_view status = head.substr(0, eol);
  if (status.substr(0, 9) != "HTTP/1.1 " || status.substr(9, 3) != "101") return false;
  bool upgrade = false, accept = false;
  size_t pos = eol + 2;
  while (pos < head.size()) {
    size_t end = head.find("\r\n", pos);
    if (end == std::string_view::npos || end == pos) break;
    std::string_view line = head.substr(pos, end - pos);
    pos = end + 2;
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view name = line.substr(0, colon), value = trim(line.substr(colon + 1));
    if (iequal(name, "upgrade")) upgrade = iequal(value, "websocket");
    if (iequal(name, "sec-websocket-accept")) accept = value == expected_accept;
  }
  return upgrade && accept;
}

}  // namespace chatd::load
