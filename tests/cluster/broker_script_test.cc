// The broker's Lua script (cluster/broker_script.cc) against a real
// redis-server on a free loopback port, driven op by op through a plain
// blocking hiredis context: the script is where the cluster's order, nicks
// and reaping live, so each op's contract in its header is checked on the
// keys it names. Heartbeat silence is made by moving scores in chatd:nodes
// and chatd:clock back with Redis' own clock, never by sleeping.
#include "cluster/broker_script.h"

#include <gtest/gtest.h>
#include <hiredis/hiredis.h>
#include <sys/time.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "cluster/event_body.h"
#include "redis_server.h"

namespace chatd {
namespace {

struct FreeReply {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using Reply = std::unique_ptr<redisReply, FreeReply>;

// A compact rendering for assertions: strings as they are, integers in
// decimal, nil as "nil", errors as "!text", arrays as "[a|b|c]".
std::string show(const redisReply* r) {
  if (!r) return "(no reply)";
  switch (r->type) {
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
      return std::string(r->str, r->len);
    case REDIS_REPLY_ERROR:
      return "!" + std::string(r->str, r->len);
    case REDIS_REPLY_INTEGER:
      return std::to_string(r->integer);
    case REDIS_REPLY_NIL:
      return "nil";
    case REDIS_REPLY_ARRAY: {
      std::string out = "[";
      for (size_t i = 0; i < r->elements; ++i) {
        if (i) out += '|';
        out += show(r->element[i]);
      }
      return out + "]";
    }
    default:
      return "?" + std::to_string(r->type);
  }
}

Reply argv_command(redisContext* c, const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  std::vector<size_t> len;
  for (const auto& a : args) {
    argv.push_back(a.data());
    len.push_back(a.size());
  }
  return Reply(
      static_cast<redisReply*>(redisCommandArgv(c, int(argv.size()), argv.data(), len.data())));
}

// A body as a node encodes it (the script stores and forwards it as is).
std::string body(char kind, std::string_view node, std::string_view nick,
                 std::string_view text = {}) {
  EventBody b;
  b.kind = kind;
  b.ts = 1700000000000;
  b.node = node;
  b.cookie = 1;
  b.nick = nick;
  b.text = text;
  std::string out;
  encode_event_body(b, out);
  return out;
}

constexpr const char* kTtl = "10000";

class BrokerScriptTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!test::RedisServer::available()) return;
    server_ = new test::RedisServer;
    if (!server_->start()) {
      start_error_ = server_->error();
      delete server_;
      server_ = nullptr;
    }
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }

  void SetUp() override {
    if (!test::RedisServer::available())
      GTEST_SKIP() << "no redis-server (scripts/install-deps.sh)";
    ASSERT_NE(server_, nullptr) << start_error_;
    c_ = connect();
    ASSERT_NE(c_, nullptr);
    ASSERT_EQ(show(cmd({"FLUSHALL"}).get()), "OK");
    std::string_view s = broker_script();
    Reply sha = cmd({"SCRIPT", "LOAD", std::string(s)});
    ASSERT_TRUE(sha && sha->type == REDIS_REPLY_STRING) << show(sha.get());
    sha_ = show(sha.get());
    ASSERT_EQ(sha_.size(), 40u);
  }
  void TearDown() override {
    if (sub_) redisFree(sub_);
    if (c_) redisFree(c_);
  }

  // A blocking context with a timeout, so a missing reply fails the test
  // instead of hanging it.
  static redisContext* connect() {
    timeval tv{10, 0};
    redisContext* c = redisConnectWithTimeout("127.0.0.1", server_->port(), tv);
    if (!c || c->err) {
      if (c) redisFree(c);
      return nullptr;
    }
    redisSetTimeout(c, tv);
    return c;
  }

  Reply cmd(const std::vector<std::string>& args) { return argv_command(c_, args); }
  std::string get(const std::string& key) { return show(cmd({"GET", key}).get()); }

  // EVALSHA sha 0 args...
  Reply run(std::vector<std::string> args) {
    args.insert(args.begin(), {"EVALSHA", sha_, "0"});
    return cmd(args);
  }
  std::string op(std::vector<std::string> args) { return show(run(std::move(args)).get()); }

  // Redis' clock in ms, as the script reads it.
  long long now_ms() {
    Reply t = cmd({"TIME"});
    return std::stoll(t->element[0]->str) * 1000 + std::stoll(t->element[1]->str) / 1000;
  }

  std::string sync(const std::string& room, const std::string& fresh, int after, int max,
                   bool members = true, const std::string& discard = "") {
    return op({"sync", room, fresh, std::to_string(after), std::to_string(max), members ? "1" : "0",
               discard});
  }
  std::string beat(const std::string& node, bool first = false, const char* ttl = kTtl) {
    return op({"beat", node, ttl, first ? "1" : "0", "0"});
  }
  std::string pub(const std::string& room, const std::string& epoch, char kind,
                  const std::string& node, const std::string& token, const std::string& key,
                  const std::string& nick, const std::string& text = {},
                  const std::string& retain = "0") {
    return op({"pub", room, epoch, std::string(1, kind), node, token, key, nick,
               body(kind, node, nick, text), retain});
  }
  std::string log(const std::string& room) {
    return show(cmd({"LRANGE", "chatd:{" + room + "}:log", "0", "-1"}).get());
  }
  std::string members(const std::string& room) {
    return show(cmd({"HGETALL", "chatd:{" + room + "}:members"}).get());
  }
  std::string smembers(const std::string& key) { return show(cmd({"SORT", key, "ALPHA"}).get()); }
  // Makes `node` look silent since `ago_ms`, on Redis' clock.
  void silence(const std::string& node, long long ago_ms) {
    ASSERT_EQ(show(cmd({"ZADD", "chatd:nodes", std::to_string(now_ms() - ago_ms), node}).get()),
              "0");
  }

  // Subscribes a second connection to a room's channel.
  void subscribe(const std::string& room) {
    sub_ = connect();
    ASSERT_NE(sub_, nullptr);
    Reply r = argv_command(sub_, {"SUBSCRIBE", "chatd:{" + room + "}"});
    ASSERT_EQ(show(r.get()), "[subscribe|chatd:{" + room + "}|1]");
  }
  // The next push on the subscription (blocks up to the context's timeout).
  std::string next_push() {
    void* out = nullptr;
    if (redisGetReply(sub_, &out) != REDIS_OK) return "(read failed)";
    Reply r(static_cast<redisReply*>(out));
    return show(r.get());
  }

  // A room with an epoch and node n1 registered: the state most ops need.
  void room_with_node(const std::string& room = "r", const std::string& epoch = "E1") {
    ASSERT_EQ(sync(room, epoch, 0, 10), "[" + epoch + "|0|1|1|0]");
    ASSERT_EQ(beat("n1", true), "[ok|1|0]");
  }

  static test::RedisServer* server_;
  static std::string start_error_;
  redisContext* c_ = nullptr;
  redisContext* sub_ = nullptr;
  std::string sha_;
};

test::RedisServer* BrokerScriptTest::server_ = nullptr;
std::string BrokerScriptTest::start_error_;

// ---- pub ----

TEST_F(BrokerScriptTest, PubNumbersEachRoomConsecutively) {
  room_with_node("a");
  ASSERT_EQ(sync("b", "Eb", 0, 10), "[Eb|0|1|1|0]");
  EXPECT_EQ(pub("a", "E1", 'j', "n1", "5", "bob", "bob"), "[1|E1]");
  EXPECT_EQ(pub("a", "E1", 'm', "n1", "5", "bob", "bob", "one"), "[2|E1]");
  EXPECT_EQ(pub("b", "Eb", 'j', "n1", "5", "bob", "bob"), "[1|Eb]");
  EXPECT_EQ(pub("a", "E1", 'm', "n1", "5", "bob", "bob", "two"), "[3|E1]");
  EXPECT_EQ(pub("b", "Eb", 'l', "n1", "5", "bob", "bob"), "[2|Eb]");
  EXPECT_EQ(get("chatd:{a}:seq"), "3");
  EXPECT_EQ(get("chatd:{b}:seq"), "2");
  EXPECT_EQ(log("a"), "[E1 1 " + body('j', "n1", "bob") + "|E1 2 " + body('m', "n1", "bob", "one") +
                          "|E1 3 " + body('m', "n1", "bob", "two") + "]");
  EXPECT_EQ(log("b"), "[Eb 1 " + body('j', "n1", "bob") + "|Eb 2 " + body('l', "n1", "bob") + "]");
}

TEST_F(BrokerScriptTest, PubPublishesTheLogEntryOnTheRoomsChannel) {
  room_with_node();
  subscribe("r");
  EXPECT_EQ(pub("r", "E1", 'j', "n1", "5", "bob", "bob"), "[1|E1]");
  EXPECT_EQ(pub("r", "E1", 'm', "n1", "5", "bob", "bob", "hi\nthere"), "[2|E1]");
  EXPECT_EQ(next_push(), "[message|chatd:{r}|E1 1 " + body('j', "n1", "bob") + "]");
  EXPECT_EQ(next_push(), "[message|chatd:{r}|E1 2 " + body('m', "n1", "bob", "hi\nthere") + "]");
}

TEST_F(BrokerScriptTest, PubCapsTheLogAtRetain) {
  room_with_node();
  ASSERT_EQ(pub("r", "E1", 'j', "n1", "5", "bob", "bob", "", "3"), "[1|E1]");
  for (int i = 2; i <= 6; ++i)
    ASSERT_EQ(pub("r", "E1", 'm', "n1", "5", "bob", "bob", "t" + std::to_string(i), "3"),
              "[" + std::to_string(i) + "|E1]");
  EXPECT_EQ(show(cmd({"LLEN", "chatd:{r}:log"}).get()), "3");
  EXPECT_EQ(log("r"), "[E1 4 " + body('m', "n1", "bob", "t4") + "|E1 5 " +
                          body('m', "n1", "bob", "t5") + "|E1 6 " + body('m', "n1", "bob", "t6") +
                          "]");
  // retain 0: no cap at all.
  for (int i = 7; i <= 10; ++i)
    ASSERT_EQ(pub("r", "E1", 'm', "n1", "5", "bob", "bob", "u", "0"),
              "[" + std::to_string(i) + "|E1]");
  EXPECT_EQ(show(cmd({"LLEN", "chatd:{r}:log"}).get()), "7");
}

TEST_F(BrokerScriptTest, JoinClaimsTheNickAndAddsTheMember) {
  room_with_node();
  EXPECT_EQ(pub("r", "E1", 'j', "n1", "5", "bob", "Bob"), "[1|E1]");
  EXPECT_EQ(members("r"), "[bob|1 n1 5 Bob]");
  EXPECT_EQ(get("chatd:nick:bob"), "n1 5");
  EXPECT_EQ(smembers("chatd:node:n1:nicks"), "[bob]");
  EXPECT_EQ(smembers("chatd:node:n1:rooms"), "[r]");
  EXPECT_EQ(show(cmd({"ZSCORE", "chatd:rooms", "r"}).get()), "1");
  // The same connection joins a second room under the nick it holds.
  ASSERT_EQ(sync("s", "Es", 0, 10), "[Es|0|1|1|0]");
  EXPECT_EQ(pub("s", "Es", 'j', "n1", "5", "bob", "Bob"), "[1|Es]");
  EXPECT_EQ(get("chatd:nick:bob"), "n1 5");
  EXPECT_EQ(smembers("chatd:node:n1:rooms"), "[r|s]");
}

TEST_F(BrokerScriptTest, JoinRefusesANickHeldElsewhere) {
  room_with_node();
  ASSERT_EQ(beat("n2", true), "[ok|2|0]");
  ASSERT_EQ(sync("s", "Es", 0, 10), "[Es|0|1|1|0]");
  ASSERT_EQ(pub("r", "E1", 'j', "n1", "5", "bob", "Bob"), "[1|E1]");
  // In the same room, under the key the caller folded the case into.
  EXPECT_EQ(pub("r", "E1", 'j', "n2", "7", "bob", "BOB"), "!NICKTAKEN in the room");
  // In another room, by another node or another connection on the same node.
  EXPECT_EQ(pub("s", "Es", 'j', "n2", "7", "bob", "bOb"), "!NICKTAKEN by another connection");
  EXPECT_EQ(pub("s", "Es", 'j', "n1", "6", "bob", "bob"), "!NICKTAKEN by another connection");
  // Nothing was numbered or changed by the refusals.
  EXPECT_EQ(get("chatd:{r}:seq"), "1");
  EXPECT_EQ(get("chatd:{s}:seq"), "0");
  EXPECT_EQ(get("chatd:nick:bob"), "n1 5");
  EXPECT_EQ(members("s"), "[]");
  EXPECT_EQ(smembers("chatd:node:n2:nicks"), "[]");
  EXPECT_EQ(smembers("chatd:node:n2:rooms"), "[]");
  // Another key is another nick.
  EXPECT_EQ(pub("s", "Es", 'j', "n2", "7", "bobby", "bobby"), "[1|Es]");
}

TEST_F(BrokerScriptTest, MsgAndLeaveNeedTheMember) {
  room_with_node();
  ASSERT_EQ(beat("n2", true), "[ok|2|0]");
  ASSERT_EQ(pub("r", "E1", 'j', "n1", "5", "bob", "bob"), "[1|E1]");
  // Nobody under that key; the key held by another node; another connection
  // of the same node.
  EXPECT_EQ(pub("r", "E1", 'm', "n1", "5", "amy", "amy", "x"), "!NOTMEMBER of the room");
  EXPECT_EQ(pub("r", "E1", 'l', "n1", "5", "amy", "amy"), "!NOTMEMBER of the room");
  EXPECT_EQ(pub("r", "E1", 'm', "n2", "5", "bob", "bob", "x"), "!NOTMEMBER of the room");
  EXPECT_EQ(pub("r", "E1", 'm', "n1", "6", "bob", "bob", "x"), "!NOTMEMBER of the room");
  EXPECT_EQ(pub("r", "E1", 'l', "n1", "6", "bob", "bob"), "!NOTMEMBER of the room");
  EXPECT_EQ(get("chatd:{r}:seq"), "1");
  // The member itself may.
  EXPECT_EQ(pub("r", "E1", 'm', "n1", "5", "bob", "bob", "x"), "[2|E1]");
  EXPECT_EQ(pub("r", "E1", 'l', "n1", "5", "bob", "bob"), "[3|E1]");
  EXPECT_EQ(members("r"), "[]");
  EXPECT_EQ(show(cmd({"ZSCORE", "chatd:rooms", "r"}).get()), "nil");
  // Gone: a second leave is refused.
  EXPECT_EQ(pub("r", "E1", 'l', "n1", "5", "bob", "bob"), "!NOTMEMBER of the room");
  // A leave does not free the nick (release does).
  EXPECT_EQ(get("chatd:nick:bob"), "n1 5");
}

TEST_F(BrokerScriptTest, PubOnAnotherEpochAsksForAResync) {
  room_with_node();
  EXPECT_EQ(pub("r", "E0", 'j', "n1", "5", "bob", "bob"), "!RESYNC the room started again");
  // A room nobody synced has no epoch at all.
  EXPECT_EQ(pub("nowhere", "E1", 'j', "n1", "5", "bob", "bob"), "!RESYNC the room started again");
  EXPECT_EQ(get("chatd:{r}:seq"), "0");
  EXPECT_EQ(get("chatd:{nowhere}:seq"), "nil");
  EXPECT_EQ(get("chatd:nick:bob"), "nil");
}

TEST_F(BrokerScriptTest, JoinFromAnUnregisteredNodeIsReaped) {
  room_with_node();
  EXPECT_EQ(pub("r", "E1", 'j', "ghost", "5", "bob", "bob"), "!REAPED this node was declared dead");
  EXPECT_EQ(get("chatd:{r}:seq"), "0");
  EXPECT_EQ(get("chatd:nick:bob"), "nil");
  EXPECT_EQ(members("r"), "[]");
}

TEST_F(BrokerScriptTest, UnknownOperationIsAnError) {
  Reply r = run({"nope"});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->type, REDIS_REPLY_ERROR);
  EXPECT_EQ(show(r.get()), "!ERR unknown chatd operation");
}

// ---- sync ----

TEST_F(BrokerScriptTest, SyncStartsARoomUnderTheFreshEpochOnce) {
  EXPECT_EQ(sync("r", "E1", 0, 10), "[E1|0|1|1|0]");
  EXPECT_EQ(get("chatd:{r}:epoch"), "E1");
  EXPECT_EQ(get("chatd:{r}:seq"), "0");
  // A second sync keeps it: `fresh` is only for a room without an epoch.
  EXPECT_EQ(sync("r", "E2", 0, 10), "[E1|0|1|1|0]");
}

// Five events in r under E1, by n1 (member bob) and n2 (member amy).
class BrokerScriptSyncTest : public BrokerScriptTest {
 protected:
  void SetUp() override {
    BrokerScriptTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    room_with_node();
    ASSERT_EQ(beat("n2", true), "[ok|2|0]");
    ASSERT_EQ(pub("r", "E1", 'j', "n1", "5", "bob", "bob"), "[1|E1]");
    ASSERT_EQ(pub("r", "E1", 'j', "n2", "9", "amy", "Amy"), "[2|E1]");
    ASSERT_EQ(pub("r", "E1", 'm', "n1", "5", "bob", "bob", "three"), "[3|E1]");
    ASSERT_EQ(pub("r", "E1", 'm', "n2", "9", "amy", "Amy", "four"), "[4|E1]");
    ASSERT_EQ(pub("r", "E1", 'm', "n1", "5", "bob", "bob", "five"), "[5|E1]");
    e_ = {"",
          "E1 1 " + body('j', "n1", "bob"),
          "E1 2 " + body('j', "n2", "Amy"),
          "E1 3 " + body('m', "n1", "bob", "three"),
          "E1 4 " + body('m', "n2", "Amy", "four"),
          "E1 5 " + body('m', "n1", "bob", "five")};
  }
  std::vector<std::string> e_;  // e_[i]: the log entry of id i
};

TEST_F(BrokerScriptSyncTest, AfterZeroBringsTheNewestMax) {
  EXPECT_EQ(sync("r", "X", 0, 10, false),
            "[E1|5|1|1|0|" + e_[1] + "|" + e_[2] + "|" + e_[3] + "|" + e_[4] + "|" + e_[5] + "]");
  EXPECT_EQ(sync("r", "X", 0, 2, false), "[E1|5|1|4|0|" + e_[4] + "|" + e_[5] + "]");
}

TEST_F(BrokerScriptSyncTest, AfterKBringsWhatFollowsUpToMax) {
  EXPECT_EQ(sync("r", "X", 2, 10, false), "[E1|5|1|3|0|" + e_[3] + "|" + e_[4] + "|" + e_[5] + "]");
  EXPECT_EQ(sync("r", "X", 1, 2, false), "[E1|5|1|2|0|" + e_[2] + "|" + e_[3] + "]");
  // Up to date: nothing to bring.
  EXPECT_EQ(sync("r", "X", 5, 10, false), "[E1|5|1|6|0]");
}

TEST_F(BrokerScriptSyncTest, MembersComeWithTheSnapshot) {
  Reply r = run({"sync", "r", "X", "5", "10", "1", ""});
  ASSERT_TRUE(r && r->type == REDIS_REPLY_ARRAY) << show(r.get());
  ASSERT_EQ(r->elements, 7u) << show(r.get());
  EXPECT_EQ(r->element[4]->integer, 2);
  std::vector<std::string> got = {show(r->element[5]), show(r->element[6])};
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, (std::vector<std::string>{"1 n1 5 bob", "2 n2 9 Amy"}));
}

TEST_F(BrokerScriptSyncTest, AfterOlderThanTheTrimmedLogBringsTheNewest) {
  // One more event with retain 3 trims the log to ids 4..6.
  ASSERT_EQ(pub("r", "E1", 'm', "n1", "5", "bob", "bob", "six", "3"), "[6|E1]");
  const std::string e6 = "E1 6 " + body('m', "n1", "bob", "six");
  EXPECT_EQ(sync("r", "X", 1, 10, false), "[E1|6|4|4|0|" + e_[4] + "|" + e_[5] + "|" + e6 + "]");
  EXPECT_EQ(sync("r", "X", 2, 2, false), "[E1|6|4|5|0|" + e_[5] + "|" + e6 + "]");
  // After 3 is just before the oldest: nothing is missing.
  EXPECT_EQ(sync("r", "X", 3, 10, false), "[E1|6|4|4|0|" + e_[4] + "|" + e_[5] + "|" + e6 + "]");
}

TEST_F(BrokerScriptSyncTest, PageBringsTheOldestFirst) {
  // A history page: `after` + 1 on, at most `max`, never the newest instead.
  EXPECT_EQ(op({"sync", "r", "X", "1", "2", "0", "", "page"}),
            "[E1|5|1|2|0|" + e_[2] + "|" + e_[3] + "]");
  EXPECT_EQ(op({"sync", "r", "X", "0", "2", "0", "", "page"}),
            "[E1|5|1|1|0|" + e_[1] + "|" + e_[2] + "]");
  // A log trimmed past after: from the oldest kept on, never past after + max
  // (the page's `before`): ids 1..2 are gone, so nothing; 1..4 brings 4.
  ASSERT_EQ(pub("r", "E1", 'm', "n1", "5", "bob", "bob", "six", "3"), "[6|E1]");
  EXPECT_EQ(op({"sync", "r", "X", "0", "2", "0", "", "page"}), "[E1|6|4|4|0]");
  EXPECT_EQ(op({"sync", "r", "X", "0", "4", "0", "", "page"}), "[E1|6|4|4|0|" + e_[4] + "]");
}

TEST_F(BrokerScriptSyncTest, DiscardStartsTheRoomAgain) {
  // Another epoch as discard changes nothing.
  EXPECT_EQ(sync("r", "E2", 5, 10, false, "E0"), "[E1|5|1|6|0]");
  EXPECT_EQ(sync("r", "E2", 0, 10, true, "E1"), "[E2|0|1|1|0]");
  EXPECT_EQ(get("chatd:{r}:epoch"), "E2");
  EXPECT_EQ(get("chatd:{r}:seq"), "0");
  EXPECT_EQ(log("r"), "[]");
  EXPECT_EQ(members("r"), "[]");
  EXPECT_EQ(show(cmd({"ZSCORE", "chatd:rooms", "r"}).get()), "nil");
  // The old epoch's proposals are refused, the new one's numbered from 1.
  EXPECT_EQ(pub("r", "E1", 'm', "n1", "5", "bob", "bob", "x"), "!RESYNC the room started again");
  EXPECT_EQ(pub("r", "E2", 'j', "n1", "5", "bob", "bob"), "[1|E2]");
}

TEST_F(BrokerScriptSyncTest, AnEmptiedRedisStartsTheRoomUnderFresh) {
  ASSERT_EQ(show(cmd({"DEL", "chatd:{r}:epoch"}).get()), "1");
  // The node's `after` is past the new seq: nothing to bring, and the new
  // epoch tells the node to start again.
  EXPECT_EQ(sync("r", "E9", 5, 10, false), "[E9|0|1|6|0]");
  EXPECT_EQ(log("r"), "[]");
}

// ---- beat, bye: the reaper ----

TEST_F(BrokerScriptTest, BeatRegistersTheNode) {
  EXPECT_EQ(beat("n1"), "[ok|1|0]");
  EXPECT_EQ(beat("n2"), "[ok|2|0]");
  EXPECT_NE(show(cmd({"ZSCORE", "chatd:nodes", "n1"}).get()), "nil");
  const long long clock = std::stoll(get("chatd:clock"));
  EXPECT_LE(clock, now_ms());
  EXPECT_GE(clock, now_ms() - 60000);
}

TEST_F(BrokerScriptSyncTest, ASilentNodeIsReapedOnce) {
  ASSERT_EQ(sync("s", "Es", 0, 10), "[Es|0|1|1|0]");
  ASSERT_EQ(pub("s", "Es", 'j', "n2", "9", "amy", "Amy"), "[1|Es]");
  ASSERT_EQ(pub("s", "Es", 'j', "n2", "3", "cy", "Cy D"), "[2|Es]");
  ASSERT_EQ(pub("s", "Es", 'j', "n1", "5", "bob", "bob"), "[3|Es]");
  subscribe("s");
  ASSERT_EQ(beat("n1"), "[ok|2|0]");
  silence("n2", 10001);
  EXPECT_EQ(beat("n1"), "[ok|1|1]");

  // One leave per member of n2 in each of its rooms, numbered and published.
  auto leave_of = [&](const std::string& epoch, int id, const std::string& nick) {
    return epoch + " " + std::to_string(id) + " l <ts> n2 0 " + std::to_string(nick.size()) + " " +
           nick;
  };
  // The reaper stamps Redis' time: compare with the stamp masked.
  auto masked = [](std::string entry) {
    EventBody b;
    size_t at = entry.find(' ', entry.find(' ') + 1) + 1;
    if (!decode_event_body(std::string_view(entry).substr(at), b)) return "bad: " + entry;
    EXPECT_GT(b.ts, 1700000000000);
    size_t ts = entry.find(' ', at) + 1;
    return entry.substr(0, ts) + "<ts>" + entry.substr(entry.find(' ', ts));
  };
  Reply r_log = cmd({"LRANGE", "chatd:{r}:log", "5", "-1"});
  ASSERT_EQ(r_log->elements, 1u) << show(r_log.get());
  EXPECT_EQ(masked(show(r_log->element[0])), leave_of("E1", 6, "Amy"));
  Reply s_log = cmd({"LRANGE", "chatd:{s}:log", "3", "-1"});
  ASSERT_EQ(s_log->elements, 2u) << show(s_log.get());
  // Which of its members leaves first follows the hash's order.
  EXPECT_EQ(show(s_log->element[0]).substr(0, 5), "Es 4 ");
  EXPECT_EQ(show(s_log->element[1]).substr(0, 5), "Es 5 ");
  std::vector<std::string> s_leaves = {masked(show(s_log->element[0])).substr(5),
                                       masked(show(s_log->element[1])).substr(5)};
  std::sort(s_leaves.begin(), s_leaves.end());
  EXPECT_EQ(s_leaves, (std::vector<std::string>{leave_of("Es", 4, "Amy").substr(5),
                                                leave_of("Es", 5, "Cy D").substr(5)}));
  std::vector<std::string> pushed = {next_push(), next_push()};
  EXPECT_EQ(pushed,
            (std::vector<std::string>{"[message|chatd:{s}|" + show(s_log->element[0]) + "]",
                                      "[message|chatd:{s}|" + show(s_log->element[1]) + "]"}));

  // Its members, nicks and sets are gone; n1's stay; the mark is set.
  EXPECT_EQ(members("r"), "[bob|1 n1 5 bob]");
  EXPECT_EQ(members("s"), "[bob|3 n1 5 bob]");
  EXPECT_EQ(get("chatd:nick:amy"), "nil");
  EXPECT_EQ(get("chatd:nick:cy"), "nil");
  EXPECT_EQ(get("chatd:nick:bob"), "n1 5");
  EXPECT_EQ(show(cmd({"EXISTS", "chatd:node:n2:rooms", "chatd:node:n2:nicks"}).get()), "0");
  EXPECT_EQ(show(cmd({"ZSCORE", "chatd:nodes", "n2"}).get()), "nil");
  EXPECT_EQ(get("chatd:reaped:n2"), "1");
  const long long pttl = cmd({"PTTL", "chatd:reaped:n2"})->integer;
  EXPECT_GT(pttl, 0);
  EXPECT_LE(pttl, 86400000);
  EXPECT_EQ(show(cmd({"ZSCORE", "chatd:rooms", "r"}).get()), "1");
  EXPECT_EQ(show(cmd({"ZSCORE", "chatd:rooms", "s"}).get()), "1");

  // Exactly once: the next beat, of any node, reaps nothing more.
  EXPECT_EQ(beat("n1"), "[ok|1|0]");
  EXPECT_EQ(beat("n3"), "[ok|2|0]");
  EXPECT_EQ(get("chatd:{r}:seq"), "6");
  EXPECT_EQ(get("chatd:{s}:seq"), "5");
  // A nick it held is free for others.
  EXPECT_EQ(pub("s", "Es", 'j', "n1", "8", "amy", "amy"), "[6|Es]");
}

TEST_F(BrokerScriptSyncTest, AReapedNodeIsToldAndComesBackWithFirst) {
  ASSERT_EQ(beat("n1"), "[ok|2|0]");
  silence("n2", 10001);
  ASSERT_EQ(beat("n1"), "[ok|1|1]");
  // The dead node's next beat hears it, and is not registered by it.
  EXPECT_EQ(beat("n2"), "reaped");
  EXPECT_EQ(beat("n2"), "reaped");
  EXPECT_EQ(show(cmd({"ZSCORE", "chatd:nodes", "n2"}).get()), "nil");
  // Its publishes are refused meanwhile.
  EXPECT_EQ(pub("r", "E1", 'j', "n2", "9", "amy", "Amy"), "!REAPED this node was declared dead");
  EXPECT_EQ(pub("r", "E1", 'm', "n2", "9", "amy", "Amy", "x"), "!NOTMEMBER of the room");
  // Starting again (first) clears the mark and registers it.
  EXPECT_EQ(beat("n2", true), "[ok|2|0]");
  EXPECT_EQ(get("chatd:reaped:n2"), "nil");
  EXPECT_EQ(beat("n2"), "[ok|2|0]");
  EXPECT_EQ(pub("r", "E1", 'j', "n2", "9", "amy", "Amy"), "[7|E1]");
}

TEST_F(BrokerScriptTest, AMissingNodeWithoutTheMarkIsRegisteredAgain) {
  // Redis lost its data (or a node's first beat was lost): no mark, so not dead.
  ASSERT_EQ(beat("n1"), "[ok|1|0]");
  ASSERT_EQ(show(cmd({"ZREM", "chatd:nodes", "n1"}).get()), "1");
  EXPECT_EQ(beat("n1"), "[ok|1|0]");
  EXPECT_NE(show(cmd({"ZSCORE", "chatd:nodes", "n1"}).get()), "nil");
}

TEST_F(BrokerScriptSyncTest, APauseOfRedisGivesEveryNodeGrace) {
  ASSERT_EQ(beat("n1"), "[ok|2|0]");
  // Nobody beat for longer than ttl/2: Redis was paused (or cut off).
  silence("n2", 60000);
  ASSERT_EQ(show(cmd({"SET", "chatd:clock", std::to_string(now_ms() - 6000)}).get()), "OK");
  EXPECT_EQ(beat("n1"), "[ok|2|0]");
  // n2 was given a fresh ttl instead of being reaped.
  const long long score = std::stoll(show(cmd({"ZSCORE", "chatd:nodes", "n2"}).get()));
  EXPECT_GE(score, now_ms() - 5000);
  EXPECT_NE(members("r").find("amy"), std::string::npos);
  EXPECT_EQ(get("chatd:reaped:n2"), "nil");
  EXPECT_EQ(get("chatd:{r}:seq"), "5");
  EXPECT_EQ(beat("n1"), "[ok|2|0]");
  EXPECT_EQ(get("chatd:nick:amy"), "n2 9");
  // The clock gap just under ttl/2 is an ordinary beat: a silent node is reaped.
  silence("n2", 10001);
  ASSERT_EQ(show(cmd({"SET", "chatd:clock", std::to_string(now_ms() - 4000)}).get()), "OK");
  EXPECT_EQ(beat("n1"), "[ok|1|1]");
}

TEST_F(BrokerScriptSyncTest, FirstReapsTheNodesOwnEarlierLife) {
  // n1 restarts with the same id: its old members leave, its nicks are freed.
  EXPECT_EQ(beat("n1", true), "[ok|2|0]");
  EXPECT_EQ(members("r"), "[amy|2 n2 9 Amy]");
  EXPECT_EQ(get("chatd:nick:bob"), "nil");
  EXPECT_EQ(get("chatd:nick:amy"), "n2 9");
  EXPECT_EQ(get("chatd:{r}:seq"), "6");
  Reply last = cmd({"LINDEX", "chatd:{r}:log", "-1"});
  EventBody b;
  const std::string entry = show(last.get());
  ASSERT_EQ(entry.substr(0, 5), "E1 6 ");
  ASSERT_TRUE(decode_event_body(std::string_view(entry).substr(5), b)) << entry;
  EXPECT_EQ(b.kind, 'l');
  EXPECT_EQ(b.node, "n1");
  EXPECT_EQ(b.cookie, 0u);
  EXPECT_EQ(b.nick, "bob");
  EXPECT_EQ(get("chatd:reaped:n1"), "nil");
  EXPECT_NE(show(cmd({"ZSCORE", "chatd:nodes", "n1"}).get()), "nil");
  EXPECT_EQ(smembers("chatd:node:n1:rooms"), "[]");
}

TEST_F(BrokerScriptSyncTest, ByeReapsThisNode) {
  ASSERT_EQ(sync("s", "Es", 0, 10), "[Es|0|1|1|0]");
  ASSERT_EQ(pub("s", "Es", 'j', "n1", "5", "bob", "bob"), "[1|Es]");
  EXPECT_EQ(op({"bye", "n1", "0"}), "2");
  EXPECT_EQ(members("r"), "[amy|2 n2 9 Amy]");
  EXPECT_EQ(members("s"), "[]");
  EXPECT_EQ(get("chatd:{r}:seq"), "6");
  EXPECT_EQ(get("chatd:{s}:seq"), "2");
  EXPECT_EQ(get("chatd:nick:bob"), "nil");
  EXPECT_EQ(show(cmd({"ZSCORE", "chatd:nodes", "n1"}).get()), "nil");
  EXPECT_EQ(show(cmd({"ZSCORE", "chatd:rooms", "s"}).get()), "nil");
  EXPECT_EQ(get("chatd:reaped:n1"), "1");
  // Said twice (a retried shutdown): nothing more.
  EXPECT_EQ(op({"bye", "n1", "0"}), "0");
  EXPECT_EQ(get("chatd:{r}:seq"), "6");
}

TEST_F(BrokerScriptSyncTest, ReapingKeepsTheRetainCap) {
  ASSERT_EQ(beat("n1"), "[ok|2|0]");
  silence("n2", 10001);
  ASSERT_EQ(op({"beat", "n1", kTtl, "0", "2"}), "[ok|1|1]");
  EXPECT_EQ(show(cmd({"LLEN", "chatd:{r}:log"}).get()), "2");
}

// ---- rooms, release, forget ----

TEST_F(BrokerScriptTest, RoomsListsTheBusiestFirst) {
  room_with_node("quiet");
  ASSERT_EQ(beat("n2", true), "[ok|2|0]");
  ASSERT_EQ(sync("busy", "Eb", 0, 10), "[Eb|0|1|1|0]");
  ASSERT_EQ(sync("empty", "Ee", 0, 10), "[Ee|0|1|1|0]");
  ASSERT_EQ(pub("quiet", "E1", 'j', "n1", "1", "a", "a"), "[1|E1]");
  ASSERT_EQ(pub("quiet", "E1", 'm', "n1", "1", "a", "a", "x"), "[2|E1]");
  ASSERT_EQ(pub("quiet", "E1", 'm', "n1", "1", "a", "a", "y"), "[3|E1]");
  ASSERT_EQ(pub("busy", "Eb", 'j', "n1", "2", "b", "b"), "[1|Eb]");
  ASSERT_EQ(pub("busy", "Eb", 'j', "n2", "3", "c", "c"), "[2|Eb]");
  // Members on every node count; a room nobody is in is not listed.
  EXPECT_EQ(op({"rooms"}), "[busy|2|2|quiet|1|3]");
  ASSERT_EQ(pub("busy", "Eb", 'l', "n2", "3", "c", "c"), "[3|Eb]");
  ASSERT_EQ(pub("busy", "Eb", 'l', "n1", "2", "b", "b"), "[4|Eb]");
  EXPECT_EQ(op({"rooms"}), "[quiet|1|3]");
}

TEST_F(BrokerScriptTest, RoomsStopsAtAHundred) {
  ASSERT_EQ(beat("n1", true), "[ok|1|0]");
  for (int i = 0; i < 101; ++i) {
    std::string room = "r" + std::to_string(i);
    ASSERT_EQ(sync(room, "E", 0, 1), "[E|0|1|1|0]");
    ASSERT_EQ(pub(room, "E", 'j', "n1", std::to_string(i), "k" + std::to_string(i), "k"), "[1|E]");
  }
  Reply r = run({"rooms"});
  ASSERT_TRUE(r && r->type == REDIS_REPLY_ARRAY);
  EXPECT_EQ(r->elements, 300u);
}

TEST_F(BrokerScriptTest, ReleaseFreesOnlyTheHoldersNick) {
  room_with_node();
  ASSERT_EQ(pub("r", "E1", 'j', "n1", "5", "bob", "bob"), "[1|E1]");
  EXPECT_EQ(op({"release", "n1", "6", "bob"}), "1");
  EXPECT_EQ(op({"release", "n2", "5", "bob"}), "1");
  EXPECT_EQ(get("chatd:nick:bob"), "n1 5");
  EXPECT_EQ(smembers("chatd:node:n1:nicks"), "[bob]");
  EXPECT_EQ(op({"release", "n1", "5", "bob"}), "1");
  EXPECT_EQ(get("chatd:nick:bob"), "nil");
  EXPECT_EQ(smembers("chatd:node:n1:nicks"), "[]");
  // Releasing a nick nobody holds is harmless.
  EXPECT_EQ(op({"release", "n1", "5", "bob"}), "1");
}

TEST_F(BrokerScriptTest, ForgetTakesOutOnlyARoomWithNoneOfTheNodesMembers) {
  room_with_node();
  ASSERT_EQ(beat("n2", true), "[ok|2|0]");
  ASSERT_EQ(pub("r", "E1", 'j', "n1", "5", "bob", "bob"), "[1|E1]");
  ASSERT_EQ(pub("r", "E1", 'j', "n2", "6", "ann", "ann"), "[2|E1]");
  ASSERT_EQ(smembers("chatd:node:n1:rooms"), "[r]");
  // bob is still in: the reaper must still find him should n1 die.
  EXPECT_EQ(op({"forget", "n1", "r"}), "0");
  EXPECT_EQ(smembers("chatd:node:n1:rooms"), "[r]");
  ASSERT_EQ(pub("r", "E1", 'l', "n1", "5", "bob", "bob"), "[3|E1]");
  // Another node's member (ann on n2) does not keep the room in n1's rooms.
  EXPECT_EQ(op({"forget", "n1", "r"}), "1");
  EXPECT_EQ(smembers("chatd:node:n1:rooms"), "[]");
  EXPECT_EQ(smembers("chatd:node:n2:rooms"), "[r]");
  EXPECT_EQ(op({"forget", "n1", "r"}), "0") << "forgetting twice is harmless";
  // A join afterwards puts the room back.
  ASSERT_EQ(pub("r", "E1", 'j', "n1", "7", "cy", "cy"), "[4|E1]");
  EXPECT_EQ(smembers("chatd:node:n1:rooms"), "[r]");
}

}  // namespace
}  // namespace chatd
