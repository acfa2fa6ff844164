// Fuzzes the request-head parser fed at random read boundaries (the first
// input byte seeds the split points), checking that pieces parse exactly like
// the whole stream, pipelined heads included, and runs every complete head
// through the router, keep-alive, handshake and the static path checks.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "http/handshake.h"
#include "http/mime.h"
#include "http/path.h"
#include "http/request.h"
#include "http/response.h"
#include "http/router.h"
#include "read_splitter.h"

using namespace chatd;

namespace {

struct Outcome {
  ParseStatus status;
  size_t head_len;
  int http_status;
  std::string path;
  bool operator==(const Outcome&) const = default;
};

void check(bool ok) {
  if (!ok) std::abort();
}

bool inside(std::string_view v, const char* buf, size_t len) {
  return v.empty() || (v.data() >= buf && v.data() + v.size() <= buf + len);
}

// Exercises everything downstream of a complete head.
void use(const Request& req, const char* buf, size_t head_len) {
  check(inside(req.method, buf, head_len) && inside(req.target, buf, head_len));
  check(req.header_count <= kMaxHeaders);
  for (size_t i = 0; i < req.header_count; ++i)
    check(inside(req.headers[i].name, buf, head_len) &&
          inside(req.headers[i].value, buf, head_len));
  bool ka = keep_alive(req);
  Route r = route(req);
  if (r.kind == RouteKind::error) check(make_error_response(r.status, false, ka).get() != nullptr);
  if (r.kind == RouteKind::websocket) {
    OriginPolicy policy;
    policy.add("https://trusted.example");
    UpgradeCheck u = check_upgrade(req, policy);
    check(u.status == 101 || u.status == 400 || u.status == 403 || u.status == 426);
    if (u.status == 101) check(make_switching_protocols(u.accept).get() != nullptr);
  }
  std::string decoded;
  if (percent_decode(req.path, decoded) && is_safe_path(decoded)) {
    check(decoded.find("/.") == std::string::npos);  // no dot-segment survives
    content_type_for(decoded);
  }
}

// Parses every head available at the front of buf, appending outcomes;
// returns the bytes consumed. Stops at incomplete or error.
size_t drain(const std::string& buf, HeadScan& scan, std::vector<Outcome>& out, bool& failed) {
  size_t off = 0;
  while (!failed) {
    Request req;
    ParseResult r = parse_request(buf.data() + off, buf.size() - off, scan, req);
    if (r.status == ParseStatus::incomplete) break;
    out.push_back({r.status, r.head_len, r.http_status,
                   r.status == ParseStatus::complete ? std::string(req.path) : std::string()});
    if (r.status == ParseStatus::error) {
      failed = true;
      break;
    }
    check(r.head_len > 0 && r.head_len <= kMaxHeadBytes && r.head_len <= buf.size() - off);
    use(req, buf.data() + off, r.head_len);
    off += r.head_len;
  }
  return off;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  ReadSplitter split(data[0] * 2654435761u + 1, 64);
  std::string stream(reinterpret_cast<const char*>(data + 1), size - 1);

  std::vector<Outcome> whole;
  HeadScan scan;
  bool failed = false;
  drain(stream, scan, whole, failed);

  std::vector<Outcome> pieces;
  HeadScan piece_scan;
  std::string pending;
  bool piece_failed = false;
  size_t fed = 0;
  while (fed < stream.size() && !piece_failed) {
    size_t n = split.next(stream.size() - fed);
    pending.append(stream, fed, n);
    fed += n;
    size_t used = drain(pending, piece_scan, pieces, piece_failed);
    pending.erase(0, used);
  }
  check(whole == pieces);
  return 0;
}
