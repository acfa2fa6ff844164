// The per-message hot path in the chat layer: parse the client's JSON with
// the one reused simdjson parser, encode the event once into a framed block,
// and both together through the engine; and what a resuming joiner costs:
// its replay hands out the ring's blocks, so a replayed event is a reference,
// not an encode (BM_ReplayFromRing against BM_EncodeReplay).
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
    BlockRef b = encode_msg("general", "alice", text, id++, 1764100000456);
    benchmark::DoNotOptimize(b.get());
  }
}
BENCHMARK(BM_EncodeMsg)->Arg(32)->Arg(1024);

void BM_EncodeEvent(benchmark::State& state) {
  uint64_t id = 1;
  for (auto _ : state) {
    BlockRef b =
        encode_event("general", EventKind::msg, id++, 1764100000456, "alice", "hello, world");
    benchmark::DoNotOptimize(b.get());
  }
}
BENCHMARK(BM_EncodeEvent);

// A text message in a padded buffer, as the WebSocket reader hands it over.
std::vector<uint8_t> padded(std::string_view json) {
  std::vector<uint8_t> buf(json.size() + kJsonPadding, 0);
  std::memcpy(buf.data(), json.data(), json.size());
  return buf;
}

// Plays the app: numbers a proposal as the local sequencer does and applies it.
Applied number_and_apply(ChatEngine& engine, const Proposal& p, int64_t ts) {
  NumberedEvent e{p.room, p.kind, ++p.room->sequenced_id, ts, p.member, p.nick, p.text, p.ask};
  return engine.apply(e, 0);
}

Applied send(ChatEngine& engine, Session& s, MemberId id, std::string_view json) {
  std::vector<uint8_t> buf = padded(json);
  Outcome o = engine.on_text(s, id, buf.data(), json.size(), 0);
  if (!o.has_event) return {};
  return number_and_apply(engine, o.event, 1764100000456);
}

// One msg through the engine: parse, rules, numbering, apply (the room's one
// encode and its ring); rate limit off.
void BM_EngineMsg(benchmark::State& state) {
  ChatLimits limits;
  limits.rate_per_sec = 0;
  ChatEngine engine(limits);
  Session s;
  send(engine, s, 1, R"({"type":"join","room":"dev","nick":"alice"})");
  size_t jlen = 0;
  std::vector<uint8_t> buf = padded_msg(size_t(state.range(0)), jlen);
  for (auto _ : state) {
    Outcome o = engine.on_text(s, 1, buf.data(), jlen, 0);
    Applied a = number_and_apply(engine, o.event, 1764100000456);
    benchmark::DoNotOptimize(a.event.get());
  }
}
BENCHMARK(BM_EngineMsg)->Arg(32)->Arg(1024);

// A join that resumes after missing N events: welcome, then the N events from
// the ring (references to the blocks first sent), then its join event.
void BM_ReplayFromRing(benchmark::State& state) {
  const size_t missed = size_t(state.range(0));
  ChatLimits limits;
  limits.rate_per_sec = 0;
  ChatEngine engine(limits);
  Session talker;
  send(engine, talker, 1, R"({"type":"join","room":"dev","nick":"alice"})");
  Room* room = engine.find_room("dev");
  std::string epoch(room->epoch());
  uint64_t since = room->last_id();
  for (size_t i = 0; i < missed; ++i) {
    send(engine, talker, 1,
         R"({"type":"msg","room":"dev","msg":"a message of about forty bytes"})");
  }
  std::string join = R"({"type":"join","room":"dev","nick":"bob","since":)" +
                     std::to_string(since) + R"(,"epoch":")" + epoch + R"("})";
  MemberId bob = 2;
  for (auto _ : state) {
    Session s;
    Applied a = send(engine, s, bob, join);
    if (a.replay.size() != missed) state.SkipWithError("not resumed");
    benchmark::DoNotOptimize(a.replay.data());
    std::vector<Proposal> leaves;
    engine.on_disconnect(s, bob, leaves);
    for (const Proposal& p : leaves) number_and_apply(engine, p, 1764100000456);
    // The join and leave just added move the resume point on.
    since = room->last_id();
    state.PauseTiming();
    join = R"({"type":"join","room":"dev","nick":"bob","since":)" + std::to_string(since - missed) +
           R"(,"epoch":")" + epoch + R"("})";
    state.ResumeTiming();
  }
  state.SetItemsProcessed(int64_t(state.iterations()) * int64_t(missed));
}
BENCHMARK(BM_ReplayFromRing)->Arg(100);

// What the same replay would cost if each event were encoded again.
void BM_EncodeReplay(benchmark::State& state) {
  const size_t missed = size_t(state.range(0));
  std::vector<BlockRef> out;
  for (auto _ : state) {
    out.clear();
    for (size_t i = 0; i < missed; ++i) {
      out.push_back(encode_event("dev", EventKind::msg, i + 1, 1764100000456, "alice",
                                 "a message of about forty bytes"));
    }
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(int64_t(state.iterations()) * int64_t(missed));
}
BENCHMARK(BM_EncodeReplay)->Arg(100);

}  // namespace
}  // namespace chatd
