// HistorySource: where the engine finds a room's events that its ring no
// longer holds. The app implements it over the event store; the chat layer
// never learns what the store is.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "chat/event.h"

namespace chatd {

// One event read back from the store, owning its bytes.
struct PastEvent {
  EventKind kind = EventKind::msg;
  uint64_t id = 0;
  int64_t ts = 0;
  std::string nick;
  std::string text;
};

// What the store knows of a room the engine has not in memory.
struct PastRoom {
  std::string epoch;
  uint64_t last_id = 0;
  uint64_t first_id = 0;  // the oldest event kept; last_id + 1 when none is
};

class HistorySource {
 public:
  virtual ~HistorySource() = default;
  // The room's epoch and ids in the store; false when it holds no such room.
  virtual bool head(std::string_view room, PastRoom* out) = 0;
  // Appends to *out the newest `limit` events of room with after < id <
  // before, oldest first. Returns false when the read failed (an I/O
  // error): what it appended may be short, and is no answer to give as
  // "no more".
  virtual bool read(std::string_view room, uint64_t after, uint64_t before, size_t limit,
                    std::vector<PastEvent>* out) = 0;
};

}  // namespace chatd
