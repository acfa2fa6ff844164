// The per-message hot path in the chat layer: parse the client's JSON with
// the one reused simdjson parser, encode the event once into a framed block,
// and both together through the engine.
#include <benchmark/benchmark.h>

#include <cstring>
#include <string>
#include <vector>

#include "chat/engine.h"
#include "chat/event.h"
#include "chat/json_reader.h"
#include "chat/json_writer.h"
#include "ws/reader.h"

namespace chatd {
namespace {

// A client message with `text_len` bytes of text, followed by the padding
// simdjson reads past the end.
std::vector<uint8_t> padded_msg(size_t text_len, size_t& len) {
  std::string json = "{\"type\":\"msg\",\"msg\":\"" + std::string(text_len, 'x') + "\"}";
  len = json.size();
  std::vector<uint8_t> buf(len + kJsonPadding, 0);
  std::memcpy(buf.data(), json.data(), len);
  return buf;
}

void BM_ParseMsg(benchmark::State& state) {
  size_t len = 0;
  std::vector<uint8_t> buf = padded_msg(size_t(state.range(0)), len);
  JsonReader reader;
  for (auto _ : state) {
    ParsedMessage m = reader.parse(buf.data(), len);
    benchmark::DoNotOptimize(m);
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(len));
}
BENCHMARK(BM_ParseMsg)->Arg(32)->Arg(1024);

// A message with characters that need escaping on the way out.
void BM_ParseMsgEscaped(benchmark::State& state) {
  const char json[] = "{\"type\":\"msg\",\"msg\":\"Ol\\u00e1 \\\"quoted\\\" \\n line\"}";
  std::vector<uint8_t> buf(sizeof json + kJsonPadding, 0);
  std::memcpy(buf.data(), json, sizeof json - 1);
  JsonReader reader;
  for (auto _ : state) benchmark::DoNotOptimize(reader.parse(buf.data(), sizeof json - 1));
}
BENCHMARK(BM_ParseMsgEscaped);

void BM_EncodeMsg(benchmark::State& state) {
  const std::string text(size_t(state.range(0)), 'x');
  uint64_t id = 1;
  for (auto _ : state) {
    BlockRef b = encode_msg("alice", text, id++, 1764100000456);
    benchmark::DoNotOptimize(b.get());
  }
}
BENCHMARK(BM_EncodeMsg)->Arg(32)->Arg(1024);

void BM_EncodeEvent(benchmark::State& state) {
  uint64_t id = 1;
  for (auto _ : state) {
    BlockRef b = encode_event(Event{EventKind::msg, id++, 1764100000456, "alice", "hello, world"});
    benchmark::DoNotOptimize(b.get());
  }
}
BENCHMARK(BM_EncodeEvent);

// One msg through the engine: parse, rules, id, encode; rate limit off.
void BM_EngineMsg(benchmark::State& state) {
  ChatLimits limits;
  limits.rate_per_sec = 0;
  ChatEngine engine(limits);
  Session s;
  size_t jlen = 0;
  std::vector<uint8_t> join(64 + kJsonPadding, 0);
  const char join_json[] = "{\"type\":\"join\",\"nick\":\"alice\"}";
  std::memcpy(join.data(), join_json, sizeof join_json - 1);
  engine.on_text(s, 1, join.data(), sizeof join_json - 1, 0, 0);
  std::vector<uint8_t> buf = padded_msg(size_t(state.range(0)), jlen);
  for (auto _ : state) {
    ChatEngine::Outcome o = engine.on_text(s, 1, buf.data(), jlen, 1764100000456, 0);
    benchmark::DoNotOptimize(o.broadcast.get());
  }
}
BENCHMARK(BM_EngineMsg)->Arg(32)->Arg(1024);

}  // namespace
}  // namespace chatd
