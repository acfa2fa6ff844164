#include "app/config.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "app/config_values.h"

namespace chatd {
namespace {

namespace fs = std::filesystem;

// A scratch tree with a binary's directory and the layouts the static
// directory is searched in: <root>/build/chatd next to <root>/static, and
// <root>/inst/bin/chatd next to <root>/inst/share/chatd/static.
class ConfigTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    char tmpl[] = "/tmp/chatd-config-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    root_ = fs::canonical(tmpl);
    fs::create_directories(root_ / "build");
    fs::create_directories(root_ / "static");
    fs::create_directories(root_ / "inst" / "bin");
    fs::create_directories(root_ / "inst" / "share" / "chatd" / "static");
    fs::create_directories(root_ / "bare" / "bin");
    fs::create_directories(root_ / "cwd" / "static");
  }
  static void TearDownTestSuite() { fs::remove_all(root_); }

  static std::string exe() { return (root_ / "build" / "chatd").string(); }

  // Runs parse_config over "chatd" + args with env as NAME=value strings.
  static ConfigResult parse(std::vector<std::string> args, std::vector<std::string> env = {},
                            std::string exe_path = exe()) {
    std::vector<const char*> argv{"chatd"}, envp;
    for (auto& a : args) argv.push_back(a.c_str());
    argv.push_back(nullptr);
    for (auto& e : env) envp.push_back(e.c_str());
    envp.push_back(nullptr);
    return parse_config(int(argv.size() - 1), argv.data(), envp.data(), exe_path);
  }

  static fs::path root_;
};
fs::path ConfigTest::root_;

TEST_F(ConfigTest, DefaultsMatchTheProtocol) {
  ConfigResult r = parse({});
  ASSERT_EQ(r.action, ConfigAction::run) << r.message;
  const Config& c = r.config;
  EXPECT_EQ(c.host, "0.0.0.0");
  EXPECT_EQ(c.port, 8080);
  EXPECT_EQ(c.static_dir, (root_ / "static").string());
  EXPECT_TRUE(c.allow_origins.empty());
  EXPECT_EQ(c.rate, 20u);
  EXPECT_EQ(c.burst, 40u);
  EXPECT_EQ(c.max_message, 64u * 1024);
  EXPECT_EQ(c.max_backlog, 4u * 1024 * 1024);
  EXPECT_EQ(c.max_conn, 10000u);
  EXPECT_EQ(c.max_conn_per_ip, 1000u);
  EXPECT_EQ(c.ping_interval_s, 30u);
  EXPECT_EQ(c.idle_timeout_s, 60u);
  EXPECT_EQ(c.head_timeout_s, 10u);
  EXPECT_EQ(c.shutdown_grace_ms, 3000u);
  EXPECT_EQ(c.db, "chatd.db");
  EXPECT_FALSE(c.fsync);
  EXPECT_EQ(c.retain_events, 100000u);
  EXPECT_EQ(c.retain_days, 0u);
}

// Every numeric setting: its flag, its environment name, a value other than
// the default, and where it lands.
struct NumericCase {
  const char* flag;
  const char* env;
  const char* text;
  uint64_t want;
  std::function<uint64_t(const Config&)> get;
};

const NumericCase kNumeric[] = {
    {"port", "CHATD_PORT", "9000", 9000, [](const Config& c) { return c.port; }},
    {"port", "CHATD_PORT", "0", 0, [](const Config& c) { return c.port; }},
    {"port", "CHATD_PORT", "65535", 65535, [](const Config& c) { return c.port; }},
    {"rate", "CHATD_RATE", "0", 0, [](const Config& c) { return c.rate; }},
    {"rate", "CHATD_RATE", "5", 5, [](const Config& c) { return c.rate; }},
    {"burst", "CHATD_BURST", "1", 1, [](const Config& c) { return c.burst; }},
    {"max-message", "CHATD_MAX_MESSAGE", "126", 126, [](const Config& c) { return c.max_message; }},
    {"max-message", "CHATD_MAX_MESSAGE", "4M", 4 << 20,
     [](const Config& c) { return c.max_message; }},
    {"max-message", "CHATD_MAX_MESSAGE", "1KiB", 1024,
     [](const Config& c) { return c.max_message; }},
    {"max-message", "CHATD_MAX_MESSAGE", "2k", 2048, [](const Config& c) { return c.max_message; }},
    {"max-backlog", "CHATD_MAX_BACKLOG", "8MiB", 8 << 20,
     [](const Config& c) { return c.max_backlog; }},
    {"max-backlog", "CHATD_MAX_BACKLOG", "1m", 1 << 20,
     [](const Config& c) { return c.max_backlog; }},
    {"max-backlog", "CHATD_MAX_BACKLOG", "70000", 70000,
     [](const Config& c) { return c.max_backlog; }},
    {"max-conn", "CHATD_MAX_CONN", "50", 50, [](const Config& c) { return c.max_conn; }},
    {"max-conn-per-ip", "CHATD_MAX_CONN_PER_IP", "3", 3,
     [](const Config& c) { return c.max_conn_per_ip; }},
    {"ping-interval", "CHATD_PING_INTERVAL", "5", 5,
     [](const Config& c) { return c.ping_interval_s; }},
    {"idle-timeout", "CHATD_IDLE_TIMEOUT", "31", 31,
     [](const Config& c) { return c.idle_timeout_s; }},
    {"head-timeout", "CHATD_HEAD_TIMEOUT", "1", 1,
     [](const Config& c) { return c.head_timeout_s; }},
    {"shutdown-grace", "CHATD_SHUTDOWN_GRACE", "0", 0,
     [](const Config& c) { return c.shutdown_grace_ms; }},
    {"shutdown-grace", "CHATD_SHUTDOWN_GRACE", "250", 250,
     [](const Config& c) { return c.shutdown_grace_ms; }},
    {"retain-events", "CHATD_RETAIN_EVENTS", "0", 0,
     [](const Config& c) { return c.retain_events; }},
    {"retain-events", "CHATD_RETAIN_EVENTS", "1000000000", 1000000000,
     [](const Config& c) { return c.retain_events; }},
    {"retain-days", "CHATD_RETAIN_DAYS", "30", 30, [](const Config& c) { return c.retain_days; }},
    {"retain-days", "CHATD_RETAIN_DAYS", "36500", 36500,
     [](const Config& c) { return c.retain_days; }},
};

TEST_F(ConfigTest, EveryNumericFlagInEveryForm) {
  for (const NumericCase& t : kNumeric) {
    SCOPED_TRACE(std::string(t.flag) + "=" + t.text);
    std::string flag = std::string("--") + t.flag, env = std::string(t.env) + "=" + t.text;
    for (ConfigResult r : {parse({flag, t.text}), parse({flag + "=" + t.text}), parse({}, {env}),
                           parse({flag, t.text}, {std::string(t.env) + "=77777777"})}) {
      ASSERT_EQ(r.action, ConfigAction::run) << r.message;
      EXPECT_EQ(t.get(r.config), t.want);
    }
  }
}

TEST_F(ConfigTest, TextFlags) {
  struct Case {
    std::vector<std::string> args, env;
    std::string host;
    std::vector<std::string> origins;
  } cases[] = {
      {{"--host", "127.0.0.1"}, {}, "127.0.0.1", {}},
      {{"--host=::1"}, {}, "::1", {}},
      {{"--host", "[::1]"}, {}, "::1", {}},
      {{"--host", "localhost"}, {}, "localhost", {}},
      {{}, {"CHATD_HOST=10.0.0.5"}, "10.0.0.5", {}},
      {{"--host", "127.0.0.1"}, {"CHATD_HOST=10.0.0.5"}, "127.0.0.1", {}},
      {{"--allow-origin", "*"}, {}, "0.0.0.0", {"*"}},
      {{"--allow-origin", "HTTPS://Chat.Example.ORG/"},
       {},
       "0.0.0.0",
       {"https://chat.example.org"}},
      {{"--allow-origin", "http://a:81", "--allow-origin=https://[::1]:8443"},
       {},
       "0.0.0.0",
       {"http://a:81", "https://[::1]:8443"}},
      {{},
       {"CHATD_ALLOW_ORIGIN=http://a:1, https://b  *"},
       "0.0.0.0",
       {"http://a:1", "https://b", "*"}},
      {{"--allow-origin", "http://flag"},
       {"CHATD_ALLOW_ORIGIN=http://env"},
       "0.0.0.0",
       {"http://flag"}},
  };
  for (const Case& t : cases) {
    SCOPED_TRACE(::testing::PrintToString(t.args) + ::testing::PrintToString(t.env));
    ConfigResult r = parse(t.args, t.env);
    ASSERT_EQ(r.action, ConfigAction::run) << r.message;
    EXPECT_EQ(r.config.host, t.host);
    EXPECT_EQ(r.config.allow_origins, t.origins);
  }
}

TEST_F(ConfigTest, StorageFlags) {
  struct Case {
    std::vector<std::string> args, env;
    std::string db;
    bool fsync;
  } cases[] = {
      {{"--db", "/var/lib/chatd/chatd.db"}, {}, "/var/lib/chatd/chatd.db", false},
      {{"--db=:memory:"}, {}, ":memory:", false},
      {{}, {"CHATD_DB=rel/x.db"}, "rel/x.db", false},
      {{"--db", "flag.db"}, {"CHATD_DB=env.db"}, "flag.db", false},
      {{"--fsync"}, {}, "chatd.db", true},
      {{"--fsync", "--port", "1"}, {}, "chatd.db", true},  // a switch takes no value
      {{"--port", "1", "--fsync"}, {}, "chatd.db", true},
      {{"--fsync=no"}, {}, "chatd.db", false},
      {{"--fsync=TRUE"}, {}, "chatd.db", true},
      {{}, {"CHATD_FSYNC=1"}, "chatd.db", true},
      {{}, {"CHATD_FSYNC=off"}, "chatd.db", false},
      {{"--fsync"}, {"CHATD_FSYNC=0"}, "chatd.db", true},
      {{"--fsync=off"}, {"CHATD_FSYNC=yes"}, "chatd.db", false},
  };
  for (const Case& t : cases) {
    SCOPED_TRACE(::testing::PrintToString(t.args) + ::testing::PrintToString(t.env));
    ConfigResult r = parse(t.args, t.env);
    ASSERT_EQ(r.action, ConfigAction::run) << r.message;
    EXPECT_EQ(r.config.db, t.db);
    EXPECT_EQ(r.config.fsync, t.fsync);
  }
  // "--fsync 1": the 1 is not the switch's value but a stray argument.
  EXPECT_EQ(parse({"--fsync", "1"}).message, "chatd: unexpected argument \"1\" (see --help)");
}

TEST_F(ConfigTest, PortPrecedenceFlagThenChatdPortThenPort) {
  struct Case {
    std::vector<std::string> args, env;
    uint16_t want;
  } cases[] = {
      {{}, {"PORT=10000"}, 10000},
      {{}, {"PORT=10000", "CHATD_PORT=10001"}, 10001},
      {{}, {"CHATD_PORT=10001", "PORT=10000"}, 10001},
      {{"--port", "10002"}, {"PORT=10000", "CHATD_PORT=10001"}, 10002},
      {{"--port=0"}, {"PORT=10000"}, 0},
      {{}, {"PORT="}, 8080},  // empty is unset
      {{}, {"CHATD_PORT=", "PORT=10000"}, 10000},
      {{"--port", "1", "--port", "2"}, {}, 2},  // the last flag wins
      {{}, {"XPORT=1", "PORTX=2", "CHATD_PORTX=3"}, 8080},
  };
  for (const Case& t : cases) {
    SCOPED_TRACE(::testing::PrintToString(t.args) + ::testing::PrintToString(t.env));
    ConfigResult r = parse(t.args, t.env);
    ASSERT_EQ(r.action, ConfigAction::run) << r.message;
    EXPECT_EQ(r.config.port, t.want);
  }
}

TEST_F(ConfigTest, EveryErrorIsOneClearLine) {
  struct Case {
    std::vector<std::string> args, env;
    std::string want;
  } cases[] = {
      {{"--nope"}, {}, "chatd: unknown option --nope (see --help)"},
      {{"--nope=1"}, {}, "chatd: unknown option --nope (see --help)"},
      {{"-p", "1"}, {}, "chatd: unexpected argument \"-p\" (see --help)"},
      {{"8080"}, {}, "chatd: unexpected argument \"8080\" (see --help)"},
      {{"--port"}, {}, "chatd: --port: missing value (see --help)"},
      {{"--port", "--host", "x"}, {}, "chatd: --port: missing value (see --help)"},
      {{"--port", "abc"}, {}, "chatd: --port: \"abc\" is not a number (see --help)"},
      {{"--port="}, {}, "chatd: --port: \"\" is not a number (see --help)"},
      {{"--port", "-1"}, {}, "chatd: --port: \"-1\" is not a number (see --help)"},
      {{"--port", "+1"}, {}, "chatd: --port: \"+1\" is not a number (see --help)"},
      {{"--port", " 1"}, {}, "chatd: --port: \" 1\" is not a number (see --help)"},
      {{"--port", "65536"}, {}, "chatd: --port: 65536 is out of range (0..65535)"},
      {{"--port", "99999999999999999999"},
       {},
       "chatd: --port: \"99999999999999999999\" is not a number (see --help)"},
      {{}, {"CHATD_PORT=abc"}, "chatd: CHATD_PORT: \"abc\" is not a number (see --help)"},
      {{}, {"PORT=70000"}, "chatd: PORT: 70000 is out of range (0..65535)"},
      {{"--host", ""}, {}, "chatd: --host: \"\" is not an address or host name"},
      {{"--host", "a b"}, {}, "chatd: --host: \"a b\" is not an address or host name"},
      {{"--rate", "1.5"}, {}, "chatd: --rate: \"1.5\" is not a number (see --help)"},
      {{"--rate", "1000001"}, {}, "chatd: --rate: 1000001 is out of range (0..1000000)"},
      {{"--burst", "0"}, {}, "chatd: --burst: 0 is out of range (1..1000000)"},
      {{"--max-message", "125"}, {}, "chatd: --max-message: 125 is out of range (126..16777216)"},
      {{"--max-message", "17M"},
       {},
       "chatd: --max-message: 17825792 is out of range (126..16777216)"},
      {{"--max-message", "1G"},
       {},
       "chatd: --max-message: \"1G\" is not a size (bytes, or with K, M, KiB, MiB) (see --help)"},
      {{"--max-message", "K"},
       {},
       "chatd: --max-message: \"K\" is not a size (bytes, or with K, M, KiB, MiB) (see --help)"},
      {{"--max-backlog", "2G"},
       {},
       "chatd: --max-backlog: \"2G\" is not a size (bytes, or with K, M, KiB, MiB) (see --help)"},
      {{"--max-backlog", "1025M"},
       {},
       "chatd: --max-backlog: 1074790400 is out of range (126..1073741824)"},
      {{"--max-backlog", "1K"},
       {},
       "chatd: --max-backlog (1024) must be at least --max-message (65536)"},
      {{"--max-conn", "0"}, {}, "chatd: --max-conn: 0 is out of range (1..1000000)"},
      {{"--max-conn-per-ip", "0"}, {}, "chatd: --max-conn-per-ip: 0 is out of range (1..1000000)"},
      {{"--ping-interval", "0"}, {}, "chatd: --ping-interval: 0 is out of range (1..86400)"},
      {{"--idle-timeout", "30"},
       {},
       "chatd: --idle-timeout (30 s) must be greater than --ping-interval (30 s)"},
      {{"--ping-interval", "90"},
       {},
       "chatd: --idle-timeout (60 s) must be greater than --ping-interval (90 s)"},
      {{"--idle-timeout", "86401"}, {}, "chatd: --idle-timeout: 86401 is out of range (2..86400)"},
      {{"--head-timeout", "0"}, {}, "chatd: --head-timeout: 0 is out of range (1..86400)"},
      {{"--shutdown-grace", "600001"},
       {},
       "chatd: --shutdown-grace: 600001 is out of range (0..600000)"},
      {{"--allow-origin", "example.org"},
       {},
       "chatd: --allow-origin: \"example.org\" is not an origin like https://chat.example.org or "
       "'*'"},
      {{},
       {"CHATD_ALLOW_ORIGIN=http://ok ftp://no"},
       "chatd: CHATD_ALLOW_ORIGIN: \"ftp://no\" is not an origin like https://chat.example.org or "
       "'*'"},
      {{"--static", "/nonexistent/chatd"},
       {},
       "chatd: --static: \"/nonexistent/chatd\" is not a directory"},
      {{},
       {"CHATD_STATIC=/nonexistent/chatd"},
       "chatd: CHATD_STATIC: \"/nonexistent/chatd\" is not a directory"},
      {{"--help=1"}, {}, "chatd: unknown option --help (see --help)"},
      {{"--db", ""}, {}, "chatd: --db: \"\" is not a file name"},
      {{"--db="}, {}, "chatd: --db: \"\" is not a file name"},
      {{"--db"}, {}, "chatd: --db: missing value (see --help)"},
      {{"--fsync=maybe"}, {}, "chatd: --fsync: \"maybe\" is not yes/no, true/false, on/off or 1/0"},
      {{}, {"CHATD_FSYNC=2"}, "chatd: CHATD_FSYNC: \"2\" is not yes/no, true/false, on/off or 1/0"},
      {{"--fsync", "--db", ":memory:"},
       {},
       "chatd: --fsync needs a database file; --db is :memory:"},
      {{"--fsync", "--redis", "redis://127.0.0.1:6379"},
       {},
       "chatd: --fsync is for the SQLite store, which --redis does not use (Redis' own "
       "persistence keeps the logs: docs/CLUSTER.md)"},
      {{"--retain-events", "-1"},
       {},
       "chatd: --retain-events: \"-1\" is not a number (see --help)"},
      {{"--retain-events", "1000000001"},
       {},
       "chatd: --retain-events: 1000000001 is out of range (0..1000000000)"},
      {{"--retain-days", "36501"}, {}, "chatd: --retain-days: 36501 is out of range (0..36500)"},
  };
  for (const Case& t : cases) {
    SCOPED_TRACE(::testing::PrintToString(t.args) + ::testing::PrintToString(t.env));
    ConfigResult r = parse(t.args, t.env);
    EXPECT_EQ(r.action, ConfigAction::error);
    EXPECT_EQ(r.message, t.want);
    EXPECT_EQ(r.message.find('\n'), std::string::npos);
  }
}

TEST_F(ConfigTest, HelpAndVersionWinOverEverythingAfterThem) {
  for (auto args : std::vector<std::vector<std::string>>{
           {"--help"}, {"-h"}, {"--port", "1", "--help", "--nope"}, {"--help"}}) {
    ConfigResult r = parse(args, {"CHATD_PORT=abc"});
    EXPECT_EQ(r.action, ConfigAction::help);
    EXPECT_EQ(r.message, config_help());
  }
  ConfigResult v = parse({"--version", "--port", "abc"});
  EXPECT_EQ(v.action, ConfigAction::version);
  EXPECT_EQ(v.message, kVersion);
  EXPECT_EQ(parse({"--nope", "--help"}).action, ConfigAction::error);
}

TEST_F(ConfigTest, HelpNamesEveryFlagItsDefaultAndItsEnv) {
  std::string h = config_help();
  const char* expected[] = {
      "--host ADDR",
      "CHATD_HOST",
      "default 0.0.0.0",
      "--port N",
      "CHATD_PORT",
      "default 8080",
      "PORT",
      "--static DIR",
      "CHATD_STATIC",
      "--allow-origin",
      "CHATD_ALLOW_ORIGIN",
      "--rate N",
      "CHATD_RATE",
      "default 20",
      "--burst N",
      "CHATD_BURST",
      "default 40",
      "--max-message BYTES",
      "CHATD_MAX_MESSAGE",
      "default 64 KiB",
      "--max-backlog BYTES",
      "CHATD_MAX_BACKLOG",
      "default 4 MiB",
      "--max-conn N",
      "CHATD_MAX_CONN",
      "default 10000",
      "--max-conn-per-ip N",
      "CHATD_MAX_CONN_PER_IP",
      "default 1000",
      "--ping-interval SECONDS",
      "CHATD_PING_INTERVAL",
      "default 30",
      "--idle-timeout SECONDS",
      "CHATD_IDLE_TIMEOUT",
      "default 60",
      "--head-timeout SECONDS",
      "CHATD_HEAD_TIMEOUT",
      "default 10",
      "--shutdown-grace MS",
      "CHATD_SHUTDOWN_GRACE",
      "default 3000",
      "--db FILE",
      "CHATD_DB",
      "default chatd.db",
      "--fsync ",
      "CHATD_FSYNC",
      "default off",
      "--retain-events N",
      "CHATD_RETAIN_EVENTS",
      "default 100000",
      "--retain-days D",
      "CHATD_RETAIN_DAYS",
      "--reuse-port",
      "CHATD_REUSE_PORT",
      "--trusted-proxy CIDR",
      "CHATD_TRUSTED_PROXY",
      "--redis URL",
      "CHATD_REDIS",
      "several nodes as one service",
      "--node-id ID",
      "CHATD_NODE_ID",
      "--node-timeout SECONDS",
      "CHATD_NODE_TIMEOUT",
      "--help",
      "--version",
  };
  for (const char* s : expected) EXPECT_NE(h.find(s), std::string::npos) << s;
}

TEST_F(ConfigTest, ReusePortIsASwitch) {
  EXPECT_FALSE(parse({}).config.reuse_port);
  ConfigResult r = parse({"--reuse-port", "--port", "9000"});
  ASSERT_EQ(r.action, ConfigAction::run) << r.message;
  EXPECT_TRUE(r.config.reuse_port);
  EXPECT_EQ(r.config.port, 9000);
  EXPECT_FALSE(parse({"--reuse-port=no"}).config.reuse_port);
  EXPECT_TRUE(parse({"--reuse-port=TRUE"}).config.reuse_port);
  EXPECT_TRUE(parse({}, {"CHATD_REUSE_PORT=1"}).config.reuse_port);
  EXPECT_FALSE(parse({}, {"CHATD_REUSE_PORT=off"}).config.reuse_port);
  ConfigResult bad = parse({}, {"CHATD_REUSE_PORT=maybe"});
  EXPECT_EQ(bad.action, ConfigAction::error);
  EXPECT_EQ(bad.message,
            "chatd: CHATD_REUSE_PORT: \"maybe\" is not yes/no, true/false, on/off or 1/0");
}

TEST_F(ConfigTest, TrustedProxiesRepeatAndComeFromAList) {
  EXPECT_TRUE(parse({}).config.trusted_proxies.empty());
  ConfigResult r = parse({"--trusted-proxy", "127.0.0.0/8", "--trusted-proxy=fd00::/8"});
  ASSERT_EQ(r.action, ConfigAction::run) << r.message;
  ASSERT_EQ(r.config.trusted_proxies.size(), 2u);
  EXPECT_EQ(r.config.trusted_proxies[0].bits, 104);
  EXPECT_EQ(r.config.trusted_proxies[1].bits, 8);
  ConfigResult env = parse({}, {"CHATD_TRUSTED_PROXY=10.0.0.0/8, 192.168.0.0/16 ::1"});
  ASSERT_EQ(env.action, ConfigAction::run) << env.message;
  EXPECT_EQ(env.config.trusted_proxies.size(), 3u);
  // Flags replace the environment's list.
  ConfigResult both = parse({"--trusted-proxy", "::1"}, {"CHATD_TRUSTED_PROXY=10.0.0.0/8"});
  EXPECT_EQ(both.config.trusted_proxies.size(), 1u);
  ConfigResult bad = parse({"--trusted-proxy", "10.0.0.1/8"});
  EXPECT_EQ(bad.action, ConfigAction::error);
  EXPECT_EQ(bad.message,
            "chatd: --trusted-proxy: \"10.0.0.1/8\" is not an address range like 10.0.0.0/8 or "
            "fd00::/8");
}

TEST_F(ConfigTest, RedisNodeIdAndTimeoutAreParsedAndChecked) {
  ConfigResult none = parse({});
  EXPECT_TRUE(none.config.redis_url.empty());
  EXPECT_TRUE(none.config.node_id.empty());
  EXPECT_EQ(none.config.node_timeout_s, 10u);
  ConfigResult r = parse(
      {"--redis", "redis://:pw@127.0.0.1:6380/2", "--node-id", "web-1.a_b", "--node-timeout", "5"});
  ASSERT_EQ(r.action, ConfigAction::run) << r.message;
  EXPECT_EQ(r.config.redis_url, "redis://:pw@127.0.0.1:6380/2");
  EXPECT_EQ(r.config.redis.port, 6380);
  EXPECT_EQ(r.config.redis.db, 2u);
  EXPECT_EQ(r.config.redis.password, "pw");
  EXPECT_EQ(r.config.node_id, "web-1.a_b");
  EXPECT_EQ(r.config.node_timeout_s, 5u);
  ConfigResult env = parse({}, {"CHATD_REDIS=unix:///run/redis.sock?db=1", "CHATD_NODE_ID=n2"});
  ASSERT_EQ(env.action, ConfigAction::run) << env.message;
  EXPECT_EQ(env.config.redis.path, "/run/redis.sock");
  struct Bad {
    std::vector<std::string> args;
    const char* message;
  };
  const Bad bad[] = {
      {{"--redis", "localhost:6379"},
       "chatd: --redis: \"localhost:6379\" is not a Redis URL "
       "(redis://[user:password@]host:port[/db] "
       "or unix:///path/redis.sock[?db=N])"},
      {{"--redis", "redis://h:99999"}, "chatd: --redis: \"99999\" is not a port (1..65535)"},
      {{"--redis", "redis://h", "--node-id", "a b"},
       "chatd: --node-id: \"a b\" is not a node id (1-64 letters, digits, '.', '_', '-')"},
      {{"--redis", "redis://h", "--node-timeout", "0"},
       "chatd: --node-timeout: 0 is out of range (1..86400)"},
      {{"--node-id", "n1"}, "chatd: --node-id is used only with --redis"},
      {{"--node-timeout", "3"}, "chatd: --node-timeout is used only with --redis"},
  };
  for (const Bad& b : bad) {
    ConfigResult e = parse(b.args);
    EXPECT_EQ(e.action, ConfigAction::error);
    EXPECT_EQ(e.message, b.message);
  }
  EXPECT_EQ(parse({"--redis", "redis://h", "--node-id", std::string(65, 'n')}).action,
            ConfigAction::error);
}

TEST_F(ConfigTest, StaticDirectorySearch) {
  auto inst = (root_ / "inst" / "bin" / "chatd").string();
  auto bare = (root_ / "bare" / "bin" / "chatd").string();
  EXPECT_EQ(parse({}, {}, exe()).config.static_dir, (root_ / "static").string());
  EXPECT_EQ(parse({}, {}, inst).config.static_dir,
            (root_ / "inst" / "share" / "chatd" / "static").string());
  // An explicit directory wins over the search, and is made absolute.
  ConfigResult given = parse({"--static", (root_ / "inst" / ".." / "cwd" / "static").string()});
  ASSERT_EQ(given.action, ConfigAction::run) << given.message;
  EXPECT_EQ(given.config.static_dir, (root_ / "cwd" / "static").string());
  EXPECT_EQ(parse({}, {"CHATD_STATIC=" + (root_ / "cwd/static").string()}).config.static_dir,
            (root_ / "cwd" / "static").string());

  // Nothing next to the binary: ./static of the working directory, else an error.
  std::string old_cwd = fs::current_path();
  fs::current_path(root_ / "cwd");
  ConfigResult from_cwd = parse({}, {}, bare);
  fs::current_path(root_ / "bare");
  ConfigResult none = parse({}, {}, bare);
  fs::current_path(old_cwd);
  ASSERT_EQ(from_cwd.action, ConfigAction::run) << from_cwd.message;
  EXPECT_EQ(from_cwd.config.static_dir, (root_ / "cwd" / "static").string());
  EXPECT_EQ(none.action, ConfigAction::error);
  std::string r = root_.string();
  EXPECT_EQ(none.message, "chatd: no static directory found (tried " + r + "/bare/static, " + r +
                              "/bare/share/chatd/static, ./static); give one with --static DIR");
}

TEST_F(ConfigTest, NullEnvironmentAndSelfExePath) {
  const char* argv[] = {"chatd", "--port", "1", nullptr};
  ConfigResult r = parse_config(3, argv, nullptr, exe());
  ASSERT_EQ(r.action, ConfigAction::run) << r.message;
  EXPECT_EQ(r.config.port, 1);
  EXPECT_TRUE(fs::path(self_exe_path("x")).is_absolute());
}

TEST(ConfigValues, Parsers) {
  EXPECT_EQ(parse_uint("0"), 0u);
  EXPECT_EQ(parse_uint("9999999999999999999"), 9999999999999999999ull);
  EXPECT_EQ(parse_uint("18446744073709551615"), std::nullopt);  // 20 digits
  EXPECT_EQ(parse_uint(""), std::nullopt);
  EXPECT_EQ(parse_uint("1e3"), std::nullopt);
  EXPECT_EQ(parse_bytes("64K"), 65536u);
  EXPECT_EQ(parse_bytes("64kib"), 65536u);
  EXPECT_EQ(parse_bytes("4MIB"), 4u << 20);
  EXPECT_EQ(parse_bytes("9999999999999999999M"), std::nullopt);  // overflow
  EXPECT_EQ(parse_bytes("4 M"), std::nullopt);
  EXPECT_EQ(parse_bytes("4MB"), std::nullopt);
  EXPECT_EQ(format_bytes(65536), "64 KiB");
  EXPECT_EQ(format_bytes(4u << 20), "4 MiB");
  EXPECT_EQ(format_bytes(1000), "1000");
  EXPECT_EQ(format_bytes(0), "0");
  for (const char* yes : {"yes", "YES", "true", "On", "1"}) EXPECT_EQ(parse_switch(yes), true);
  for (const char* no : {"no", "False", "off", "0"}) EXPECT_EQ(parse_switch(no), false);
  for (const char* bad : {"", "2", "y", "yes ", "enable"})
    EXPECT_EQ(parse_switch(bad), std::nullopt);
  EXPECT_TRUE(valid_host("fe80::1%eth0"));
  EXPECT_FALSE(valid_host(std::string(254, 'a')));
  struct {
    const char* in;
    const char* want;  // nullptr: rejected
  } origins[] = {
      {"*", "*"},
      {"http://127.0.0.1:8081", "http://127.0.0.1:8081"},
      {"https://Example.org", "https://example.org"},
      {"https://example.org/", "https://example.org"},
      {"http://[::1]", "http://[::1]"},
      {"http://[::1]:80", "http://[::1]:80"},
      {"https://example.org/path", nullptr},
      {"https://example.org//", nullptr},
      {"https://user@example.org", nullptr},
      {"https://example.org:0", nullptr},
      {"https://example.org:65536", nullptr},
      {"https://example.org:", nullptr},
      {"https://example.org:1:2", nullptr},
      {"https://", nullptr},
      {"https://[]", nullptr},
      {"https://[::1", nullptr},
      {"https://[::1]x", nullptr},
      {"ws://example.org", nullptr},
      {"example.org", nullptr},
      {"", nullptr},
      {"**", nullptr},
      {"null", nullptr},
  };
  for (auto& t : origins) {
    SCOPED_TRACE(t.in);
    auto got = normalize_origin(t.in);
    if (t.want) {
      EXPECT_EQ(got, std::string(t.want));
    } else {
      EXPECT_EQ(got, std::nullopt);
    }
  }
  std::vector<std::string> items;
  split_list(",,a, b\tc  ,", items);
  EXPECT_EQ(items, (std::vector<std::string>{"a", "b", "c"}));
}

}  // namespace
}  // namespace chatd
