// RedisClient against a real redis-server on a free loopback port, driven by
// our EventLoop as the app drives it. Every wait is for an event, bounded by a
// generous overall deadline; nothing asserts how long anything took.
#include "cluster/redis_client.h"

#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include <functional>
#include <string>
#include <vector>

#include "base/clock.h"
#include "cluster/redis_reply.h"
#include "redis_server.h"

namespace chatd {
namespace {

constexpr uint64_t kToken = 0x5eed;
constexpr int64_t kDeadlineMs = 30000;

// What one command's callback saw.
struct Reply {
  bool done = false;
  bool null = false;
  int type = 0;
  std::string str;
  long long integer = 0;
};

void record(void* data, const redisReply* r) {
  auto* out = static_cast<Reply*>(data);
  out->done = true;
  out->null = r == nullptr;
  if (!r) return;
  out->type = r->type;
  if (r->str) out->str.assign(r->str, r->len);
  out->integer = r->integer;
}

struct StateLog {
  std::vector<RedisState> states;
};
void log_state(void* data, RedisState s) {
  static_cast<StateLog*>(data)->states.push_back(s);
}

class RedisClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!test::RedisServer::available())
      GTEST_SKIP() << "no redis-server (scripts/install-deps.sh)";
    ASSERT_EQ(EventLoop::create(loop_), 0);
  }

  RedisUrl tcp_url(const std::string& extra = "") {
    RedisUrlResult r =
        parse_redis_url("redis://" + extra + "127.0.0.1:" + std::to_string(server_.port()));
    EXPECT_TRUE(r.ok) << r.error;
    return r.url;
  }

  // Runs the loop for `clients` (each on its own token) until pred() holds;
  // false after kDeadlineMs.
  bool run_until(std::vector<RedisClient*> clients, const std::function<bool()>& pred) {
    const int64_t end = mono_ms() + kDeadlineMs;
    while (!pred()) {
      int64_t now = mono_ms();
      if (now >= end) return false;
      int64_t timeout = 100;
      for (RedisClient* c : clients) {
        int64_t d = c->next_deadline_ms();
        if (d >= 0) timeout = std::max<int64_t>(0, std::min<int64_t>(d - now, timeout));
      }
      epoll_event ev[8];
      int n = loop_.wait(ev, 8, int(timeout));
      for (int i = 0; i < n; ++i) {
        bool known = false;
        for (RedisClient* c : clients) {
          if (ev[i].data.u64 != c->token()) continue;
          known = true;
          c->on_events(ev[i].events);
        }
        EXPECT_TRUE(known) << ev[i].data.u64;
      }
      for (RedisClient* c : clients) c->on_timer(mono_ms());
    }
    return true;
  }
  bool run_until(RedisClient& client, const std::function<bool()>& pred) {
    return run_until(std::vector<RedisClient*>{&client}, pred);
  }

  SendResult send(RedisClient& c, std::vector<std::string> args, Reply& out) {
    std::vector<const char*> argv;
    std::vector<size_t> len;
    for (auto& a : args) {
      argv.push_back(a.data());
      len.push_back(a.size());
    }
    return c.command(int(argv.size()), argv.data(), len.data(), record, &out);
  }

  EventLoop loop_;
  test::RedisServer server_;
};

TEST_F(RedisClientTest, ConnectsAndRoundTripsCommands) {
  ASSERT_TRUE(server_.start()) << server_.error();
  RedisClient client(loop_, kToken, tcp_url(), {});
  StateLog log;
  client.set_state_callback(log_state, &log);
  Reply early;
  EXPECT_EQ(send(client, {"PING"}, early), SendResult::not_ready);
  client.start();
  ASSERT_TRUE(run_until(client, [&] { return client.state() == RedisState::ready; }))
      << client.last_error();
  EXPECT_EQ(log.states, (std::vector<RedisState>{RedisState::connecting, RedisState::ready}));

  Reply set, get, missing, bad;
  std::string binary("v\0\r\nx", 5);
  ASSERT_EQ(send(client, {"SET", "k", binary}, set), SendResult::sent);
  ASSERT_EQ(send(client, {"GET", "k"}, get), SendResult::sent);
  ASSERT_EQ(send(client, {"GET", "nope"}, missing), SendResult::sent);
  ASSERT_EQ(send(client, {"INCR", "k"}, bad), SendResult::sent);
  EXPECT_EQ(client.in_flight(), 4u);
  ASSERT_TRUE(run_until(client, [&] { return bad.done; }));
  EXPECT_EQ(set.type, REDIS_REPLY_STATUS);
  EXPECT_EQ(set.str, "OK");
  EXPECT_EQ(get.type, REDIS_REPLY_STRING);
  EXPECT_EQ(get.str, binary);
  EXPECT_EQ(missing.type, REDIS_REPLY_NIL);
  EXPECT_EQ(bad.type, REDIS_REPLY_ERROR);
  EXPECT_EQ(client.in_flight(), 0u);
  EXPECT_EQ(client.stats().commands, 4u);
  EXPECT_EQ(client.stats().replies, 4u);
  EXPECT_EQ(client.stats().rtt.count, 4u);
  EXPECT_EQ(client.stats().connects, 1u);

  // Pub/sub needs its own connection kind: this client refuses it.
  Reply sub;
  EXPECT_EQ(send(client, {"subscribe", "room"}, sub), SendResult::refused);
  EXPECT_EQ(client.in_flight(), 0u);
}

// A callback may send the next command: the slot is free before it runs.
struct Chain {
  RedisClient* client;
  int left;
  int done = 0;
};
void chain_next(void* data, const redisReply* r) {
  auto* c = static_cast<Chain*>(data);
  if (!r || r->type != REDIS_REPLY_INTEGER) return;
  ++c->done;
  if (--c->left == 0) return;
  const char* argv[] = {"INCR", "chain"};
  size_t len[] = {4, 5};
  EXPECT_EQ(c->client->command(2, argv, len, chain_next, c), SendResult::sent);
}

TEST_F(RedisClientTest, CallbacksMaySendAndTheBoundIsExact) {
  ASSERT_TRUE(server_.start()) << server_.error();
  RedisClientOptions opts;
  opts.max_in_flight = 1;
  RedisClient client(loop_, kToken, tcp_url(), opts);
  client.start();
  ASSERT_TRUE(run_until(client, [&] { return client.state() == RedisState::ready; }));
  Chain chain{&client, 50};
  const char* argv[] = {"INCR", "chain"};
  size_t len[] = {4, 5};
  ASSERT_EQ(client.command(2, argv, len, chain_next, &chain), SendResult::sent);
  Reply over;
  EXPECT_EQ(send(client, {"PING"}, over), SendResult::full);
  EXPECT_EQ(client.stats().refused_full, 1u);
  ASSERT_TRUE(run_until(client, [&] { return chain.done == 50; }));
  Reply value;
  ASSERT_EQ(send(client, {"GET", "chain"}, value), SendResult::sent);
  ASSERT_TRUE(run_until(client, [&] { return value.done; }));
  EXPECT_EQ(value.str, "50");
}

TEST_F(RedisClientTest, UnixSocketAndDatabaseFromTheUrl) {
  ASSERT_TRUE(server_.start()) << server_.error();
  RedisUrlResult u = parse_redis_url("unix://" + server_.unix_path() + "?db=3");
  ASSERT_TRUE(u.ok) << u.error;
  RedisClient client(loop_, kToken, u.url, {});
  client.start();
  ASSERT_TRUE(run_until(client, [&] { return client.state() == RedisState::ready; }))
      << client.last_error();
  Reply set, info;
  ASSERT_EQ(send(client, {"SET", "where", "db3"}, set), SendResult::sent);
  ASSERT_EQ(send(client, {"CLIENT", "INFO"}, info), SendResult::sent);
  ASSERT_TRUE(run_until(client, [&] { return info.done; }));
  EXPECT_NE(info.str.find(" db=3 "), std::string::npos) << info.str;
  // The key is in database 3, not 0: seen from a plain blocking client.
  redisContext* check = redisConnect("127.0.0.1", server_.port());
  ASSERT_TRUE(check && !check->err);
  auto* r0 = static_cast<redisReply*>(redisCommand(check, "GET where"));
  EXPECT_EQ(r0->type, REDIS_REPLY_NIL);
  freeReplyObject(r0);
  freeReplyObject(redisCommand(check, "SELECT 3"));
  auto* r3 = static_cast<redisReply*>(redisCommand(check, "GET where"));
  EXPECT_EQ(std::string(r3->str, r3->len), "db3");
  freeReplyObject(r3);
  redisFree(check);
}

TEST_F(RedisClientTest, PasswordFromTheUrlAndAWrongOneBacksOff) {
  ASSERT_TRUE(server_.start({"--requirepass", "s3cret"})) << server_.error();
  {
    RedisClient good(loop_, kToken, tcp_url(":s3cret@"), {});
    good.start();
    ASSERT_TRUE(run_until(good, [&] { return good.state() == RedisState::ready; }))
        << good.last_error();
    Reply pong;
    ASSERT_EQ(send(good, {"PING"}, pong), SendResult::sent);
    ASSERT_TRUE(run_until(good, [&] { return pong.done; }));
    EXPECT_EQ(pong.str, "PONG");
  }
  RedisClientOptions opts;
  opts.backoff = {10, 40};
  RedisClient bad(loop_, kToken, tcp_url(":wrong@"), opts);
  bad.start();
  ASSERT_TRUE(run_until(bad, [&] { return bad.stats().connect_failures >= 3; }));
  EXPECT_EQ(bad.stats().connects, 0u);
  EXPECT_NE(bad.last_error().find("Redis refused AUTH/SELECT"), std::string::npos)
      << bad.last_error();
  EXPECT_EQ(bad.state(), RedisState::waiting);
}

TEST_F(RedisClientTest, KilledServerIsReportedAndANewOneOnThePortIsRejoined) {
  ASSERT_TRUE(server_.start()) << server_.error();
  RedisClientOptions opts;
  opts.backoff = {20, 200};
  opts.seed = 99;
  RedisClient client(loop_, kToken, tcp_url(), opts);
  StateLog log;
  client.set_state_callback(log_state, &log);
  client.start();
  ASSERT_TRUE(run_until(client, [&] { return client.state() == RedisState::ready; }));

  // Commands in flight when the server dies fail with a null reply.
  server_.signal(SIGSTOP);
  Reply a, b;
  ASSERT_EQ(send(client, {"PING"}, a), SendResult::sent);
  ASSERT_EQ(send(client, {"PING"}, b), SendResult::sent);
  server_.signal(SIGKILL);
  ASSERT_TRUE(run_until(client, [&] { return client.state() == RedisState::waiting; }));
  EXPECT_TRUE(a.done && a.null);
  EXPECT_TRUE(b.done && b.null);
  EXPECT_EQ(client.in_flight(), 0u);
  EXPECT_EQ(client.stats().disconnects, 1u);
  EXPECT_EQ(client.stats().failed, 2u);
  Reply refused;
  EXPECT_EQ(send(client, {"PING"}, refused), SendResult::not_ready);

  // Nothing listens: attempts fail, each after a backoff no shorter than half
  // its ceiling (the deadline is set when the attempt fails).
  uint64_t failures_seen = client.stats().connect_failures;
  int64_t last_deadline = client.next_deadline_ms();
  ASSERT_GE(last_deadline, 0);
  ASSERT_TRUE(run_until(client, [&] {
    if (client.stats().connect_failures != failures_seen) {
      failures_seen = client.stats().connect_failures;
      EXPECT_GE(client.next_deadline_ms(), last_deadline);
      last_deadline = client.next_deadline_ms();
    }
    return failures_seen >= 3;
  }));
  EXPECT_EQ(client.state(), RedisState::waiting);

  ASSERT_TRUE(server_.start()) << server_.error();
  ASSERT_TRUE(run_until(client, [&] { return client.state() == RedisState::ready; }))
      << client.last_error();
  EXPECT_EQ(client.stats().connects, 2u);
  Reply pong;
  ASSERT_EQ(send(client, {"PING"}, pong), SendResult::sent);
  ASSERT_TRUE(run_until(client, [&] { return pong.done; }));
  EXPECT_EQ(pong.str, "PONG");
  // connecting, ready, waiting, (connecting, waiting)*, connecting, ready
  ASSERT_GE(log.states.size(), 5u);
  EXPECT_EQ(log.states[1], RedisState::ready);
  EXPECT_EQ(log.states[2], RedisState::waiting);
  EXPECT_EQ(log.states.back(), RedisState::ready);
}

TEST_F(RedisClientTest, StoppedServerKeepsCommandsInFlightBoundedUntilContinued) {
  ASSERT_TRUE(server_.start()) << server_.error();
  RedisClientOptions opts;
  opts.max_in_flight = 8;
  RedisClient client(loop_, kToken, tcp_url(), opts);
  client.start();
  ASSERT_TRUE(run_until(client, [&] { return client.state() == RedisState::ready; }));
  server_.signal(SIGSTOP);
  std::vector<Reply> replies(8);
  for (size_t i = 0; i < replies.size(); ++i)
    ASSERT_EQ(send(client, {"INCR", "n"}, replies[i]), SendResult::sent);
  Reply over;
  EXPECT_EQ(send(client, {"INCR", "n"}, over), SendResult::full);
  // The loop keeps turning (the writes go out, nothing comes back) and the
  // client stays ready with its commands in flight.
  int turns = 0;
  ASSERT_TRUE(run_until(client, [&] { return ++turns > 20; }));
  EXPECT_EQ(client.state(), RedisState::ready);
  EXPECT_EQ(client.in_flight(), 8u);
  for (const Reply& r : replies) EXPECT_FALSE(r.done);
  server_.signal(SIGCONT);
  ASSERT_TRUE(run_until(client, [&] { return client.in_flight() == 0; }));
  for (size_t i = 0; i < replies.size(); ++i) {
    EXPECT_FALSE(replies[i].null);
    EXPECT_EQ(replies[i].integer, (long long)(i + 1)) << "in order";
  }
  EXPECT_EQ(client.stats().disconnects, 0u);
}

TEST_F(RedisClientTest, AHandshakeThatNeverAnswersTimesOut) {
  // A stopped server still completes TCP connects (the kernel's backlog), so
  // only AUTH's missing answer shows the attempt is stuck.
  ASSERT_TRUE(server_.start({"--requirepass", "pw"})) << server_.error();
  server_.signal(SIGSTOP);
  RedisClientOptions opts;
  opts.connect_timeout_ms = 200;
  opts.backoff = {10, 20};
  RedisClient client(loop_, kToken, tcp_url(":pw@"), opts);
  client.start();
  ASSERT_TRUE(run_until(client, [&] { return client.stats().connect_failures >= 1; }));
  EXPECT_NE(client.last_error().find("no connection within 200 ms"), std::string::npos)
      << client.last_error();
  server_.signal(SIGCONT);
  ASSERT_TRUE(run_until(client, [&] { return client.state() == RedisState::ready; }))
      << client.last_error();
}

TEST_F(RedisClientTest, DestroyingTheClientFailsWhatIsInFlight) {
  ASSERT_TRUE(server_.start()) << server_.error();
  Reply pending;
  {
    RedisClient client(loop_, kToken, tcp_url(), {});
    client.start();
    ASSERT_TRUE(run_until(client, [&] { return client.state() == RedisState::ready; }));
    server_.signal(SIGSTOP);
    ASSERT_EQ(send(client, {"PING"}, pending), SendResult::sent);
  }
  EXPECT_TRUE(pending.done && pending.null);
  server_.signal(SIGCONT);
  // The fd left the epoll set with the context.
  epoll_event ev[4];
  EXPECT_EQ(loop_.wait(ev, 4, 0), 0);
}

// Every push a subscription connection received, decoded.
struct Pushes {
  std::vector<PubSubMessage::Kind> kinds;
  std::vector<std::string> payloads;
  std::vector<long long> counts;
};
void record_push(void* data, const redisReply* r) {
  auto* p = static_cast<Pushes*>(data);
  PubSubMessage m;
  ASSERT_TRUE(decode_pubsub(r, m));
  p->kinds.push_back(m.kind);
  p->payloads.emplace_back(m.payload);
  p->counts.push_back(m.count);
}

TEST_F(RedisClientTest, SubscriptionsDeliverPushesAndSurviveAReconnectWhenRenewed) {
  ASSERT_TRUE(server_.start()) << server_.error();
  RedisClientOptions opts;
  opts.backoff = {10, 50};
  RedisClient sub(loop_, kToken + 1, tcp_url(), opts);
  RedisClient pub(loop_, kToken + 2, tcp_url(), opts);
  Pushes pushes;
  sub.set_push_callback(record_push, &pushes);
  sub.start();
  pub.start();
  std::vector<RedisClient*> both = {&sub, &pub};
  auto ready = [&] { return sub.state() == RedisState::ready && pub.state() == RedisState::ready; };
  ASSERT_TRUE(run_until(both, ready));
  EXPECT_EQ(sub.unsubscribe("room:a"), SendResult::refused) << "not subscribed yet";
  ASSERT_EQ(sub.subscribe("room:a"), SendResult::sent);
  ASSERT_TRUE(run_until(both, [&] { return pushes.kinds.size() == 1; }));
  EXPECT_EQ(pushes.kinds[0], PubSubMessage::Kind::subscribe);
  EXPECT_EQ(pushes.counts[0], 1);
  Reply refused;
  EXPECT_EQ(send(sub, {"GET", "x"}, refused), SendResult::refused) << "a subscribed connection";

  Reply published;
  ASSERT_EQ(send(pub, {"PUBLISH", "room:a", "e 1 hello"}, published), SendResult::sent);
  ASSERT_TRUE(run_until(both, [&] { return pushes.kinds.size() == 2 && published.done; }));
  EXPECT_EQ(pushes.kinds[1], PubSubMessage::Kind::message);
  EXPECT_EQ(pushes.payloads[1], "e 1 hello");
  EXPECT_EQ(published.integer, 1) << "one subscriber received it";

  // The connection drops: the subscription is gone with it. Renewed once
  // the client is ready again, messages flow again.
  server_.signal(SIGKILL);
  ASSERT_TRUE(run_until(both, [&] { return sub.state() == RedisState::waiting; }));
  ASSERT_TRUE(server_.start()) << server_.error();
  ASSERT_TRUE(run_until(both, ready));
  ASSERT_EQ(sub.subscribe("room:a"), SendResult::sent);
  ASSERT_TRUE(run_until(both, [&] { return pushes.kinds.size() == 3; }));
  Reply again;
  ASSERT_EQ(send(pub, {"PUBLISH", "room:a", "e 2 again"}, again), SendResult::sent);
  ASSERT_TRUE(run_until(both, [&] { return pushes.kinds.size() == 4; }));
  EXPECT_EQ(pushes.payloads[3], "e 2 again");

  ASSERT_EQ(sub.unsubscribe("room:a"), SendResult::sent);
  ASSERT_TRUE(run_until(both, [&] { return pushes.kinds.size() == 5; }));
  EXPECT_EQ(pushes.kinds[4], PubSubMessage::Kind::unsubscribe);
  EXPECT_EQ(pushes.counts[4], 0);
  // With no channel left it is an ordinary connection again.
  Reply pong;
  ASSERT_EQ(send(sub, {"PING"}, pong), SendResult::sent);
  ASSERT_TRUE(run_until(both, [&] { return pong.done; }));
  EXPECT_EQ(pong.str, "PONG");
}

TEST_F(RedisClientTest, NothingListeningMeansWaitingNotBlocking) {
  RedisUrl url =
      parse_redis_url("redis://127.0.0.1:" + std::to_string(test::free_loopback_port())).url;
  RedisClientOptions opts;
  opts.backoff = {5, 10};
  RedisClient client(loop_, kToken, url, opts);
  client.start();
  ASSERT_TRUE(run_until(client, [&] { return client.stats().connect_failures >= 3; }));
  EXPECT_EQ(client.state(), RedisState::waiting);
  EXPECT_FALSE(client.last_error().empty());
}

}  // namespace
}  // namespace chatd
