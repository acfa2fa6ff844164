// The invariants the whole-server fuzz target checks on what the server
// wrote to each fake socket (its whole output, after the run).
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>

namespace fuzz {

// Events seen across all connections: the same id must carry the same bytes
// everywhere (one server-wide counter, one shared block per event).
struct EventLog {
  std::unordered_map<uint64_t, std::string> by_id;
};

// Checks one connection's output and aborts on a violation: it is a sequence
// of HTTP/1.1 responses, and after a 101 only valid server frames (unmasked,
// FIN, no RSV bits, text/ping/pong/close) where every text frame is one UTF-8
// JSON object, event ids rise by one, and nothing follows a close frame. A
// truncated tail (the connection died mid-write) is accepted.
void check_output(const std::string& out, EventLog& log);

}  // namespace fuzz
