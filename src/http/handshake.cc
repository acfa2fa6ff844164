#include "http/handshake.h"

#include "codec/base64.h"
#include "codec/sha1.h"

namespace chatd {

namespace {

constexpr std::string_view kWsGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
constexpr size_t kWsKeyBytes = 16;

char lower(char c) {
  return c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c;
}

struct HostPort {
  std::string host;  // lowercased; IPv6 literals keep their brackets
  int port = -1;     // -1: not given
};

// Parses host [":" port]; false on an empty host, a bad port or stray bytes.
bool parse_host_port(std::string_view s, HostPort& out) {
  size_t host_end;
  if (!s.empty() && s[0] == '[') {
    host_end = s.find(']');
    if (host_end == std::string_view::npos) return false;
    ++host_end;
  } else {
    host_end = s.find(':');
    if (host_end == std::string_view::npos) host_end = s.size();
  }
  if (host_end == 0) return false;
  out.host.clear();
  for (char c : s.substr(0, host_end)) {
    if (c == '/' || c == '@' || c == ' ' || c == '?' || c == '#') return false;
    out.host += lower(c);
  }
  std::string_view rest = s.substr(host_end);
  if (rest.empty()) return true;
  if (rest[0] != ':' || rest.size() < 2 || rest.size() > 6) return false;
  int port = 0;
  for (char c : rest.substr(1)) {
    if (c < '0' || c > '9') return false;
    port = port * 10 + (c - '0');
  }
  if (port < 1 || port > 65535) return false;
  out.port = port;
  return true;
}

int default_port(std::string_view scheme) {
  if (scheme == "http" || scheme == "ws") return 80;
  if (scheme == "https" || scheme == "wss") return 443;
  return -1;
}

// Splits an origin into lowercased scheme and host:port with its port filled in.
bool parse_origin(std::string_view origin, std::string& scheme, HostPort& hp) {
  size_t sep = origin.find("://");
  if (sep == std::string_view::npos || sep == 0) return false;
  scheme.clear();
  for (char c : origin.substr(0, sep)) {
    c = lower(c);
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.'))
      return false;
    scheme += c;
  }
  if (!parse_host_port(origin.substr(sep + 3), hp)) return false;
  if (hp.port < 0) hp.port = default_port(scheme);
  return hp.port > 0;
}

}  // namespace

std::string canonical_origin(std::string_view origin) {
  std::string scheme;
  HostPort hp;
  if (!parse_origin(origin, scheme, hp)) return {};
  return scheme + "://" + hp.host + ":" + std::to_string(hp.port);
}

bool OriginPolicy::add(std::string_view origin) {
  if (origin == "*") {
    allow_any = true;
    return true;
  }
  if (origin.size() > 1 && origin.back() == '/') origin.remove_suffix(1);
  std::string n = canonical_origin(origin);
  if (n.empty()) return false;
  origins.push_back(std::move(n));
  return true;
}

bool OriginPolicy::allows(std::string_view origin) const {
  if (allow_any) return true;
  std::string n = canonical_origin(origin);
  if (n.empty()) return false;
  for (const auto& o : origins)
    if (o == n) return true;
  return false;
}

bool same_origin_as_host(std::string_view origin, std::string_view host) {
  std::string scheme;
  HostPort o, h;
  if (!parse_origin(origin, scheme, o) || !parse_host_port(host, h)) return false;
  if (h.port < 0) h.port = default_port(scheme);
  return o.host == h.host && o.port == h.port;
}

std::string websocket_accept(std::string_view key) {
  std::string material(key);
  material += kWsGuid;
  auto digest = sha1(material.data(), material.size());
  return base64_encode(digest.data(), digest.size());
}

UpgradeCheck check_upgrade(const Request& req, const OriginPolicy& policy) {
  if (req.method != "GET" || req.minor_version != 1) return {400, {}};
  if (!header_has_token(req, "upgrade", "websocket")) return {400, {}};
  if (!header_has_token(req, "connection", "upgrade")) return {400, {}};
  if (req.count("sec-websocket-key") != 1) return {400, {}};
  std::string_view key = req.header("sec-websocket-key");
  auto raw = base64_decode(key);
  if (!raw || raw->size() != kWsKeyBytes) return {400, {}};
  if (!req.find("sec-websocket-version")) return {400, {}};
  if (req.header("sec-websocket-version") != "13") return {426, {}};
  size_t origins = req.count("origin");
  if (origins > 1) return {403, {}};
  if (origins == 1) {
    std::string_view origin = req.header("origin");
    if (!same_origin_as_host(origin, req.header("host")) && !policy.allows(origin))
      return {403, {}};
  }
  return {101, websocket_accept(key)};
}

BlockRef make_switching_protocols(std::string_view accept) {
  constexpr std::string_view head =
      "HTTP/1.1 101 Switching Protocols\r\n"
      "Server: chatd\r\n"
      "Upgrade: websocket\r\n"
      "Connection: Upgrade\r\n"
      "Sec-WebSocket-Accept: ";
  BlockRef b = BlockRef::make(head.size() + accept.size() + 4);
  if (!b) return b;
  b.append(head);
  b.append(accept);
  b.append("\r\n\r\n");
  return b;
}

}  // namespace chatd
