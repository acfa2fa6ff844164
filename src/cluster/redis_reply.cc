#include "cluster/redis_reply.h"

#include <strings.h>

namespace chatd {
namespace {

std::string_view text(const redisReply* r) {
  return r->str ? std::string_view(r->str, r->len) : std::string_view();
}

bool is_string(const redisReply* r) {
  return r && r->type == REDIS_REPLY_STRING;
}

bool equals_nocase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}

// A decimal id: 1..2^63-1, digits only, no leading zero.
bool parse_id(std::string_view s, uint64_t& out) {
  if (s.empty() || s.size() > 18 || s.front() == '0') return false;
  uint64_t n = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    n = n * 10 + uint64_t(c - '0');
  }
  out = n;
  return true;
}

}  // namespace

bool decode_pubsub(const redisReply* reply, PubSubMessage& out) {
  if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements < 3 || !reply->element)
    return false;
  redisReply* const* e = reply->element;
  if (!is_string(e[0])) return false;
  std::string_view kind = text(e[0]);
  out = PubSubMessage{};
  if (equals_nocase(kind, "message")) {
    if (reply->elements != 3 || !is_string(e[1]) || !is_string(e[2])) return false;
    out.kind = PubSubMessage::Kind::message;
    out.channel = text(e[1]);
    out.payload = text(e[2]);
    return true;
  }
  if (equals_nocase(kind, "pmessage")) {
    if (reply->elements != 4 || !is_string(e[1]) || !is_string(e[2]) || !is_string(e[3]))
      return false;
    out.kind = PubSubMessage::Kind::pmessage;
    out.pattern = text(e[1]);
    out.channel = text(e[2]);
    out.payload = text(e[3]);
    return true;
  }
  struct Confirmation {
    std::string_view name;
    PubSubMessage::Kind kind;
  };
  static constexpr Confirmation kConfirmations[] = {
      {"subscribe", PubSubMessage::Kind::subscribe},
      {"unsubscribe", PubSubMessage::Kind::unsubscribe},
      {"psubscribe", PubSubMessage::Kind::psubscribe},
      {"punsubscribe", PubSubMessage::Kind::punsubscribe},
  };
  for (const Confirmation& c : kConfirmations) {
    if (!equals_nocase(kind, c.name)) continue;
    // An unsubscribe from nothing names a nil channel.
    if (reply->elements != 3 || !e[1] || !e[2] || e[2]->type != REDIS_REPLY_INTEGER) return false;
    if (e[1]->type == REDIS_REPLY_STRING) {
      out.channel = text(e[1]);
    } else if (e[1]->type != REDIS_REPLY_NIL) {
      return false;
    }
    if (e[2]->integer < 0) return false;
    out.kind = c.kind;
    out.count = e[2]->integer;
    return true;
  }
  return false;
}

ReplyStatus decode_publish_result(const redisReply* reply, PublishResult& out,
                                  std::string_view& error) {
  if (!reply) return ReplyStatus::bad_shape;
  if (reply->type == REDIS_REPLY_ERROR) {
    error = text(reply);
    return ReplyStatus::error_reply;
  }
  if (reply->type != REDIS_REPLY_ARRAY || reply->elements < 2 || !reply->element)
    return ReplyStatus::bad_shape;
  const redisReply* id = reply->element[0];
  const redisReply* epoch = reply->element[1];
  if (!id || id->type != REDIS_REPLY_INTEGER || id->integer < 1) return ReplyStatus::bad_shape;
  if (!is_string(epoch) || epoch->len == 0 || epoch->len > kMaxEpochBytes)
    return ReplyStatus::bad_shape;
  out.id = uint64_t(id->integer);
  out.epoch = text(epoch);
  return ReplyStatus::ok;
}

bool decode_event_payload(std::string_view payload, EventPayload& out) {
  size_t sp1 = payload.find(' ');
  if (sp1 == std::string_view::npos || sp1 == 0 || sp1 > kMaxEpochBytes) return false;
  size_t sp2 = payload.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos) return false;
  uint64_t id = 0;
  if (!parse_id(payload.substr(sp1 + 1, sp2 - sp1 - 1), id)) return false;
  if (sp2 + 1 >= payload.size()) return false;
  out.epoch = payload.substr(0, sp1);
  out.id = id;
  out.body = payload.substr(sp2 + 1);
  return true;
}

bool is_noscript(const redisReply* reply) {
  return reply && reply->type == REDIS_REPLY_ERROR && text(reply).substr(0, 9) == "NOSCRIPT ";
}

}  // namespace chatd
