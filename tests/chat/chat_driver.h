// A test driver that plays the app's role around a ChatEngine: each client
// message goes to on_text(), its proposal is numbered at once as
// LocalSequencer numbers it (id = ++room->sequenced_id) and applied, and
// every frame lands in the inbox of the connection that would receive it
// (welcome, replay, then the event; a leave's event to the leaver too).
// Frames are kept as one-line descriptions so tests read like PROTOCOL.md:
//
//   "welcome dev alice [bob,alice] last=3 resumed=true"
//   "dev #4 join alice"   "dev #5 alice: hi"   "dev #6 leave bob"
//   "error not_joined room=dev ref=r1"   "history dev [1,2,3] more=false"
//
// While delivering, the driver checks the protocol's promise to a member:
// from its welcome on, the events of that room it receives have consecutive
// ids (replay included).
#pragma once

#include <gtest/gtest.h>
#include <simdjson.h>

#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "chat/engine.h"
#include "chat_test_util.h"

namespace chatd::test {

inline constexpr int64_t kWall = 1764100000000;  // ts = kWall + mono in every event

using Lines = std::vector<std::string>;

// One frame's payload as a line (see the file comment); "?" + payload when
// it is none of the server's shapes.
inline std::string describe(std::string_view payload) {
  static simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(payload.data(), payload.size()).get(doc)) return "? " + std::string(payload);
  auto str = [&](simdjson::dom::element e, const char* k) {
    std::string_view v;
    return e[k].get(v) ? std::string("<none>") : std::string(v);
  };
  auto num = [&](simdjson::dom::element e, const char* k) {
    uint64_t v = 0;
    return e[k].get(v) ? std::string("<none>") : std::to_string(v);
  };
  auto ref = [&](simdjson::dom::element e) {
    std::string_view v;
    return e["ref"].get(v) ? std::string() : " ref=" + std::string(v);
  };
  auto event = [&](simdjson::dom::element e) {
    std::string t = str(e, "type");
    std::string head = str(e, "room") + " #" + num(e, "id") + " ";
    if (t == "msg") return head + str(e, "nick") + ": " + str(e, "msg");
    if (t == "system") return head + str(e, "event") + " " + str(e, "nick");
    return "? " + t;
  };
  std::string type = str(doc, "type");
  if (type == "welcome") {
    std::string users;
    simdjson::dom::array arr;
    if (!doc["users"].get(arr)) {
      for (auto u : arr) users += (users.empty() ? "" : ",") + std::string(u.get_string().value());
    }
    bool resumed = false;
    if (doc["resumed"].get(resumed)) resumed = false;
    return "welcome " + str(doc, "room") + " " + str(doc, "nick") + " [" + users +
           "] last=" + num(doc, "last_id") + " resumed=" + (resumed ? "true" : "false") + ref(doc);
  }
  if (type == "msg" || type == "system") return event(doc);
  if (type == "error") {
    std::string room = str(doc, "room");
    return "error " + str(doc, "code") + (room == "<none>" ? "" : " room=" + room) + ref(doc);
  }
  if (type == "history") {
    std::string ids;
    simdjson::dom::array arr;
    if (!doc["events"].get(arr)) {
      for (auto e : arr) ids += (ids.empty() ? "" : ",") + num(e, "id");
    }
    bool more = false;
    if (doc["more"].get(more)) more = false;
    return "history " + str(doc, "room") + " [" + ids + "] more=" + (more ? "true" : "false") +
           ref(doc);
  }
  if (type == "rooms") {
    std::string lines;
    simdjson::dom::array arr;
    if (!doc["rooms"].get(arr)) {
      for (auto r : arr) {
        lines += (lines.empty() ? "" : ",") + str(r, "room") + ":" + num(r, "users") + ":" +
                 num(r, "last_id");
      }
    }
    return "rooms " + lines + ref(doc);
  }
  return "? " + std::string(payload);
}

// A HistorySource over plain per-room lists, as a store would keep them;
// ids in `holes` are never returned (a store that lost rows); with
// fail_reads every read fails part way (an I/O error).
class FakeHistory final : public HistorySource {
 public:
  bool head(std::string_view room, PastRoom* out) override {
    auto it = heads.find(std::string(room));
    if (it == heads.end()) return false;
    *out = it->second;
    return true;
  }
  bool read(std::string_view room, uint64_t after, uint64_t before, size_t limit,
            std::vector<PastEvent>* out) override {
    ++reads;
    auto it = rooms.find(std::string(room));
    if (it == rooms.end()) return !fail_reads;
    std::vector<PastEvent> got;
    for (const PastEvent& e : it->second) {
      if (e.id > after && e.id < before && !holes.count(e.id)) got.push_back(e);
    }
    if (got.size() > limit) got.erase(got.begin(), got.end() - ptrdiff_t(limit));
    // A failing store returns what it read before the error: the oldest half.
    if (fail_reads) got.resize(got.size() / 2);
    out->insert(out->end(), got.begin(), got.end());
    return !fail_reads;
  }
  void add(std::string_view room, const NumberedEvent& e) {
    rooms[std::string(room)].push_back(
        {e.kind, e.id, e.ts, std::string(e.nick), std::string(e.text)});
  }

  std::map<std::string, std::vector<PastEvent>> rooms;
  std::map<std::string, PastRoom> heads;  // rooms the store knows by name
  std::set<uint64_t> holes;
  bool fail_reads = false;
  size_t reads = 0;
};

// A proposal kept past the next on_text (views copied), for tests that hold
// events back as the app does until its commit.
struct Held {
  Proposal p;
  std::string nick, text, epoch, ref;
  Proposal view() const {
    Proposal v = p;
    v.nick = nick;
    v.text = text;
    v.ask.epoch = epoch;
    v.ask.ref = ref;
    return v;
  }
};

inline Held hold(const Proposal& p) {
  return {p, std::string(p.nick), std::string(p.text), std::string(p.ask.epoch),
          std::string(p.ask.ref)};
}

class Chat {
 public:
  explicit Chat(ChatLimits limits = {}, FakeHistory* store = nullptr, bool durable = false)
      : engine(limits, store, durable), store_(store), sessions(kSlots), inbox(kSlots) {}

  static constexpr size_t kSlots = 64;

  // Client message from connection `id` at monotonic time `mono`; applies
  // its event at once. Returns the direct reply's line ("" if none).
  std::string send(MemberId id, std::string_view json, int64_t mono = 0) {
    Outcome out = on_text(id, json, mono);
    std::string reply;
    if (out.reply) {
      reply = describe(frame_payload(out.reply));
      deliver(id, out.reply);
    } else if (!out.message.empty()) {
      std::string payload = message_payload(out.message);
      reply = describe(payload);
      deliver_payload(id, payload);
    }
    if (out.has_event) apply(hold(out.event), id, mono);
    return reply;
  }
  std::string join(MemberId id, std::string_view nick, std::string_view room = {}) {
    std::string j = R"({"type":"join")";
    if (!room.empty()) j += R"(,"room":")" + std::string(room) + '"';
    if (!nick.empty()) j += R"(,"nick":")" + std::string(nick) + '"';
    return send(id, j + "}");
  }
  std::string say(MemberId id, std::string_view text, std::string_view room = {},
                  int64_t mono = 0) {
    std::string j = R"({"type":"msg")";
    if (!room.empty()) j += R"(,"room":")" + std::string(room) + '"';
    return send(id, j + R"(,"msg":")" + std::string(text) + R"("})", mono);
  }
  std::string leave(MemberId id, std::string_view room = {}) {
    std::string j = R"({"type":"leave")";
    if (!room.empty()) j += R"(,"room":")" + std::string(room) + '"';
    return send(id, j + "}");
  }

  // on_text alone: nothing is numbered or delivered.
  Outcome on_text(MemberId id, std::string_view json, int64_t mono = 0) {
    Padded in(json);
    std::string before(in.all());
    Outcome out = engine.on_text(sessions[id], id, in.data(), in.size(), mono);
    EXPECT_EQ(before, in.all()) << "input and padding untouched";
    return out;
  }

  // Numbers h as LocalSequencer does, applies it, and delivers what the app
  // would: to `origin` (kNoMember: gone or none) its welcome and replay,
  // then the event to every local member, and a leave to its leaver too.
  void apply(const Held& h, MemberId origin, int64_t mono = 0) {
    Proposal p = h.view();
    NumberedEvent e{p.room, p.kind, ++p.room->sequenced_id, kWall + mono, p.member, p.nick,
                    p.text, p.ask};
    if (store_) store_->add(p.room->name(), e);
    Applied a = engine.apply(e, mono);
    last_resumed = a.resumed;
    last_replay = a.replay.size();
    if (a.welcome && origin != kNoMember) {
      deliver(origin, a.welcome);
      for (const BlockRef& b : a.replay) deliver(origin, b);
    }
    for (const Member& m : e.room->members()) {
      if (m.id != kNoMember) deliver(m.id, a.event);
    }
    if (e.kind == EventKind::leave && origin != kNoMember) deliver(origin, a.event);
    engine.sweep_rooms();  // as the app does once a batch is delivered
  }

  // The connection ends: its leave proposals are numbered and applied after
  // its session is gone, as the app does.
  void disconnect(MemberId id, int64_t mono = 0) {
    std::vector<Proposal> out;
    engine.on_disconnect(sessions[id], id, out);
    std::vector<Held> held;
    for (const Proposal& p : out) held.push_back(hold(p));
    sessions[id] = Session{};
    for (const Held& h : held) apply(h, kNoMember, mono);
    seen_[id].clear();
  }

  // An event numbered on another node (shared rooms), next in r: applied as
  // the app applies one from the broker and delivered to r's local members.
  Applied external(Room& r, EventKind kind, std::string_view nick, std::string_view text = {},
                   int64_t mono = 0) {
    NumberedEvent e{&r, kind, r.last_id() + 1, kWall + mono, kNoMember, nick, text, {}};
    Applied a = engine.apply_external(e, mono);
    for (const Member& m : r.members()) {
      if (m.id != kNoMember) deliver(m.id, a.event);
    }
    return a;
  }
  // A shared room started again from a broker snapshot (sync_room): its
  // members count ids afresh, as after the new welcome the app sends them.
  void restarted(std::string_view room) {
    for (auto& [id, rooms] : seen_) rooms.erase(std::string(room));
  }

  // What `id` received since the last take, one line per frame.
  Lines take(MemberId id) { return std::exchange(inbox[id], {}); }
  // The raw payloads behind the lines, in the same order (kept until cleared).
  std::vector<std::string> raw(MemberId id) const { return raw_[id]; }
  // The epoch of the last welcome `id` received for `room`.
  std::string epoch(MemberId id, std::string_view room) { return epochs_[id][std::string(room)]; }
  Room& room(std::string_view name) {
    Room* r = engine.find_room(name);
    EXPECT_NE(r, nullptr) << name;
    return *r;
  }

  ChatEngine engine;
  FakeHistory* store_;
  std::vector<Session> sessions;
  std::vector<Lines> inbox;
  bool last_resumed = false;
  size_t last_replay = 0;

 private:
  void deliver(MemberId id, const BlockRef& frame) { deliver_payload(id, frame_payload(frame)); }
  void deliver_payload(MemberId id, const std::string& payload) {
    std::string line = describe(payload);
    inbox[id].push_back(line);
    if (raw_.size() <= id) raw_.resize(id + 1);
    raw_[id].push_back(payload);
    check_consecutive(id, payload, line);
  }

  // Welcomes start a room's count for `id`; each later event of it must be the next id.
  void check_consecutive(MemberId id, const std::string& payload, const std::string& line) {
    static simdjson::dom::parser parser;
    simdjson::dom::element doc;
    ASSERT_EQ(parser.parse(payload).get(doc), simdjson::SUCCESS) << payload;
    std::string_view type, room;
    if (doc["type"].get(type) || doc["room"].get(room)) return;
    auto& last = seen_[id][std::string(room)];
    if (type == "welcome") {
      std::string_view ep;
      ASSERT_EQ(doc["epoch"].get(ep), simdjson::SUCCESS);
      epochs_[id][std::string(room)] = std::string(ep);
      last = 0;
      return;
    }
    uint64_t ev = 0;
    if ((type != "msg" && type != "system") || doc["id"].get(ev)) return;
    if (last != 0) {
      EXPECT_EQ(ev, last + 1) << "member " << id << " got " << line << " after #" << last;
    }
    last = ev;
  }

  std::map<MemberId, std::map<std::string, uint64_t>> seen_;
  std::map<MemberId, std::map<std::string, std::string>> epochs_;
  std::vector<std::vector<std::string>> raw_;
};

}  // namespace chatd::test
