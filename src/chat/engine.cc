#include "chat/engine.h"

#include <algorithm>
#include <cassert>

#include "chat/event.h"
#include "chat/json_writer.h"
#include "chat/rules.h"

namespace chatd {

ChatEngine::ChatEngine(const ChatLimits& limits) : limits_(limits), reader_(limits.max_message) {
  for (size_t e = 1; e < kChatErrorCount; ++e) error_frames_[e] = encode_error(ChatError(e));
}

ChatEngine::Outcome ChatEngine::fail(ChatError e) {
  ++counters_.errors;
  return {error_frames_[size_t(e)], {}};
}

ChatEngine::Outcome ChatEngine::on_text(Session& s, MemberId id, const uint8_t* json, size_t len,
                                        int64_t wall_ms, int64_t mono_ms) {
  ++counters_.messages_in;
  ParsedMessage m = reader_.parse(json, len);
  if (m.error != ChatError::none) return fail(m.error);
  if (m.type == MsgType::join) return join(s, id, m.nick, wall_ms);
  return msg(s, id, m.msg, wall_ms, mono_ms);
}

ChatEngine::Outcome ChatEngine::join(Session& s, MemberId id, std::string_view nick,
                                     int64_t wall_ms) {
  if (s.joined) return fail(ChatError::already_joined);
  std::optional<std::string_view> trimmed = validate_nick(nick);
  if (!trimmed) return fail(ChatError::nick_invalid);
  if (room_.find_nick(*trimmed)) return fail(ChatError::nick_taken);
  room_.join(id, *trimmed);
  s.joined = true;
  // The stored copy outlives the parser's buffer; encode from it.
  std::string_view stored = room_.members().back().nick;
  Outcome out;
  out.reply = encode_welcome(stored, room_.members());
  out.broadcast = encode_event({EventKind::join, room_.take_event_id(), wall_ms, stored, {}});
  ++counters_.events;
  return out;
}

ChatEngine::Outcome ChatEngine::msg(Session& s, MemberId id, std::string_view text, int64_t wall_ms,
                                    int64_t mono_ms) {
  if (!s.joined) return fail(ChatError::not_joined);
  if (!validate_msg(text)) return fail(ChatError::msg_invalid);
  if (!s.bucket.take(mono_ms, limits_.rate_per_sec, limits_.burst)) {
    ++counters_.rate_limited;
    return fail(ChatError::rate_limited);
  }
  const Member* me = room_.find(id);
  assert(me && "a joined session's member is in the room");
  Outcome out;
  out.broadcast = encode_event({EventKind::msg, room_.take_event_id(), wall_ms, me->nick, text});
  ++counters_.events;
  return out;
}

BlockRef ChatEngine::on_disconnect(Session& s, MemberId id, int64_t wall_ms) {
  if (!s.joined) return {};
  s.joined = false;
  std::optional<Member> gone = room_.leave(id);
  assert(gone && "a joined session's member is in the room");
  if (!gone) return {};
  ++counters_.events;
  return encode_event({EventKind::leave, room_.take_event_id(), wall_ms, gone->nick, {}});
}

}  // namespace chatd
