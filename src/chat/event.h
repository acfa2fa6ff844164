// Events: what every joined member receives (PROTOCOL.md: system join/leave
// and msg), as plain values encoded once into one shared frame.
#pragma once

#include <cstdint>
#include <string_view>

#include "base/block.h"

namespace chatd {

enum class EventKind : uint8_t { join, leave, msg };

struct Event {
  EventKind kind;
  uint64_t id;  // the room's counter, consecutive over all events
  int64_t ts;   // wall clock, ms since the Unix epoch
  std::string_view nick;
  std::string_view text;  // msg: the message as sent; join/leave: unused (the
                          // text "<nick> joined|left" is composed while encoding)
};

// Encodes e into one whole text frame, shared as is by every recipient.
// Null only if malloc fails.
BlockRef encode_event(const Event& e);

}  // namespace chatd
