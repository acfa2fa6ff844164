// Rooms for the load generator (protocol v2): the room a client is in, the
// join and msg requests that name it, and the cross-receiver check that every
// member of a room saw the same event under each id. Room k is named "rk";
// with no rooms (0) the requests are exactly version 1's.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace chatd::load {

inline constexpr size_t kMaxRequestHead = 256;  // a join or a msg head, with room and epoch

// The room of client `index` when `rooms` rooms share the clients in turn
// (index mod rooms), so rooms differ in size by at most one.
inline uint32_t room_of(uint32_t index, uint32_t rooms) {
  return rooms ? index % rooms : 0;
}

// Writes the join of nick <prefix><index> into out (at least kMaxRequestHead
// bytes): with "room":"r<room>" when rooms_on, and "since"/"epoch" when epoch
// is not empty (a resume). Returns its length.
size_t format_join(char* out, char prefix, uint32_t index, bool rooms_on, uint32_t room,
                   uint64_t since = 0, std::string_view epoch = {});

// Writes the start of a msg request up to the opening quote of its text,
// with "room":"r<room>" when rooms_on; returns its length.
size_t format_msg_head(char* out, bool rooms_on, uint32_t room);

// Writes "r<room>" into out (at least 12 bytes); returns its length.
size_t format_room(char* out, uint32_t room);

// A 64-bit fingerprint of one event's bytes (never 0), eight bytes at a time:
// cheap enough to run on every delivery.
uint64_t event_hash(const char* p, size_t n);

// The first fingerprint any receiver saw under each (room, id); a later
// receiver of the same id must have the same one. Grows with the ids of a
// run (8 bytes per event per room), bounded by kMaxSpan per room.
class RoomOrder {
 public:
  static constexpr uint64_t kMaxSpan = uint64_t(1) << 24;

  explicit RoomOrder(uint32_t rooms) : logs_(rooms ? rooms : 1) {}

  // Records or compares the fingerprint of (room, id); false when another
  // receiver saw a different event under that id. Ids further than kMaxSpan
  // from the first one seen are not checked (true).
  bool check(uint32_t room, uint64_t id, uint64_t hash);

 private:
  struct Log {
    uint64_t base = 0;             // id of hashes[0]
    std::vector<uint64_t> hashes;  // 0: no receiver has seen that id yet
  };
  std::vector<Log> logs_;
};

}  // namespace chatd::load
