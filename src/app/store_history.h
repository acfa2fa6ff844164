// StoreHistory: the chat engine's HistorySource over the event store, and
// the one place where chat's events and the store's records are converted
// into each other (chat never includes store/).
#pragma once

#include "chat/history_source.h"
#include "store/event_store.h"

namespace chatd {

// The store's record of a numbered event of room `room` with `epoch`.
EventRecord to_record(const NumberedEvent& e, std::string_view room, std::string_view epoch);

class StoreHistory final : public HistorySource {
 public:
  explicit StoreHistory(EventStore* store) : store_(store) {}
  bool head(std::string_view room, PastRoom* out) override;
  bool read(std::string_view room, uint64_t after, uint64_t before, size_t limit,
            std::vector<PastEvent>* out) override;

 private:
  EventStore* store_;
};

}  // namespace chatd
