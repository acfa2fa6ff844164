// StoreStats: what a store counts, as plain numbers for /metrics to render.
// The store keeps them; the app copies them out with EventStore::stats().
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace chatd {

// Upper bounds (inclusive, microseconds) of the commit latency buckets; one
// more bucket past the last holds everything slower (Prometheus' +Inf).
inline constexpr std::array<uint64_t, 12> kCommitLatencyBoundsUs = {
    50, 100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000};

struct StoreStats {
  uint64_t commits = 0;        // transactions that held at least one event and succeeded
  uint64_t events_stored = 0;  // events in those transactions
  uint64_t store_errors = 0;   // failed commits, failed reads and failed prunes
  uint64_t events_pruned = 0;  // events deleted by retention
  uint64_t db_bytes = 0;       // page_count * page_size of the database (0 for memory)
  // Commit latency: from commit() to the batch being durable (with --fsync
  // this includes the wait in the writer's queue), one count per committed
  // or failed batch. latency_buckets[i] counts those with latency <=
  // kCommitLatencyBoundsUs[i] and above the bound before it (NOT cumulative:
  // a Prometheus renderer sums them up); the last slot counts the rest.
  std::array<uint64_t, kCommitLatencyBoundsUs.size() + 1> latency_buckets{};
  uint64_t latency_sum_us = 0;
  uint64_t latency_count = 0;
};

// The bucket index of a latency of `us` microseconds in latency_buckets.
inline size_t latency_bucket(uint64_t us) {
  size_t i = 0;
  while (i < kCommitLatencyBoundsUs.size() && us > kCommitLatencyBoundsUs[i]) ++i;
  return i;
}

}  // namespace chatd
