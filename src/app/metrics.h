// Counters behind GET /metrics. Plain data owned by the Server; the hot path
// only increments integers, and the text is rendered on request.
#pragma once

#include <cstdint>
#include <string>

#include "store/store_stats.h"

namespace chatd {

struct Metrics {
  uint64_t connections_open = 0;
  uint64_t connections_accepted = 0;
  uint64_t connections_refused = 0;  // over --max-conn / --max-conn-per-ip
  uint64_t websockets_open = 0;
  uint64_t joined_users = 0;
  uint64_t messages_in = 0;  // WebSocket text messages received
  uint64_t events_out = 0;   // events delivered: one per event per recipient
  uint64_t frames_written =
      0;  // frames queued to sockets (events, replies, control; a fragmented message once)
  uint64_t bytes_written = 0;  // bytes accepted by writev
  uint64_t slow_consumers_dropped = 0;
  uint64_t rejected_handshakes = 0;
  uint64_t http_requests = 0;
  uint64_t protocol_errors = 0;  // connections failed with 1002/1003/1007/1009
  uint64_t rooms = 0;            // rooms in memory, with members or at rest
  uint64_t rooms_occupied = 0;   // rooms some connection is in
  uint64_t memberships = 0;      // members of all rooms together
  uint64_t replayed_events = 0;  // events sent as a joiner's replay
  uint64_t history_requests = 0;
  uint64_t unavailable = 0;   // requests answered `unavailable` (the store refused)
  uint64_t store_errors = 0;  // failed commits
  bool store_ok = true;       // the last commit succeeded
};

// Appends one metric chatd_<name> of `type` (counter, gauge) with its HELP
// line, in the Prometheus text exposition format, version 0.0.4.
void append_metric(std::string& out, const char* name, const char* type, const char* help,
                   uint64_t v);

// Renders the counters, and the store's, in the Prometheus text exposition
// format, version 0.0.4.
std::string render_metrics(const Metrics& m, const StoreStats& store);

}  // namespace chatd
