// The per-connection cold path: reading the upgrade request and computing
// Sec-WebSocket-Accept. Runs once per connection, so it bounds handshakes/s.
#include <benchmark/benchmark.h>

#include <cstring>
#include <string>
#include <string_view>

#include "codec/base64.h"
#include "codec/sha1.h"
#include "http/handshake.h"
#include "http/request.h"

namespace chatd {
namespace {

constexpr std::string_view kKey = "dGhlIHNhbXBsZSBub25jZQ==";  // RFC 6455 1.3
constexpr std::string_view kGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

// A browser's upgrade request, as Chromium sends it.
constexpr std::string_view kUpgradeHead =
    "GET /ws HTTP/1.1\r\n"
    "Host: 127.0.0.1:8080\r\n"
    "Connection: Upgrade\r\n"
    "Pragma: no-cache\r\n"
    "Cache-Control: no-cache\r\n"
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36\r\n"
    "Upgrade: websocket\r\n"
    "Origin: http://127.0.0.1:8080\r\n"
    "Sec-WebSocket-Version: 13\r\n"
    "Accept-Encoding: gzip, deflate, br\r\n"
    "Accept-Language: en-US,en;q=0.9\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
    "\r\n";

// SHA-1 then Base64 of key + GUID, the codec layer alone.
void BM_Sha1Base64Accept(benchmark::State& state) {
  char material[64];
  std::memcpy(material, kKey.data(), kKey.size());
  std::memcpy(material + kKey.size(), kGuid.data(), kGuid.size());
  const size_t n = kKey.size() + kGuid.size();
  for (auto _ : state) {
    auto digest = sha1(material, n);
    std::string accept = base64_encode(digest.data(), digest.size());
    benchmark::DoNotOptimize(accept);
  }
}
BENCHMARK(BM_Sha1Base64Accept);

// The same through the http layer's entry point.
void BM_WebsocketAccept(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(websocket_accept(kKey));
}
BENCHMARK(BM_WebsocketAccept);

// Parsing a whole upgrade request head that arrived in one read.
void BM_ParseUpgradeRequest(benchmark::State& state) {
  Request req;
  HeadScan scan;
  for (auto _ : state) {
    ParseResult r = parse_request(kUpgradeHead.data(), kUpgradeHead.size(), scan, req);
    benchmark::DoNotOptimize(r);
    benchmark::DoNotOptimize(req);
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(kUpgradeHead.size()));
}
BENCHMARK(BM_ParseUpgradeRequest);

// Every upgrade check on a parsed head (method, headers, key, version,
// Origin) and the accept key.
void BM_CheckUpgrade(benchmark::State& state) {
  Request req;
  HeadScan scan;
  parse_request(kUpgradeHead.data(), kUpgradeHead.size(), scan, req);
  OriginPolicy policy;
  for (auto _ : state) benchmark::DoNotOptimize(check_upgrade(req, policy));
}
BENCHMARK(BM_CheckUpgrade);

}  // namespace
}  // namespace chatd
