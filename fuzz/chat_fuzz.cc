// Fuzzes the chat engine as the app drives it: several members on separate
// sessions send JSON text, join, and disconnect, and every block the engine
// produces is checked.
//
// Input: steps separated by 0xFF (a byte no UTF-8 text holds, so any JSON
// stays expressible). A step's first byte is its control: member = c & 3;
// op = (c >> 2) & 7: 6 disconnects the member (its slot then starts a fresh
// session), 7 advances the monotonic clock by a second, anything else sends
// the rest of the step as one text message.
//
// Invariants: every reply and event is one whole unmasked text frame holding
// valid UTF-8 that is one JSON object; an error reply comes alone; event ids
// are consecutive from 1; a session is joined exactly when its member is in
// the room; a leave comes exactly for a joined member.
#include <simdjson.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "chat/engine.h"
#include "codec/utf8.h"
#include "fuzz_check.h"
#include "ws/frame.h"
#include "ws/reader.h"

namespace {

using namespace chatd;

constexpr MemberId kMembers = 4;

// The JSON object inside a block holding one whole text frame.
simdjson::dom::object frame_object(const BlockRef& b) {
  static simdjson::dom::parser parser;
  CHECK(b);
  FrameHeader h{};
  auto p = reinterpret_cast<const uint8_t*>(b->data());
  CHECK(parse_frame_header(p, b->size(), h, MaskRule::forbidden).status == HeaderStatus::ok);
  CHECK(h.fin && h.opcode == Opcode::text && !h.masked);
  CHECK(h.header_len + h.payload_len == b->size());
  std::string_view payload(b->data() + h.header_len, h.payload_len);
  CHECK(utf8_valid(payload));
  simdjson::dom::object obj;
  CHECK(parser.parse(payload.data(), payload.size()).get(obj) == simdjson::SUCCESS);
  return obj;
}

std::string_view field(simdjson::dom::object obj, const char* key) {
  std::string_view s;
  CHECK(obj[key].get(s) == simdjson::SUCCESS);
  return s;
}

struct Harness {
  ChatEngine engine{ChatLimits{.rate_per_sec = 2, .burst = 3, .max_message = 4096}};
  Session sessions[kMembers];
  uint64_t last_id = 0;
  int64_t wall = 1764100000000, mono = 0;

  void check_event(const BlockRef& b) {
    auto obj = frame_object(b);
    std::string_view type = field(obj, "type");
    CHECK(type == "system" || type == "msg");
    uint64_t id = 0;
    CHECK(obj["id"].get(id) == simdjson::SUCCESS);
    CHECK(id == last_id + 1);
    last_id = id;
  }

  void check_room() {
    size_t joined = 0;
    for (MemberId m = 0; m < kMembers; ++m) {
      CHECK(sessions[m].joined == (engine.room().find(m) != nullptr));
      joined += sessions[m].joined;
    }
    CHECK(engine.room().size() == joined);
  }

  void text(MemberId m, const uint8_t* data, size_t len) {
    // The app's contract: kJsonPadding readable bytes after the message.
    std::vector<uint8_t> buf(data, data + len);
    buf.resize(len + kJsonPadding, '}');
    bool was_joined = sessions[m].joined;
    auto out = engine.on_text(sessions[m], m, buf.data(), len, wall, mono);
    CHECK(out.reply || out.broadcast);
    if (out.reply) {
      auto obj = frame_object(out.reply);
      std::string_view type = field(obj, "type");
      if (type == "error") {
        CHECK(!out.broadcast);
        CHECK(sessions[m].joined == was_joined);
      } else {
        CHECK(type == "welcome");
        CHECK(!was_joined && sessions[m].joined);
        simdjson::dom::array users;
        CHECK(obj["users"].get(users) == simdjson::SUCCESS);
        CHECK(users.size() == engine.room().size());
        CHECK(field(obj, "nick") == engine.room().members().back().nick);
        CHECK(out.broadcast);
      }
    }
    if (out.broadcast) check_event(out.broadcast);
  }

  void disconnect(MemberId m) {
    bool was_joined = sessions[m].joined;
    BlockRef leave = engine.on_disconnect(sessions[m], m, wall);
    CHECK(bool(leave) == was_joined);
    if (leave) check_event(leave);
    sessions[m] = Session{};
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Harness h;
  size_t pos = 0;
  while (pos < size) {
    size_t end = pos;
    while (end < size && data[end] != 0xFF) ++end;
    if (end > pos) {
      uint8_t c = data[pos];
      MemberId m = c & 3;
      switch ((c >> 2) & 7) {
        case 6:
          h.disconnect(m);
          break;
        case 7:
          h.mono += 1000;
          break;
        default:
          h.text(m, data + pos + 1, end - pos - 1);
      }
    }
    h.wall += 1;
    h.mono += 1;
    h.check_room();
    pos = end + 1;
  }
  for (MemberId m = 0; m < kMembers; ++m) h.disconnect(m);
  CHECK(h.engine.room().size() == 0);
  return 0;
}
