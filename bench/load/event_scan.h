// Reads just what the load generator needs from a server event, without a
// JSON parser: the type, the event id, and for our own messages the send time
// and sender embedded in the text. This is sound only because the load
// generator writes every nick and text itself (no quotes, no escapes), so a
// key pattern such as "id": can only be a key. The scans hop from quote to
// quote with memchr (a 1 KiB text is one vector pass), so the generator stays
// well ahead of the server it measures.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace chatd::load {

enum class EventKind : uint8_t { msg, system, welcome, error, other };

struct ScannedEvent {
  EventKind kind = EventKind::other;
  bool has_id = false;
  uint64_t id = 0;
  // msg only, when the text is one of ours ("<send_us> <sender> xxx..."):
  bool ours = false;
  int64_t send_us = 0;
  uint32_t sender = 0;
  // welcome only (protocol v2; absent from a v1 welcome): the room's newest
  // id before the join, whether it is a resume, and the epoch (a view into
  // the scanned text).
  uint64_t last_id = 0;
  bool resumed = false;
  std::string_view epoch;
};

// Scans one text message from the server.
ScannedEvent scan_event(const char* p, size_t n);

// The value of the event's "room" (protocol v2), or empty if it has none.
std::string_view scan_room(const char* p, size_t n);

// Writes the text of message `seq` into out[0, size): the send time in
// microseconds, the sender index, then 'x' padding. Returns the bytes written
// (size, or more if size is too small to hold the numbers).
size_t format_text(char* out, size_t size, int64_t send_us, uint32_t sender);

}  // namespace chatd::load
