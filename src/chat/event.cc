#include "chat/event.h"

#include "chat/json_writer.h"

namespace chatd {

BlockRef encode_event(std::string_view room, EventKind kind, uint64_t id, int64_t ts,
                      std::string_view nick, std::string_view text) {
  if (kind == EventKind::msg) return encode_msg(room, nick, text, id, ts);
  return encode_system(room, kind == EventKind::join, nick, id, ts);
}

}  // namespace chatd
