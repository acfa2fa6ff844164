#include "app/metrics.h"

#include <cinttypes>
#include <cstdio>

namespace chatd {

namespace {

void add(std::string& out, const char* name, const char* type, const char* help, uint64_t v) {
  char line[256];
  snprintf(line, sizeof line, "# HELP chatd_%s %s\n# TYPE chatd_%s %s\nchatd_%s %" PRIu64 "\n",
           name, help, name, type, name, v);
  out += line;
}

}  // namespace

std::string render_metrics(const Metrics& m) {
  std::string out;
  out.reserve(2048);
  add(out, "connections_open", "gauge", "TCP connections open.", m.connections_open);
  add(out, "connections_accepted_total", "counter", "TCP connections accepted.",
      m.connections_accepted);
  add(out, "connections_refused_total", "counter",
      "Connections closed at once for --max-conn or --max-conn-per-ip.", m.connections_refused);
  add(out, "websockets_open", "gauge", "Connections in the WebSocket phase.", m.websockets_open);
  add(out, "joined_users", "gauge", "Connections with a nick (in at least one room, or were).",
      m.joined_users);
  add(out, "rooms", "gauge", "Rooms in memory, with members or at rest.", m.rooms);
  add(out, "rooms_occupied", "gauge", "Rooms with members.", m.rooms_occupied);
  add(out, "room_members", "gauge", "Members of all rooms together.", m.memberships);
  add(out, "replayed_events_total", "counter", "Events sent to joiners as their replay.",
      m.replayed_events);
  add(out, "history_requests_total", "counter", "history requests answered.", m.history_requests);
  add(out, "unavailable_total", "counter", "Requests answered unavailable (store refused).",
      m.unavailable);
  add(out, "store_errors_total", "counter", "Commits the store refused.", m.store_errors);
  add(out, "store_up", "gauge", "1 when the last commit succeeded.", m.store_ok ? 1 : 0);
  add(out, "messages_in_total", "counter", "WebSocket text messages received.", m.messages_in);
  add(out, "events_out_total", "counter", "Events delivered, one per event per recipient.",
      m.events_out);
  add(out, "frames_written_total", "counter", "WebSocket frames queued for writing.",
      m.frames_written);
  add(out, "bytes_written_total", "counter", "Bytes written to sockets.", m.bytes_written);
  add(out, "slow_consumers_dropped_total", "counter",
      "Connections closed with 1008 because their unsent output passed --max-backlog.",
      m.slow_consumers_dropped);
  add(out, "rejected_handshakes_total", "counter", "WebSocket handshakes refused.",
      m.rejected_handshakes);
  add(out, "http_requests_total", "counter", "HTTP requests handled.", m.http_requests);
  add(out, "protocol_errors_total", "counter",
      "WebSocket connections failed for a protocol error (1002, 1003, 1007, 1009).",
      m.protocol_errors);
  return out;
}

}  // namespace chatd
