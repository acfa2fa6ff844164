#include "chat/event.h"

#include "chat/json_writer.h"

namespace chatd {

BlockRef encode_event(const Event& e) {
  if (e.kind == EventKind::msg) return encode_msg(e.nick, e.text, e.id, e.ts);
  return encode_system(e.kind == EventKind::join, e.nick, e.id, e.ts);
}

}  // namespace chatd
