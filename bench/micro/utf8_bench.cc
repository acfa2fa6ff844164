// UTF-8 validation of message text: ours (table 3-7 state machine, byte at a
// time) against simdjson's vectorized validator, on ASCII and on multibyte
// text (Portuguese, Greek, CJK and emoji mixed).
#include <benchmark/benchmark.h>
#include <simdjson.h>

#include <string>

#include "codec/utf8.h"

namespace chatd {
namespace {

// n bytes of text: repeated samples cut at a code point boundary, then
// ASCII filler to the exact length.
std::string make_text(bool multibyte, size_t n) {
  const std::string unit =
      multibyte ? "Olá, καλημέρα, 你好世界 👋🏽! " : "Hello, world! 0123456789 ";
  std::string s;
  while (s.size() < n) s += unit;
  size_t cut = n;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  s.resize(cut);
  s.append(n - cut, 'a');
  return s;
}

void BM_Utf8Ours(benchmark::State& state) {
  const std::string s = make_text(state.range(1) != 0, size_t(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(utf8_valid(s));
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(s.size()));
  state.SetLabel(state.range(1) ? "multibyte" : "ascii");
}

void BM_Utf8OursIncremental(benchmark::State& state) {
  const std::string s = make_text(state.range(1) != 0, size_t(state.range(0)));
  for (auto _ : state) {
    Utf8Validator v;
    benchmark::DoNotOptimize(v.feed(reinterpret_cast<const uint8_t*>(s.data()), s.size()));
    benchmark::DoNotOptimize(v.complete());
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(s.size()));
  state.SetLabel(state.range(1) ? "multibyte" : "ascii");
}

void BM_Utf8Simdjson(benchmark::State& state) {
  const std::string s = make_text(state.range(1) != 0, size_t(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(simdjson::validate_utf8(s.data(), s.size()));
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(s.size()));
  state.SetLabel(state.range(1) ? "multibyte" : "ascii");
}

#define UTF8_ARGS ArgsProduct({{32, 1024, 64 * 1024}, {0, 1}})
BENCHMARK(BM_Utf8Ours)->UTF8_ARGS;
BENCHMARK(BM_Utf8OursIncremental)->UTF8_ARGS;
BENCHMARK(BM_Utf8Simdjson)->UTF8_ARGS;

}  // namespace
}  // namespace chatd
