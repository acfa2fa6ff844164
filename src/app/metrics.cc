#include "app/metrics.h"

#include <cinttypes>
#include <cstdio>

namespace chatd {

namespace {

// The commit latency as a Prometheus histogram: cumulative buckets in seconds.
void add_commit_histogram(std::string& out, const StoreStats& st) {
  out +=
      "# HELP chatd_store_commit_seconds Time from a turn's commit to its events being stored.\n"
      "# TYPE chatd_store_commit_seconds histogram\n";
  char line[160];
  uint64_t cumulative = 0;
  for (size_t i = 0; i < kCommitLatencyBoundsUs.size(); ++i) {
    cumulative += st.latency_buckets[i];
    snprintf(line, sizeof line, "chatd_store_commit_seconds_bucket{le=\"%g\"} %" PRIu64 "\n",
             double(kCommitLatencyBoundsUs[i]) / 1e6, cumulative);
    out += line;
  }
  cumulative += st.latency_buckets.back();
  snprintf(line, sizeof line,
           "chatd_store_commit_seconds_bucket{le=\"+Inf\"} %" PRIu64
           "\nchatd_store_commit_seconds_sum %g\nchatd_store_commit_seconds_count %" PRIu64 "\n",
           cumulative, double(st.latency_sum_us) / 1e6, st.latency_count);
  out += line;
}

}  // namespace

void append_metric(std::string& out, const char* name, const char* type, const char* help,
                   uint64_t v) {
  char line[320];
  snprintf(line, sizeof line, "# HELP chatd_%s %s\n# TYPE chatd_%s %s\nchatd_%s %" PRIu64 "\n",
           name, help, name, type, name, v);
  out += line;
}

std::string render_metrics(const Metrics& m, const StoreStats& store) {
  std::string out;
  out.reserve(2048);
  append_metric(out, "connections_open", "gauge", "TCP connections open.", m.connections_open);
  append_metric(out, "connections_accepted_total", "counter", "TCP connections accepted.",
                m.connections_accepted);
  append_metric(out, "connections_refused_total", "counter",
                "Connections closed at once for --max-conn or --max-conn-per-ip.",
                m.connections_refused);
  append_metric(out, "websockets_open", "gauge", "Connections in the WebSocket phase.",
                m.websockets_open);
  append_metric(out, "joined_users", "gauge",
                "Connections with a nick (in at least one room, or were).", m.joined_users);
  append_metric(out, "rooms", "gauge", "Rooms in memory, with members or at rest.", m.rooms);
  append_metric(out, "rooms_occupied", "gauge", "Rooms with members.", m.rooms_occupied);
  append_metric(out, "room_members", "gauge", "Members of all rooms together.", m.memberships);
  append_metric(out, "replayed_events_total", "counter", "Events sent to joiners as their replay.",
                m.replayed_events);
  append_metric(out, "history_requests_total", "counter", "history requests answered.",
                m.history_requests);
  append_metric(out, "unavailable_total", "counter",
                "Requests answered unavailable (store refused).", m.unavailable);
  append_metric(out, "store_up", "gauge", "1 when the last commit succeeded.", m.store_ok ? 1 : 0);
  append_metric(out, "store_failed_commits_total", "counter", "Commits the store refused.",
                m.store_errors);
  append_metric(out, "store_errors_total", "counter",
                "Failed commits, reads and prunes in the store.", store.store_errors);
  append_metric(out, "store_commits_total", "counter", "Transactions that stored events.",
                store.commits);
  append_metric(out, "store_events_stored_total", "counter", "Events stored.", store.events_stored);
  append_metric(out, "store_events_pruned_total", "counter", "Events deleted by retention.",
                store.events_pruned);
  append_metric(out, "store_db_bytes", "gauge", "Size of the database file (0 for memory).",
                store.db_bytes);
  add_commit_histogram(out, store);
  append_metric(out, "messages_in_total", "counter", "WebSocket text messages received.",
                m.messages_in);
  append_metric(out, "events_out_total", "counter",
                "Events delivered, one per event per recipient.", m.events_out);
  append_metric(out, "frames_written_total", "counter", "WebSocket frames queued for writing.",
                m.frames_written);
  append_metric(out, "bytes_written_total", "counter", "Bytes written to sockets.",
                m.bytes_written);
  append_metric(out, "slow_consumers_dropped_total", "counter",
                "Connections closed with 1008 because their unsent output passed --max-backlog.",
                m.slow_consumers_dropped);
  append_metric(out, "rejected_handshakes_total", "counter", "WebSocket handshakes refused.",
                m.rejected_handshakes);
  append_metric(out, "http_requests_total", "counter", "HTTP requests handled.", m.http_requests);
  append_metric(out, "protocol_errors_total", "counter",
                "WebSocket connections failed for a protocol error (1002, 1003, 1007, 1009).",
                m.protocol_errors);
  return out;
}

}  // namespace chatd
