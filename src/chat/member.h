// Member: one member of a room, as the room stores it.
#pragma once

#include <cstdint>
#include <string_view>

#include "base/block.h"

namespace chatd {

// The app's name for a connection (its slot and the slot's generation, so a
// reused slot is a different member); the chat layer only compares it.
using MemberId = uint64_t;
// No local connection: an event nobody here caused, or a member on another node.
inline constexpr MemberId kNoMember = UINT64_MAX;

// A nick's bytes in a shared block: one allocation per connection, however
// many rooms it is in. Null only if malloc fails.
inline BlockRef make_nick(std::string_view nick) {
  BlockRef b = BlockRef::make(nick.size());
  if (b) b.append(nick);
  return b;
}

// 16 bytes: a connection in 32 rooms holds one copy of its nick, not 32.
struct Member {
  MemberId id;
  BlockRef nick_block;  // trimmed and validated; shared with the holder's other rooms

  std::string_view nick() const { return nick_block ? nick_block->view() : std::string_view(); }
};

}  // namespace chatd
