// The store's cost per loop turn: one commit of a batch of `range(0)` events
// (100-byte texts, spread over 500 rooms) on a temporary file. "normal" is
// the default (synchronous=NORMAL, committed on the calling thread); "fsync"
// hands each batch to the writer thread and waits for its completion on the
// eventfd, so its time per iteration is the latency a sender sees with
// --fsync on this disk. Put the file on the disk chatd would use:
// STORE_BENCH_DIR (default /tmp). worst_commit_call_us: the longest single
// commit() call of the run, the loop's worst stall.
#include <benchmark/benchmark.h>
#include <poll.h>
#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <string>

#include "store/sqlite_store.h"

namespace chatd {
namespace {

void run(benchmark::State& state, bool fsync) {
  const char* base = getenv("STORE_BENCH_DIR");
  std::string tmpl = std::string(base ? base : "/tmp") + "/chatd-store-bench-XXXXXX";
  if (!mkdtemp(tmpl.data())) {
    state.SkipWithError("mkdtemp failed");
    return;
  }
  {
    SqliteOptions o;
    o.fsync = fsync;
    o.retention.max_events = 0;
    std::string error;
    auto s = SqliteStore::open(tmpl + "/bench.db", o, &error);
    if (!s) {
      state.SkipWithError(error.c_str());
      return;
    }
    std::string text(100, 'x');
    std::vector<std::string> rooms;
    for (int r = 0; r < 500; ++r) rooms.push_back("room" + std::to_string(r));
    std::vector<uint64_t> next(rooms.size(), 1);
    std::vector<BatchDone> done;
    size_t turn = 0;
    std::chrono::steady_clock::duration worst{};
    for (auto _ : state) {
      for (int64_t i = 0; i < state.range(0); ++i) {
        size_t r = (turn * size_t(state.range(0)) + size_t(i)) % rooms.size();
        s->append(EventRecord{rooms[r], "ep", next[r]++, 1'700'000'000'000, StoredKind::msg, "nick",
                              text});
      }
      ++turn;
      std::string error;
      auto start = std::chrono::steady_clock::now();
      bool ok = s->commit(&error);
      // The longest single commit() call: how long the loop could stall.
      worst = std::max(worst, std::chrono::steady_clock::now() - start);
      if (!ok) {
        state.SkipWithError(error.c_str());
        break;
      }
      while (fsync && done.empty()) {
        pollfd p{s->completion_fd(), POLLIN, 0};
        poll(&p, 1, -1);
        s->take_done(&done);
      }
      done.clear();
    }
    state.SetItemsProcessed(int64_t(state.iterations()) * state.range(0));
    state.counters["worst_commit_call_us"] =
        double(std::chrono::duration_cast<std::chrono::microseconds>(worst).count());
  }
  std::filesystem::remove_all(tmpl);
}

void BM_StoreCommitNormal(benchmark::State& state) {
  run(state, false);
}
void BM_StoreCommitFsync(benchmark::State& state) {
  run(state, true);
}
BENCHMARK(BM_StoreCommitNormal)->Arg(1)->Arg(10)->Arg(100)->UseRealTime();
BENCHMARK(BM_StoreCommitFsync)->Arg(1)->Arg(10)->Arg(100)->UseRealTime();

}  // namespace
}  // namespace chatd
