// MemoryStore: the EventStore of `--db :memory:`. It keeps nothing of its own:
// a room's history is what the room's in-memory ring holds, and a restart
// forgets everything (every room starts again with a new epoch). Reads
// therefore find nothing past the ring, and commits always succeed.
#pragma once

#include "store/event_store.h"

namespace chatd {

class MemoryStore final : public EventStore {
 public:
  void append(const EventRecord&) override {}
  bool commit(std::string*) override { return true; }
  std::vector<StoredEvent> read(std::string_view, uint64_t, uint64_t, size_t) override {
    return {};
  }
  std::vector<RoomHead> heads() override { return {}; }
  bool head(std::string_view, RoomHead*) override { return false; }
  bool durable() const override { return false; }
};

}  // namespace chatd
