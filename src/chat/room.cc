#include "chat/room.h"

#include <cassert>

#include "chat/rules.h"

namespace chatd {

void Room::join(MemberId id, std::string_view nick) {
  assert(!find(id) && !find_nick(nick));
  if (id >= index_.size()) index_.resize(size_t(id) + 1, kAbsent);
  index_[id] = uint32_t(members_.size());
  members_.push_back(Member{id, std::string(nick)});
}

std::optional<Member> Room::leave(MemberId id) {
  if (!find(id)) return std::nullopt;
  size_t at = index_[id];
  Member gone = std::move(members_[at]);
  members_.erase(members_.begin() + at);
  index_[id] = kAbsent;
  for (size_t i = at; i < members_.size(); ++i) index_[members_[i].id] = uint32_t(i);
  return gone;
}

const Member* Room::find_nick(std::string_view nick) const {
  for (const Member& m : members_) {
    if (nick_equal(m.nick, nick)) return &m;
  }
  return nullptr;
}

const Member* Room::find(MemberId id) const {
  if (id >= index_.size() || index_[id] == kAbsent) return nullptr;
  return &members_[index_[id]];
}

}  // namespace chatd
