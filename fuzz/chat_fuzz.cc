// Fuzzes the chat engine as the app drives it: several members on separate
// sessions send JSON text and disconnect; their events are numbered as the
// local sequencer does, and applied either at once or in batches that are
// then committed or refused (the store-failure path), and every block the
// engine produces is checked.
//
// Input: steps separated by 0xFF (a byte no UTF-8 text holds, so any JSON
// stays expressible). A step's first byte is its control: member = c & 3;
// op = (c >> 2) & 7: 4 refuses the pending batch (drop), 5 toggles batching
// (off: each event is applied at once), 6 disconnects the member (its slot
// then starts a fresh session), 7 advances the monotonic clock by a second,
// anything else sends the rest of the step as one text message.
//
// Invariants: every reply and event is one whole unmasked text frame holding
// valid UTF-8 that is one JSON object; an error reply comes with no event;
// each room's event ids are consecutive from 1; a welcome's users are the
// room's members and its last_id the join's id - 1, its replay consecutive
// ids ending there; once nothing is pending, a room's local members are
// exactly the sessions that list it.
#include <simdjson.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <span>
#include <string>
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

// A reply sent as pieces (the history answer): one whole text frame or a
// fragmented message (text FIN=0, continuations, the last FIN=1) and
// nothing after it; its reassembled JSON object.
simdjson::dom::object message_object(std::span<const BlockSlice> pieces) {
  static simdjson::dom::parser parser;
  static std::string wire, payload;
  wire.clear();
  payload.clear();
  for (const BlockSlice& p : pieces) wire.append(p.view());
  size_t at = 0;
  for (bool first = true;; first = false) {
    FrameHeader h{};
    auto p = reinterpret_cast<const uint8_t*>(wire.data()) + at;
    CHECK(parse_frame_header(p, wire.size() - at, h, MaskRule::forbidden).status ==
          HeaderStatus::ok);
    CHECK(h.opcode == (first ? Opcode::text : Opcode::continuation) && !h.masked);
    CHECK(h.header_len + h.payload_len <= wire.size() - at);
    payload.append(wire, at + h.header_len, h.payload_len);
    at += h.header_len + h.payload_len;
    if (h.fin) break;
  }
  CHECK(at == wire.size());
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

uint64_t id_of(simdjson::dom::object obj) {
  uint64_t id = 0;
  CHECK(obj["id"].get(id) == simdjson::SUCCESS);
  return id;
}

// A proposal kept past the parser's next call, as the app's batch keeps it.
struct Pending {
  NumberedEvent event;
  std::string nick, text, epoch, ref;
};

struct Harness {
  ChatEngine engine{ChatLimits{.rate_per_sec = 2,
                               .burst = 3,
                               .max_message = 4096,
                               .max_rooms_per_conn = 3,
                               .max_rooms = 6,
                               .max_replay = 5,
                               .history_memory = 2048}};
  Session sessions[kMembers];
  // A member id is its slot and the slot's generation, as the app's are: a
  // slot whose session ended is a new member.
  uint64_t generation[kMembers] = {};
  MemberId member_id(MemberId m) const { return m | generation[m] << 8; }
  // The session of member id, or null when that connection is gone.
  Session* session_of(MemberId id) {
    MemberId m = id & 0xff;
    return m < kMembers && member_id(m) == id ? &sessions[m] : nullptr;
  }
  std::map<std::string, uint64_t> last_ids;  // per room, as seen in events
  std::vector<Pending> pending;
  bool batching = false;
  int64_t mono = 0, wall = 1764100000000;

  void check_event(const BlockRef& b, const Room& room, uint64_t id) {
    auto obj = frame_object(b);
    std::string_view type = field(obj, "type");
    CHECK(type == "system" || type == "msg");
    CHECK(field(obj, "room") == room.name());
    CHECK(id_of(obj) == id);
    uint64_t& last = last_ids[std::string(room.name())];
    // A room forgotten (at rest, evicted) starts again from 1 with a new epoch.
    CHECK(id == last + 1 || id == 1);
    last = id;
  }

  void apply(Pending& p) {
    NumberedEvent& e = p.event;
    e.nick = p.nick;
    e.text = p.text;
    e.ask.epoch = p.epoch;
    e.ask.ref = p.ref;
    Applied a = engine.apply(e, mono);
    check_event(a.event, *e.room, e.id);
    if (a.welcome) {
      auto obj = frame_object(a.welcome);
      CHECK(field(obj, "type") == "welcome");
      simdjson::dom::array users;
      CHECK(obj["users"].get(users) == simdjson::SUCCESS);
      CHECK(users.size() == e.room->size());
      uint64_t last = e.id - 1;  // a version 1 welcome does not say
      if (!e.ask.v1) CHECK(obj["last_id"].get(last) == simdjson::SUCCESS);
      CHECK(last + 1 == e.id);
      uint64_t expect = last + 1 - a.replay.size();
      for (const BlockRef& r : a.replay) CHECK(id_of(frame_object(r)) == expect++);
    }
  }

  void propose(const Proposal& p) {
    Pending q;
    q.event = {p.room, p.kind, ++p.room->sequenced_id, wall, p.member, {}, {}, p.ask};
    q.nick = p.nick;
    q.text = p.text;
    q.epoch = p.ask.epoch;
    q.ref = p.ask.ref;
    pending.push_back(std::move(q));
    if (!batching) commit();
  }

  void commit() {
    for (Pending& p : pending) apply(p);
    pending.clear();
  }

  void refuse() {
    for (Pending& p : pending) {
      const NumberedEvent& e = p.event;
      Proposal prop{e.room, e.kind, e.member, p.nick, p.text, e.ask};
      Session* s = session_of(e.member);
      // A leave is owed anyway: the app numbers it again later.
      if (e.kind == EventKind::leave && !(s && s->p)) {
        e.room->sequenced_id = e.room->last_id();
        Pending again = std::move(p);
        again.event.id = ++again.event.room->sequenced_id;
        apply(again);
        continue;
      }
      engine.drop(prop, s);
    }
    pending.clear();
  }

  void text(MemberId m, const uint8_t* data, size_t len) {
    // The app's contract: kJsonPadding readable bytes after the message.
    std::vector<uint8_t> buf(data, data + len);
    buf.resize(len + kJsonPadding, '}');
    Outcome out = engine.on_text(sessions[m], member_id(m), buf.data(), len, mono);
    CHECK(out.reply || !out.message.empty() || out.has_event);
    CHECK(!(out.reply && !out.message.empty()));
    if (!out.message.empty()) {
      CHECK(field(message_object(out.message), "type") == "history" && !out.has_event);
    }
    if (out.reply) {
      std::string_view type = field(frame_object(out.reply), "type");
      CHECK(type == "error" || type == "history" || type == "rooms");
      if (type == "error") CHECK(!out.has_event);
    }
    if (out.has_event) propose(out.event);
  }

  void disconnect(MemberId m) {
    size_t rooms = sessions[m].p ? sessions[m].p->rooms.size() : 0;
    std::vector<Proposal> leaves;
    engine.on_disconnect(sessions[m], member_id(m), leaves);
    CHECK(leaves.size() == rooms);
    for (const Proposal& p : leaves) {
      CHECK(p.kind == EventKind::leave);
      propose(p);
    }
    // The app copies the proposals' views before the session goes.
    sessions[m] = Session{};
    ++generation[m];
  }

  void check_rooms() {
    if (!pending.empty()) return;
    for (MemberId m = 0; m < kMembers; ++m) {
      if (!sessions[m].p) continue;
      for (Room* r : sessions[m].p->rooms) {
        bool found = false;
        for (const Member& mem : r->members()) found |= mem.id == member_id(m);
        CHECK(found);
      }
    }
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
        case 4:
          h.refuse();
          break;
        case 5:
          h.commit();
          h.batching = !h.batching;
          break;
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
    h.check_rooms();
    pos = end + 1;
  }
  h.commit();
  for (MemberId m = 0; m < kMembers; ++m) h.disconnect(m);
  h.commit();
  CHECK(h.engine.occupied_rooms() == 0);
  CHECK(h.engine.participants() == 0);
  return 0;
}
