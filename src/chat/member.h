// Member: one member of a room, as the room stores it.
#pragma once

#include <cstdint>
#include <string>

namespace chatd {

// The app's name for a connection (its slot and the slot's generation, so a
// reused slot is a different member); the chat layer only compares it.
using MemberId = uint64_t;
// No local connection: an event nobody here caused, or a member on another node.
inline constexpr MemberId kNoMember = UINT64_MAX;

struct Member {
  MemberId id;
  std::string nick;  // trimmed and validated; allocated once, at join
};

}  // namespace chatd
