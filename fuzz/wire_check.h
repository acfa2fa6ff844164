// The invariants the whole-server fuzz target checks on what the server
// wrote to each fake socket (its whole output, after the run).
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>

namespace fuzz {

// Events seen across all connections: the same room and id must carry the
// same bytes everywhere (one counter per room, one shared block per event).
struct EventLog {
  std::unordered_map<std::string, std::string> by_room_id;  // "room/id" -> payload
};

// Checks one connection's output and aborts on a violation: it is a sequence
// of HTTP/1.1 responses, and after a 101 only valid server frames (unmasked,
// no RSV bits, text/continuation/ping/pong/close, FIN on all but the
// fragments of a text message, a continuation only inside one, nothing but
// control frames between them and no close) where every text message is one
// UTF-8 JSON object, each room's event ids rise by one from the connection's first
// event of that room (a welcome starts the room afresh: its replay may hold
// older ids), and nothing follows a close frame. A
// truncated tail (the connection died mid-write) is accepted.
void check_output(const std::string& out, EventLog& log);

}  // namespace fuzz
