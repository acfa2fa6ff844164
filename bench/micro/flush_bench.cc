// The flush path on a real loopback TCP socket: one connection's queue of F
// framed msg events of S bytes of text each, written with OutputQueue::flush
// and read back by the peer. `copy_max` 0 hands the kernel one iovec per
// frame; otherwise runs of frames up to copy_max bytes are copied into the
// shared scratch first (net/flush_scratch.h). The time includes the kernel's
// send and loopback receive of the bytes and the peer's recv, as in the
// server (loopback delivers in the sender's context); only the user-space
// part and the iovec count differ between the variants.
//
// Counters: frames per writev, iovecs per writev, bytes copied per frame.
#include <benchmark/benchmark.h>
#include <sys/socket.h>

#include <cstdio>
#include <string>
#include <vector>

#include "base/fd.h"
#include "chat/json_writer.h"
#include "net/output_queue.h"
#include "net/socket.h"
#include "tcp_pair.h"

namespace chatd {
namespace {

// Args: text bytes per message, frames per flush, copy_max (0: no copy).
void BM_FlushTcp(benchmark::State& state) {
  const size_t text = size_t(state.range(0)), frames = size_t(state.range(1));
  const size_t copy_max = size_t(state.range(2));
  TcpPair pair;
  if (!pair.ok) {
    state.SkipWithError("no loopback TCP pair");
    return;
  }
  // Distinct events, as in a busy room: each its own block.
  std::vector<BlockRef> events;
  size_t bytes = 0;
  for (size_t i = 0; i < frames; ++i) {
    events.push_back(
        encode_msg("general", "alice", std::string(text, 'x'), 1000 + i, 1764100000456));
    bytes += events.back()->size();
  }
  FlushScratch scratch(copy_max);
  OutputQueue q;
  std::vector<char> sink(1 << 20);
  uint64_t writes = 0, iovecs = 0, copied = 0;
  for (auto _ : state) {
    for (const BlockRef& e : events) q.push(e);
    FlushResult r = q.flush(pair.writer.get(), 1 << 20, &scratch);
    if (r.written != bytes || !pair.drain(r.written, sink)) {
      state.SkipWithError("short write or read");
      break;
    }
    writes += r.writes;
    iovecs += r.iovecs;
    copied += r.copied;
  }
  const double flushes = double(state.iterations());
  state.counters["frame_bytes"] = double(bytes) / double(frames);
  state.counters["frames/writev"] = writes ? flushes * double(frames) / double(writes) : 0;
  state.counters["iov/writev"] = writes ? double(iovecs) / double(writes) : 0;
  state.counters["copied/frame"] = flushes ? double(copied) / (flushes * double(frames)) : 0;
  state.counters["per_frame"] = benchmark::Counter(
      flushes * double(frames), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(bytes));
}
// The load scenarios: 18 frames per member per turn at window 2, ~80 at
// window 8; one frame (rate 50); text of 32 B, 1 KiB, and larger.
BENCHMARK(BM_FlushTcp)
    ->ArgNames({"text", "frames", "copy_max"})
    ->ArgsProduct({{32, 1024}, {1, 18, 80}, {0, 2048}})
    ->ArgsProduct({{512, 700, 900, 2048, 4096, 16384}, {18}, {0, 1024, 4096, 32768}});

// The user-space half alone: gathering 18 queued frames and retiring them,
// against a socket that refuses everything (a full peer), so no byte moves
// and the kernel's part is one failing sendmsg.
void BM_FlushGatherOnly(benchmark::State& state) {
  const size_t text = size_t(state.range(0)), frames = 18;
  const size_t copy_max = size_t(state.range(1));
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) != 0) {
    state.SkipWithError("socketpair");
    return;
  }
  UniqueFd a(sv[0]), b(sv[1]);
  std::vector<char> junk(1 << 16);
  while (send(a.get(), junk.data(), junk.size(), MSG_DONTWAIT) > 0) {
  }
  FlushScratch scratch(copy_max);
  OutputQueue q;
  for (size_t i = 0; i < frames; ++i)
    q.push(encode_msg("general", "alice", std::string(text, 'x'), 1000 + i, 1764100000456));
  uint64_t copied = 0;
  for (auto _ : state) {
    FlushResult r = q.flush(a.get(), 1 << 20, &scratch);
    copied += r.copied;
    benchmark::DoNotOptimize(r);
  }
  state.counters["copied/flush"] = double(copied) / double(state.iterations());
}
BENCHMARK(BM_FlushGatherOnly)->ArgNames({"text", "copy_max"})->ArgsProduct({{32, 1024}, {0, 2048}});

}  // namespace
}  // namespace chatd
