// A 100-event history answer (issue 11): the old path copies every event's
// payload out of its ring block into one new frame (encode_history); the new
// one writes only the head, commas, frame headers and tail into one glue
// block and references each event (history_answer, a fragmented message).
//
// BM_HistoryBuild*: building the answer alone. BM_HistoryFlush*: building it,
// queueing it and writing it to a loopback TCP socket with the server's
// flush scratch (copy_max 512, the default), read back by the peer: the
// scratch copies runs of small pieces in user space on the way, as it does
// for small frames, so the end-to-end copy count is what the server does.
//
// Args: text bytes per event (32: a chat line, 1024: a long one), 100 events.
// Counters: bytes_copied per answer (memcpy in user space: the answer block
// for the copy path, the glue for slices, plus what the flush scratch copied),
// bytes_allocated per answer (the block the answer needs of its own, held
// by every queue it waits in: the whole answer for the copy path, the glue
// for slices, whose events are the ring's shared blocks), answer_bytes (the
// bytes on the wire), pieces (entries queued).
#include <benchmark/benchmark.h>
#include <sys/socket.h>

#include <string>
#include <vector>

#include "base/fd.h"
#include "chat/event.h"
#include "chat/history_answer.h"
#include "chat/json_writer.h"
#include "net/flush_scratch.h"
#include "net/output_queue.h"
#include "net/socket.h"
#include "tcp_pair.h"
#include "ws/encoder.h"

namespace chatd {
namespace {

constexpr size_t kEvents = 100;

// The ring's blocks: framed msg events as they were first sent.
std::vector<BlockRef> ring_events(size_t text_len) {
  std::vector<BlockRef> out;
  for (size_t i = 0; i < kEvents; ++i) {
    out.push_back(encode_event("dev", EventKind::msg, 1000 + i, 1764100000456 + int64_t(i), "alice",
                               std::string(text_len, 'x')));
  }
  return out;
}

size_t payload_bytes(const std::vector<BlockRef>& events) {
  size_t n = 0;
  for (const BlockRef& e : events) n += server_frame_payload(*e.get()).size();
  return n;
}

void BM_HistoryBuildCopy(benchmark::State& state) {
  const std::vector<BlockRef> events = ring_events(size_t(state.range(0)));
  size_t wire = 0;
  for (auto _ : state) {
    BlockRef answer = encode_history("dev", events, true, "page-2");
    wire = answer->size();
    benchmark::DoNotOptimize(answer.get());
  }
  // Every byte of the answer's payload is written by memcpy or the escaper.
  state.counters["bytes_copied"] = double(wire);
  state.counters["bytes_allocated"] = double(wire + kMaxFrameHeader);
  state.counters["answer_bytes"] = double(wire);
  state.counters["event_bytes"] = double(payload_bytes(events));
  state.SetItemsProcessed(int64_t(state.iterations()) * int64_t(kEvents));
}
BENCHMARK(BM_HistoryBuildCopy)->Arg(32)->Arg(1024);

void BM_HistoryBuildSlices(benchmark::State& state) {
  const std::vector<BlockRef> events = ring_events(size_t(state.range(0)));
  std::vector<BlockSlice> pieces;
  size_t glue = 0, wire = 0;
  for (auto _ : state) {
    history_answer("dev", events, true, "page-2", pieces);
    benchmark::DoNotOptimize(pieces.data());
    glue = pieces[0].block->size();
  }
  for (const BlockSlice& p : pieces) wire += p.len;
  state.counters["bytes_copied"] = double(glue);
  state.counters["bytes_allocated"] = double(glue);
  state.counters["answer_bytes"] = double(wire);
  state.counters["pieces"] = double(pieces.size());
  state.SetItemsProcessed(int64_t(state.iterations()) * int64_t(kEvents));
}
BENCHMARK(BM_HistoryBuildSlices)->Arg(32)->Arg(1024);

// Arg 1: 0 the copy path, 1 slices.
void BM_HistoryFlush(benchmark::State& state) {
  const std::vector<BlockRef> events = ring_events(size_t(state.range(0)));
  const bool slices = state.range(1) != 0;
  TcpPair tcp;
  if (!tcp.ok) return state.SkipWithError("no loopback pair");
  OutputQueue q;
  FlushScratch scratch;
  std::vector<BlockSlice> pieces;
  std::vector<char> buf(1 << 20);
  size_t copied = 0, wire = 0, built = 0, writes = 0, iovecs = 0;
  for (auto _ : state) {
    if (slices) {
      history_answer("dev", events, true, "page-2", pieces);
      built = pieces[0].block->size();
      q.push_message(pieces);
    } else {
      BlockRef answer = encode_history("dev", events, true, "page-2");
      built = answer->size();
      q.push(std::move(answer));
    }
    wire = q.bytes();
    FlushResult r = q.flush(tcp.writer.get(), SIZE_MAX, &scratch);
    if (r.error || !q.empty()) return state.SkipWithError("short write");
    copied = built + r.copied;
    writes = r.writes;
    iovecs = r.iovecs;
    if (!tcp.drain(r.written, buf)) return state.SkipWithError("recv failed");
  }
  state.counters["bytes_copied"] = double(copied);
  state.counters["answer_bytes"] = double(wire);
  state.counters["writev"] = double(writes);
  state.counters["iovecs"] = double(iovecs);
  state.SetItemsProcessed(int64_t(state.iterations()) * int64_t(kEvents));
}
BENCHMARK(BM_HistoryFlush)->ArgNames({"text", "slices"})->ArgsProduct({{32, 1024}, {0, 1}});

}  // namespace
}  // namespace chatd
