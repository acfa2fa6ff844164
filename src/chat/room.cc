#include "chat/room.h"

#include <algorithm>
#include <cassert>

#include "chat/rules.h"

namespace chatd {

void Room::join(MemberId id, std::string_view nick) {
  assert(!find(id) && !find_nick(nick));
  members_.push_back(Member{id, std::string(nick)});
}

std::optional<Member> Room::leave(MemberId id) {
  auto it =
      std::find_if(members_.begin(), members_.end(), [id](const Member& m) { return m.id == id; });
  if (it == members_.end()) return std::nullopt;
  Member gone = std::move(*it);
  members_.erase(it);
  return gone;
}

const Member* Room::find_nick(std::string_view nick) const {
  for (const Member& m : members_) {
    if (nick_equal(m.nick, nick)) return &m;
  }
  return nullptr;
}

const Member* Room::find(MemberId id) const {
  for (const Member& m : members_) {
    if (m.id == id) return &m;
  }
  return nullptr;
}

}  // namespace chatd
