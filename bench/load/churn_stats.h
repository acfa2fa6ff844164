// What a churn run counts, and its report: a few human lines, then one JSON
// object on the last line, like the other modes.
#pragma once

#include <array>
#include <cstdint>

#include "histogram.h"
#include "options.h"

namespace chatd::load {

struct ChurnStats {
  // sessions
  uint64_t sessions_started = 0, sessions_joined = 0;
  uint32_t joined_now = 0, joined_peak = 0;
  std::array<uint64_t, 4> leaves{};  // by close frame, RST, FIN, read stall
  uint64_t clean_closes = 0;         // close frames echoed with 1000
  // traffic
  uint64_t sent = 0, deliveries = 0;
  LatencyHistogram latency;  // own messages, send to receipt
  // checks: every one of these must stay 0
  uint64_t gaps = 0, duplicates = 0, first_event_mismatch = 0, order_mismatch = 0;
  uint64_t lost_acks = 0, errors = 0, protocol_surprises = 0;
  uint64_t setup_failures = 0, setup_timeouts = 0, close_timeouts = 0, unexpected_closes = 0;
  uint64_t join_events_missing = 0, leave_mismatch = 0;
  uint16_t last_close_code = 0;
  bool observer_joined = false, observer_lost = false, all_left = false;
  uint64_t leave_events = 0;
  // times (CLOCK_MONOTONIC us), own CPU, server memory (KiB, -1 unknown)
  int64_t t0 = 0, t_stop = 0, t_end = 0;
  double cpu0 = 0, cpu1 = 0;
  long rss_start_kib = -1, rss_peak_kib = -1, rss_end_kib = -1;
};

// Prints the report; returns 0 if every check passed, else 1.
int print_churn_report(const Options& opt, const ChurnStats& s);

}  // namespace chatd::load
