// StoreCounters: the StoreStats counters as atomics, because with --fsync the
// writer thread counts while the loop reads them for /metrics. Relaxed
// order: each is a counter on its own, and /metrics needs no snapshot across
// them.
#pragma once

#include <atomic>
#include <cstdint>

#include "store/store_stats.h"

namespace chatd {

struct StoreCounters {
  std::atomic<uint64_t> commits{0}, events_stored{0}, store_errors{0}, events_pruned{0};
  std::atomic<uint64_t> latency_sum_us{0}, latency_count{0};
  std::array<std::atomic<uint64_t>, kCommitLatencyBoundsUs.size() + 1> latency_buckets{};

  static void add(std::atomic<uint64_t>& c, uint64_t n) {
    c.fetch_add(n, std::memory_order_relaxed);
  }

  // Counts one batch that took `us` microseconds from commit() to its end.
  void latency(uint64_t us) {
    add(latency_buckets[latency_bucket(us)], 1);
    add(latency_sum_us, us);
    add(latency_count, 1);
  }

  // The counters now (db_bytes left 0 for the caller to fill).
  StoreStats snapshot() const {
    auto get = [](const std::atomic<uint64_t>& c) { return c.load(std::memory_order_relaxed); };
    StoreStats s;
    s.commits = get(commits);
    s.events_stored = get(events_stored);
    s.store_errors = get(store_errors);
    s.events_pruned = get(events_pruned);
    for (size_t i = 0; i < latency_buckets.size(); ++i)
      s.latency_buckets[i] = get(latency_buckets[i]);
    s.latency_sum_us = get(latency_sum_us);
    s.latency_count = get(latency_count);
    return s;
  }
};

}  // namespace chatd
