// Member: one joined user of the room, as the room stores it.
#pragma once

#include <cstdint>
#include <string>

namespace chatd {

// The app's connection slot; the chat layer only compares it.
using MemberId = uint32_t;

struct Member {
  MemberId id;
  std::string nick;  // trimmed and validated; allocated once, at join
};

}  // namespace chatd
