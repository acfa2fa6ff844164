// Fan-out without sockets: one shared event block pushed to 1,000
// connections' output queues, then every queue cleared (what a flush that
// wrote everything leaves behind). The cost per recipient is one reference.
#include <benchmark/benchmark.h>

#include <vector>

#include "chat/json_writer.h"
#include "net/output_queue.h"

namespace chatd {
namespace {

void BM_FanoutPush(benchmark::State& state) {
  const size_t members = size_t(state.range(0));
  std::vector<OutputQueue> queues(members);
  BlockRef event = encode_msg("general", "alice", "hello, world", 42, 1764100000456);
  for (auto _ : state) {
    for (OutputQueue& q : queues) q.push(event);
    for (OutputQueue& q : queues) q.clear();
  }
  state.SetItemsProcessed(int64_t(state.iterations()) * int64_t(members));
}
BENCHMARK(BM_FanoutPush)->Arg(1000);

// Several events queued before one flush (a busy room: about 18 per turn
// at window 2, 80 at window 8): pushes reuse the entry array kept from the
// last turn (up to OutputQueue::kKeepEntries), and drop_unstarted() drops
// the references the way a flush that wrote everything does, keeping it.
void BM_FanoutPushBurst(benchmark::State& state) {
  const size_t members = 1000, burst = size_t(state.range(0));
  std::vector<OutputQueue> queues(members);
  BlockRef event = encode_msg("general", "alice", "hello, world", 42, 1764100000456);
  for (auto _ : state) {
    for (size_t e = 0; e < burst; ++e)
      for (OutputQueue& q : queues) q.push(event);
    for (OutputQueue& q : queues) q.drop_unstarted();
  }
  state.SetItemsProcessed(int64_t(state.iterations()) * int64_t(members * burst));
}
BENCHMARK(BM_FanoutPushBurst)->Arg(8)->Arg(18)->Arg(80);

}  // namespace
}  // namespace chatd
