// Fuzzes the Redis reply path as the async context runs it: hiredis' reader
// (with our bounded reply functions) fed the input at random read boundaries,
// then our decoders on every reply it yields (pub/sub pushes, the publish
// script's [id, epoch, ...], event payloads and their bodies, NOSCRIPT). The first input byte
// seeds the split points. Checks that pieces read exactly like the whole
// stream, that a decoded view points into its reply, and that decoders agree
// with the shape they claim.
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "cluster/redis_reply.h"
#include "cluster/reply_limits.h"
#include "event_body_check.h"
#include "fuzz_check.h"
#include "read_splitter.h"

using namespace chatd;

namespace {

// An owned, comparable rendering of a reply tree.
void summarize(const redisReply* r, std::string& out, int depth) {
  CHECK(depth <= 8);
  out += char('0' + r->type);
  switch (r->type) {
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
    case REDIS_REPLY_ERROR:
      CHECK(r->str != nullptr);
      out += std::to_string(r->len) + ":" + std::string(r->str, r->len);
      break;
    case REDIS_REPLY_INTEGER:
      out += std::to_string(r->integer);
      break;
    case REDIS_REPLY_ARRAY:
      CHECK(r->elements <= size_t(kMaxReplyElements));
      out += std::to_string(r->elements) + "[";
      for (size_t i = 0; i < r->elements; ++i) summarize(r->element[i], out, depth + 1);
      out += "]";
      break;
    case REDIS_REPLY_NIL:
      break;
    default:
      CHECK(false);
  }
}

bool within(std::string_view v, const redisReply* r) {
  return r && r->str && v.data() >= r->str && v.data() + v.size() <= r->str + r->len;
}

// Runs every decoder on one reply and checks what they claim.
void decode_all(const redisReply* r) {
  PubSubMessage m;
  if (decode_pubsub(r, m)) {
    CHECK(r->type == REDIS_REPLY_ARRAY);
    using K = PubSubMessage::Kind;
    if (m.kind == K::message) {
      CHECK(r->elements == 3);
      CHECK(within(m.channel, r->element[1]) && within(m.payload, r->element[2]));
    } else if (m.kind == K::pmessage) {
      CHECK(r->elements == 4);
      CHECK(within(m.pattern, r->element[1]) && within(m.channel, r->element[2]));
      CHECK(within(m.payload, r->element[3]));
    } else {
      CHECK(m.count >= 0 && m.payload.empty());
    }
    EventPayload e;
    if (decode_event_payload(m.payload, e)) {
      CHECK(e.id >= 1 && !e.epoch.empty() && e.epoch.size() <= kMaxEpochBytes);
      CHECK(!e.body.empty());
      CHECK(e.epoch.data() == m.payload.data());
      CHECK(e.body.data() + e.body.size() == m.payload.data() + m.payload.size());
      check_event_body(e.body);
    }
  }
  PublishResult p;
  std::string_view error;
  switch (decode_publish_result(r, p, error)) {
    case ReplyStatus::ok:
      CHECK(p.id >= 1 && !p.epoch.empty() && p.epoch.size() <= kMaxEpochBytes);
      CHECK(within(p.epoch, r->element[1]));
      break;
    case ReplyStatus::error_reply:
      CHECK(r->type == REDIS_REPLY_ERROR && within(error, r));
      break;
    case ReplyStatus::bad_shape:
      break;
  }
  if (is_noscript(r)) CHECK(r->type == REDIS_REPLY_ERROR);
  if (r->type == REDIS_REPLY_STRING) {
    // A log entry, as a sync reads it.
    EventPayload e;
    if (decode_event_payload(std::string_view(r->str, r->len), e)) check_event_body(e.body);
  }
}

struct Outcome {
  std::vector<std::string> replies;
  bool error = false;
};

// Reads `data` in pieces of 1..max_read bytes drawn from `seed` (whole when
// max_read is 0), collecting every reply and whether the reader failed.
Outcome read_stream(const uint8_t* data, size_t size, uint32_t seed, size_t max_read) {
  Outcome out;
  redisReader* reader = redisReaderCreate();
  bound_replies(reader);
  ReadSplitter split(seed, max_read ? max_read : 1);
  size_t pos = 0;
  while (pos < size && !out.error) {
    size_t n = max_read ? split.next(size - pos) : size - pos;
    if (redisReaderFeed(reader, reinterpret_cast<const char*>(data + pos), n) != REDIS_OK) {
      out.error = true;
      break;
    }
    pos += n;
    // As redisProcessCallbacks does: take every complete reply after each read.
    for (;;) {
      void* reply = nullptr;
      if (redisReaderGetReply(reader, &reply) != REDIS_OK) {
        out.error = true;
        break;
      }
      if (!reply) break;
      auto* r = static_cast<redisReply*>(reply);
      decode_all(r);
      std::string s;
      summarize(r, s, 0);
      out.replies.push_back(std::move(s));
      freeReplyObject(r);
    }
  }
  redisReaderFree(reader);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  uint32_t seed = uint32_t(data[0]) * 2654435761u | 1u;
  data += 1;
  size -= 1;
  Outcome whole = read_stream(data, size, seed, 0);
  size_t max_read = size ? 1 + data[0] % 17 : 1;
  Outcome pieces = read_stream(data, size, seed, max_read);
  Outcome bytewise = read_stream(data, size, seed, 1);
  CHECK(whole.error == pieces.error && whole.error == bytewise.error);
  CHECK(whole.replies == pieces.replies && whole.replies == bytewise.replies);
  return 0;
}
