// Every error code of PROTOCOL.md through the engine, one line per case:
// the reply (with `room` when the request named one and `ref` when it
// carried one) goes to the sender alone, and nothing else happens.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "chat/engine.h"
#include "chat_driver.h"

namespace chatd {
namespace {

using test::Chat;
using test::Lines;

// alice (1) in general and dev, bob (2) in general, 3 not joined.
void world(Chat& c) {
  c.join(1, "alice");
  c.join(1, {}, "dev");
  c.join(2, "bob");
  for (MemberId id : {1, 2, 3}) c.take(id);
}

struct ErrorCase {
  MemberId who;
  std::string json;
  std::string want;
};

std::string q(std::string_view s) {
  return '"' + std::string(s) + '"';
}

std::vector<ErrorCase> cases() {
  const std::string r65(65, 'r'), room65(65, 'a'), nick33(33, 'n');
  std::vector<ErrorCase> v = {
      // bad_json: nothing can be read, so nothing is echoed.
      {3, "nope", "error bad_json"},
      {1, R"({"type":"msg","room":"dev","ref":"r","msg":"x")", "error bad_json"},
      {1, R"([{"type":"msg","msg":"x"}])", "error bad_json"},
      {1, R"({"type":"msg","msg":"x"} {})", "error bad_json"},
      // bad_type: the ref and room are still the request's.
      {1, R"({"room":"dev","ref":"r"})", "error bad_type room=dev ref=r"},
      {1, R"({"type":"typing","ref":"r"})", "error bad_type ref=r"},
      {1, R"({"type":7,"room":"dev"})", "error bad_type room=dev"},
      {1, R"({"type":"welcome","ref":"r","room":5})", "error bad_type ref=r"},
      // bad_field
      {3, R"({"type":"join"})", "error bad_field"},
      {3, R"({"type":"join","room":"dev","ref":"r"})", "error bad_field room=dev ref=r"},
      {3, R"({"type":"join","room":"dev","nick":7,"ref":"r"})", "error bad_field room=dev ref=r"},
      {1, R"({"type":"join","room":"ops","nick":"bob","ref":"r"})",
       "error bad_field room=ops ref=r"},
      {1, R"({"type":"join","room":"ops","nick":"ALICE"})", "error bad_field room=ops"},
      {1, R"({"type":"msg","room":"dev","ref":"r"})", "error bad_field room=dev ref=r"},
      {1, R"({"type":"msg","room":"dev","msg":5})", "error bad_field room=dev"},
      {1, R"({"type":"msg","room":5,"msg":"m","ref":"r"})", "error bad_field ref=r"},
      {1, R"({"type":"leave","room":["dev"]})", "error bad_field"},
      {1, R"({"type":"msg","room":"dev","msg":"m","ref":)" + q(r65) + "}",
       "error bad_field room=dev"},
      {1, R"({"type":"rooms","ref":)" + q(r65) + "}", "error bad_field"},
      {1, R"({"type":"msg","room":"dev","msg":"m","ref":5})", "error bad_field room=dev"},
      // not_joined
      {3, R"({"type":"msg","msg":"m","ref":"r"})", "error not_joined ref=r"},
      {2, R"({"type":"msg","room":"dev","msg":"m","ref":"r"})", "error not_joined room=dev ref=r"},
      {1, R"({"type":"msg","room":"nowhere","msg":"m"})", "error not_joined room=nowhere"},
      {2, R"({"type":"leave","room":"dev","ref":"r"})", "error not_joined room=dev ref=r"},
      {3, R"({"type":"leave"})", "error not_joined"},
      {2, R"({"type":"history","room":"dev","ref":"r"})", "error not_joined room=dev ref=r"},
      {3, R"({"type":"history"})", "error not_joined"},
      // already_joined
      {1, R"({"type":"join","room":"dev","ref":"r"})", "error already_joined room=dev ref=r"},
      {1, R"({"type":"join"})", "error already_joined"},
      {1, R"({"type":"join","room":"dev","nick":" alice "})", "error already_joined room=dev"},
      // nick_invalid
      {3, R"({"type":"join","nick":"   "})", "error nick_invalid"},
      {3, R"({"type":"join","nick":""})", "error nick_invalid"},
      {3, R"({"type":"join","nick":")" + nick33 + R"(","room":"dev","ref":"r"})",
       "error nick_invalid room=dev ref=r"},
      {3, R"({"type":"join","nick":"a\u0007b"})", "error nick_invalid"},
      {3, R"({"type":"join","nick":"a\u009fb"})", "error nick_invalid"},
      {3, R"({"type":"join","nick":"a\u007f"})", "error nick_invalid"},
      {3, R"({"type":"join","nick":"\u3000\u00a0"})", "error nick_invalid"},
      {1, R"({"type":"join","room":"ops","nick":"\t"})", "error nick_invalid room=ops"},
      // nick_taken: across rooms, ASCII case-insensitively, after trimming
      {3, R"({"type":"join","nick":"ALICE"})", "error nick_taken"},
      {3, R"({"type":"join","nick":" alice\u3000"})", "error nick_taken"},
      {3, R"({"type":"join","room":"ops","nick":"Bob","ref":"r"})",
       "error nick_taken room=ops ref=r"},
      {3, R"({"type":"join","room":"dev","nick":"bOB"})", "error nick_taken room=dev"},
      // room_invalid: echoed as named
      {3, R"({"type":"join","room":"Dev","nick":"carol","ref":"r"})",
       "error room_invalid room=Dev ref=r"},
      {3, R"({"type":"join","room":")" + room65 + R"(","nick":"carol"})",
       "error room_invalid room=" + room65},
      {3, R"({"type":"join","room":"","nick":"carol","ref":"r"})",
       "error room_invalid room= ref=r"},
      {3, R"({"type":"join","room":"d\u00e9v","nick":"carol"})", "error room_invalid room=dév"},
      {3, R"({"type":"join","room":"a b","nick":"carol"})", "error room_invalid room=a b"},
      {3, R"({"type":"join","room":"a.b","nick":"carol"})", "error room_invalid room=a.b"},
      {3, R"({"type":"join","room":"../x","nick":"carol"})", "error room_invalid room=../x"},
      {3, R"({"type":"join","room":"a\u0000","nick":"carol"})",
       "error room_invalid room=" + std::string("a\0", 2)},
      {1, R"({"type":"msg","room":"DEV","msg":"m"})", "error room_invalid room=DEV"},
      {1, R"({"type":"leave","room":"dev!"})", "error room_invalid room=dev!"},
      {1, R"({"type":"history","room":" dev"})", "error room_invalid room= dev"},
      // msg_invalid
      {1, R"({"type":"msg","room":"dev","msg":"","ref":"r"})", "error msg_invalid room=dev ref=r"},
      {1, R"({"type":"msg","room":"dev","msg":" \u00a0\u3000\n"})", "error msg_invalid room=dev"},
      {1, R"({"type":"msg","room":"dev","msg":")" + std::string(2001, 'x') + R"("})",
       "error msg_invalid room=dev"},
      {2, R"({"type":"msg","msg":""})", "error msg_invalid"},
  };
  // Each integer field out of range, negative, a float or not a number:
  // -0 and 2.0 are numbers a lax reader would take; the protocol says integers.
  const char* not_integers[] = {"-1", "1.5", "1e2", "-0", "2.0", R"("3")", "null", "[1]"};
  for (std::string bad : not_integers) {
    for (const char* field : {"since", "history"}) {
      v.push_back({3,
                   R"({"type":"join","room":"dev","nick":"carol",")" + std::string(field) +
                       R"(":)" + bad + R"(,"ref":"r"})",
                   "error bad_field room=dev ref=r"});
    }
    for (const char* field : {"before", "limit"}) {
      v.push_back({1,
                   R"({"type":"history","room":"dev",")" + std::string(field) + R"(":)" + bad +
                       R"(,"ref":"r"})",
                   "error bad_field room=dev ref=r"});
    }
  }
  // Out of range: history 0..200, limit 1..200, ids below 2^64 in 19 digits.
  v.push_back({3, R"({"type":"join","room":"dev","nick":"carol","history":201,"ref":"r"})",
               "error bad_field room=dev ref=r"});
  v.push_back({3, R"({"type":"join","room":"dev","nick":"carol","since":18446744073709551616})",
               "error bad_field room=dev"});
  v.push_back({1, R"({"type":"history","room":"dev","limit":0,"ref":"r"})",
               "error bad_field room=dev ref=r"});
  v.push_back({1, R"({"type":"history","room":"dev","limit":201})", "error bad_field room=dev"});
  v.push_back({1, R"({"type":"history","room":"dev","before":100000000000000000000})",
               "error bad_field room=dev"});
  return v;
}

// Per room, the ids it has handed out: errors must not move them.
std::vector<uint64_t> heads(Chat& c) {
  return {c.room("general").last_id(), c.room("general").sequenced_id, c.room("dev").last_id(),
          c.room("dev").sequenced_id};
}

TEST(ChatErrors, EveryCodeEchoesRoomAndRefAndChangesNothing) {
  Chat c;
  world(c);
  const std::vector<uint64_t> before = heads(c);
  const ChatCounters start = c.engine.counters();
  size_t n = 0;
  for (const ErrorCase& e : cases()) {
    SCOPED_TRACE(e.json.substr(0, 120));
    EXPECT_EQ(c.send(e.who, e.json), e.want);
    EXPECT_EQ(c.take(e.who), Lines{e.want}) << "the reply, to the sender alone";
    for (MemberId id : {1, 2, 3}) EXPECT_EQ(c.take(id), Lines{}) << id;
    ++n;
  }
  EXPECT_EQ(heads(c), before);
  EXPECT_EQ(c.engine.counters().events, start.events);
  EXPECT_EQ(c.engine.counters().errors, start.errors + n);
  EXPECT_EQ(c.room("general").size(), 2u);
  EXPECT_EQ(c.room("dev").size(), 1u);
  EXPECT_EQ(c.engine.participants(), 2u);
  EXPECT_FALSE(c.sessions[3].joined()) << "failed first joins leave no identity behind";
  // And the conversation goes on.
  c.say(2, "still fine");
  EXPECT_EQ(c.take(1), (Lines{"general #3 bob: still fine"}));
}

// The boundaries the cases above step over are fine on their side.
TEST(ChatErrors, LimitsThemselvesAreAccepted) {
  Chat c;
  world(c);
  const std::string room64(64, 'z'), nick32 = [] {
    std::string s;
    for (int i = 0; i < 32; ++i) s += "\xC3\xA9";
    return s;
  }();
  EXPECT_EQ(c.send(3, R"({"type":"join","room":")" + room64 + R"(","nick":")" + nick32 +
                          R"(","history":200,"since":9999999999999999999,"ref":")" +
                          std::string(64, 'r') + R"("})"),
            "");
  EXPECT_EQ(c.take(3).front(), "welcome " + room64 + " " + nick32 + " [" + nick32 +
                                   "] last=0 resumed=false ref=" + std::string(64, 'r'));
  for (const char* room : {"-", "_", "0", "a-b_c9"}) {
    EXPECT_EQ(c.join(3, {}, room), "") << room;
  }
  EXPECT_EQ(c.say(1, std::string(2000, 'x'), "dev"), "");
  EXPECT_EQ(c.send(1, R"({"type":"history","room":"dev","limit":200,"before":0})"),
            "history dev [] more=false");
  EXPECT_EQ(c.send(1, R"({"type":"history","room":"dev","limit":1,"before":99999})"),
            "history dev [2] more=true");
}

TEST(ChatErrors, RoomLimitPerConnection) {
  Chat c({.max_rooms_per_conn = 2});
  c.join(1, "alice", "a");
  c.join(1, {}, "b");
  c.take(1);
  EXPECT_EQ(c.send(1, R"({"type":"join","room":"c","ref":"r"})"), "error room_limit room=c ref=r");
  EXPECT_EQ(c.join(1, {}, "a"), "error already_joined room=a") << "that check comes first";
  c.leave(1, "a");
  EXPECT_EQ(c.join(1, {}, "c"), "");
  // A join still in flight counts: the limit holds within one turn.
  c.leave(1, "c");
  Outcome held = c.on_text(1, R"({"type":"join","room":"d"})");
  ASSERT_TRUE(held.has_event);
  EXPECT_EQ(c.join(1, {}, "e"), "error room_limit room=e");
  // Other connections have their own count.
  EXPECT_EQ(c.join(2, "bob", "c"), "");
  EXPECT_EQ(c.join(2, {}, "d"), "");
  EXPECT_EQ(c.join(2, {}, "e"), "error room_limit room=e");
}

TEST(ChatErrors, RoomLimitPerNode) {
  Chat c({.max_rooms = 2});
  c.join(1, "alice", "a");
  c.join(2, "bob", "b");
  EXPECT_EQ(c.send(3, R"({"type":"join","room":"c","nick":"carol","ref":"r"})"),
            "error room_limit room=c ref=r");
  EXPECT_FALSE(c.sessions[3].joined());
  EXPECT_EQ(c.join(3, "carol", "a"), "") << "a room with members is not a new one";
  EXPECT_EQ(c.join(3, {}, "c"), "error room_limit room=c");
  c.leave(1, "a");
  EXPECT_EQ(c.join(3, {}, "c"), "error room_limit room=c") << "carol is still in a";
  c.disconnect(2);
  EXPECT_EQ(c.engine.occupied_rooms(), 1u);
  EXPECT_EQ(c.join(3, {}, "c"), "");
  EXPECT_EQ(c.engine.occupied_rooms(), 2u);
  EXPECT_EQ(c.join(1, {}, "b"), "error room_limit room=b")
      << "an empty room with history counts again once someone is in it";
}

// rate_limited is charged for msg, history and rooms (not join or leave),
// and the request is dropped: nothing sent, no id used.
TEST(ChatErrors, RateLimitedForMsgHistoryAndRooms) {
  Chat c({.rate_per_sec = 1, .burst = 3});
  c.join(1, "alice", "dev");
  c.join(1, {}, "ops");
  c.take(1);
  EXPECT_EQ(c.say(1, "1", "dev"), "");
  EXPECT_EQ(c.send(1, R"({"type":"history","room":"dev","limit":1})"), "history dev [2] more=true");
  EXPECT_EQ(c.send(1, R"({"type":"rooms"})"), "rooms dev:1:2,ops:1:1");
  EXPECT_EQ(c.send(1, R"({"type":"msg","room":"dev","msg":"m","ref":"r"})"),
            "error rate_limited room=dev ref=r");
  EXPECT_EQ(c.send(1, R"({"type":"history","room":"dev","ref":"r"})"),
            "error rate_limited room=dev ref=r");
  EXPECT_EQ(c.send(1, R"({"type":"rooms","ref":"r"})"), "error rate_limited ref=r");
  EXPECT_EQ(c.leave(1, "ops"), "") << "leave is not charged";
  EXPECT_EQ(c.join(1, {}, "ops"), "") << "nor join";
  EXPECT_EQ(c.say(1, "", "dev"), "error msg_invalid room=dev") << "checked before the charge";
  c.take(1);
  EXPECT_EQ(c.say(1, "one second later", "dev", 999), "error rate_limited room=dev");
  EXPECT_EQ(c.say(1, "one second later", "dev", 1000), "");
  EXPECT_EQ(c.take(1), (Lines{"error rate_limited room=dev", "dev #3 alice: one second later"}))
      << "the dropped requests used no id";
  EXPECT_EQ(c.engine.counters().rate_limited, 4u);
}

TEST(ChatErrors, RateZeroDisablesTheLimit) {
  Chat c({.rate_per_sec = 0, .burst = 1});
  c.join(1, "a");
  for (int i = 0; i < 300; ++i) {
    ASSERT_EQ(c.say(1, "spam"), "") << i;
    ASSERT_EQ(c.send(1, R"({"type":"rooms"})"), "rooms general:1:" + std::to_string(i + 2));
  }
}

}  // namespace
}  // namespace chatd
