// Fuzzes the WebSocket handshake. The input after the first byte is split on
// '\n' into Host, Origin, Sec-WebSocket-Key, Sec-WebSocket-Version, Upgrade
// and Connection values placed in a GET /ws head, so most inputs reach
// check_upgrade; the head is fed at random read boundaries seeded by the
// first byte. Checks the accept key and the codec invariants on the way.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "codec/base64.h"
#include "http/handshake.h"
#include "http/request.h"
#include "http/router.h"
#include "read_splitter.h"

using namespace chatd;

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

// Strict Base64 means a successful decode re-encodes to the same text.
void base64_invariants(std::string_view s) {
  if (auto raw = base64_decode(s)) check(base64_encode(raw->data(), raw->size()) == s);
}

void origin_invariants(std::string_view origin, std::string_view host) {
  std::string n = canonical_origin(origin);
  if (!n.empty()) check(canonical_origin(n) == n);
  same_origin_as_host(origin, host);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  ReadSplitter split(data[0] * 2246822519u + 7, 32);
  std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);

  std::string field[6];
  for (int i = 0; i < 6 && !in.empty(); ++i) {
    size_t nl = in.find('\n');
    field[i] = std::string(in.substr(0, nl));
    in = nl == std::string_view::npos ? std::string_view() : in.substr(nl + 1);
  }
  const std::string& host = field[0];
  const std::string& origin = field[1];
  const std::string& key = field[2];
  base64_invariants(key);
  origin_invariants(origin, host);

  std::string head = "GET /ws HTTP/1.1\r\nHost: " + host + "\r\n";
  if (!origin.empty()) head += "Origin: " + origin + "\r\n";
  head += "Sec-WebSocket-Key: " + key +
          "\r\nSec-WebSocket-Version: " + (field[3].empty() ? "13" : field[3]) +
          "\r\nUpgrade: " + (field[4].empty() ? "websocket" : field[4]) +
          "\r\nConnection: " + (field[5].empty() ? "Upgrade" : field[5]) + "\r\n\r\n";
  head += in;  // the rest rides behind the head, like frames after a handshake

  std::string buf;
  HeadScan scan;
  Request req;
  size_t fed = 0;
  while (fed < head.size()) {
    size_t n = split.next(head.size() - fed);
    buf.append(head, fed, n);
    fed += n;
    ParseResult r = parse_request(buf.data(), buf.size(), scan, req);
    if (r.status == ParseStatus::incomplete) continue;
    if (r.status == ParseStatus::error) return 0;
    check(r.head_len <= buf.size());
    if (route(req).kind != RouteKind::websocket) return 0;
    OriginPolicy policy;
    policy.add("*");
    OriginPolicy none;
    UpgradeCheck open = check_upgrade(req, policy);
    UpgradeCheck strict = check_upgrade(req, none);
    // The Origin rule is last, so a '*' policy can only turn 403 into 101.
    check(open.status == strict.status || (strict.status == 403 && open.status == 101));
    if (open.status == 101) {
      std::string_view k = req.header("sec-websocket-key");
      auto raw = base64_decode(k);
      check(raw && raw->size() == 16);
      check(open.accept == websocket_accept(k) && open.accept.size() == 28);
      check(make_switching_protocols(open.accept).get() != nullptr);
    }
    return 0;
  }
  return 0;
}
