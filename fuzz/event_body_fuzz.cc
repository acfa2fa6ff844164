// Fuzzes the event body codec (cluster/event_body.h) on what a node reads
// from Redis: the input as a body, and as a whole channel payload
// "<epoch> <id> <body>" whose body is then decoded, as Broker::take does.
// Checks are in event_body_check.h.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "cluster/redis_reply.h"
#include "event_body_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  check_event_body(in);
  chatd::EventPayload p;
  if (chatd::decode_event_payload(in, p)) {
    CHECK(view_inside(p.body, in) && !p.body.empty());
    check_event_body(p.body);
  }
  return 0;
}
