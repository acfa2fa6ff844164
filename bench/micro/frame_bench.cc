// The per-frame hot path on input: decode a client frame header, unmask the
// payload in place.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <vector>

#include "ws/encoder.h"
#include "ws/frame.h"
#include "ws/unmask.h"

namespace chatd {
namespace {

constexpr uint8_t kMask[4] = {0x37, 0xfa, 0x21, 0x3d};

// Header of a masked client text frame with a payload of range(0) bytes
// (7-bit, 16-bit and 64-bit length forms).
void BM_ParseFrameHeader(benchmark::State& state) {
  uint8_t buf[kMaxClientFrameHeader];
  const size_t n = write_client_frame_header(buf, Opcode::text, uint64_t(state.range(0)), kMask);
  FrameHeader h;
  for (auto _ : state) {
    benchmark::DoNotOptimize(buf);
    HeaderResult r = parse_frame_header(buf, n, h, MaskRule::required);
    benchmark::DoNotOptimize(r);
    benchmark::DoNotOptimize(h);
  }
}
BENCHMARK(BM_ParseFrameHeader)->Arg(32)->Arg(1024)->Arg(70000);

// Unmasking in place; offset 1 so the payload is not 8-byte aligned, as it
// rarely is behind a 6-byte header.
void BM_Unmask(benchmark::State& state) {
  const size_t n = size_t(state.range(0));
  std::vector<uint8_t> buf(n + 1, 'a');
  for (auto _ : state) {
    unmask(buf.data() + 1, n, kMask);
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(n));
}
BENCHMARK(BM_Unmask)->Arg(125)->Arg(1024)->Arg(64 * 1024);

// Writing the 2-byte header of a server frame into a block's headroom is
// the only per-event framing cost on output.
void BM_WriteFrameHeader(benchmark::State& state) {
  uint8_t buf[kMaxFrameHeader];
  for (auto _ : state) {
    benchmark::DoNotOptimize(write_frame_header(buf, Opcode::text, 90));
    benchmark::ClobberMemory();
  }
}
BENCHMARK(BM_WriteFrameHeader);

}  // namespace
}  // namespace chatd
