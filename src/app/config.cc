#include "app/config.h"

#include <algorithm>
#include <array>
#include <filesystem>
#include <optional>
#include <system_error>

#include "app/config_values.h"

namespace chatd {
namespace {

namespace fs = std::filesystem;
using namespace config_limits;

// switch_: a flag without a value (--fsync), or with one of yes/no, true/false,
// on/off, 1/0 (--fsync=no, CHATD_FSYNC=1).
enum class Kind { host, number, bytes, dir, origins, file, switch_, cidrs, redis, node_id };

// One setting: its names, how its text is read, its bounds, and (numbers
// only) how it is stored in and read from a Config.
struct Option {
  std::string_view flag;  // without the leading "--"
  std::string_view env;
  std::string_view arg;  // the placeholder shown in --help
  Kind kind;
  uint64_t min, max;
  std::string_view help;
  void (*set)(Config&, uint64_t) = nullptr;
  uint64_t (*get)(const Config&) = nullptr;
};

#define CHATD_FIELD(field, type)                                 \
  [](Config& c, uint64_t v) { c.field = static_cast<type>(v); }, \
      [](const Config& c) { return static_cast<uint64_t>(c.field); }

// The one table behind parsing, the environment names and --help.
constexpr Option kOptions[] = {
    {"host", "CHATD_HOST", "ADDR", Kind::host, 0, 0, "address to listen on"},
    {"port", "CHATD_PORT", "N", Kind::number, 0, kMaxPort,
     "TCP port, 0 = any free one (when neither this nor\n"
     "CHATD_PORT is set, PORT is read, as platforms set it)",
     CHATD_FIELD(port, uint16_t)},
    {"static", "CHATD_STATIC", "DIR", Kind::dir, 0, 0, "the web client's files"},
    {"allow-origin", "CHATD_ALLOW_ORIGIN", "URL", Kind::origins, 0, 0,
     "also accept WebSockets from this origin\n"
     "(repeatable; '*' = any; the environment takes a\n"
     "comma- or space-separated list)"},
    {"rate", "CHATD_RATE", "N", Kind::number, 0, kMaxRate,
     "messages/s per connection; 0 turns the limit off", CHATD_FIELD(rate, uint32_t)},
    {"burst", "CHATD_BURST", "N", Kind::number, 1, kMaxRate,
     "messages a connection may send at once", CHATD_FIELD(burst, uint32_t)},
    {"max-message", "CHATD_MAX_MESSAGE", "BYTES", Kind::bytes, kMinMessage, kMaxMessage,
     "largest message, reassembled; over it: close 1009", CHATD_FIELD(max_message, size_t)},
    {"max-backlog", "CHATD_MAX_BACKLOG", "BYTES", Kind::bytes, kMinMessage, kMaxBacklog,
     "unsent output per connection; over it: close 1008", CHATD_FIELD(max_backlog, size_t)},
    {"max-conn", "CHATD_MAX_CONN", "N", Kind::number, 1, kMaxConn, "open connections in all",
     CHATD_FIELD(max_conn, uint32_t)},
    {"max-conn-per-ip", "CHATD_MAX_CONN_PER_IP", "N", Kind::number, 1, kMaxConn,
     "open connections per client address (behind a\n"
     "reverse proxy all share its address: set --max-conn)",
     CHATD_FIELD(max_conn_per_ip, uint32_t)},
    {"ping-interval", "CHATD_PING_INTERVAL", "SECONDS", Kind::number, 1, kMaxSeconds,
     "ping a connection silent this long", CHATD_FIELD(ping_interval_s, uint32_t)},
    {"idle-timeout", "CHATD_IDLE_TIMEOUT", "SECONDS", Kind::number, 2, kMaxSeconds,
     "close a connection silent this long (> ping)", CHATD_FIELD(idle_timeout_s, uint32_t)},
    {"head-timeout", "CHATD_HEAD_TIMEOUT", "SECONDS", Kind::number, 1, kMaxSeconds,
     "close a connection whose request head is unfinished", CHATD_FIELD(head_timeout_s, uint32_t)},
    {"shutdown-grace", "CHATD_SHUTDOWN_GRACE", "MS", Kind::number, 0, kMaxShutdownGraceMs,
     "on SIGTERM/SIGINT, ms to flush close frames", CHATD_FIELD(shutdown_grace_ms, uint32_t)},
    {"max-rooms-per-conn", "CHATD_MAX_ROOMS_PER_CONN", "N", Kind::number, 1, kMaxRoomsPerConn,
     "rooms one connection may be in", CHATD_FIELD(max_rooms_per_conn, uint32_t)},
    {"max-rooms", "CHATD_MAX_ROOMS", "N", Kind::number, 1, kMaxRooms,
     "rooms with members on this node", CHATD_FIELD(max_rooms, uint32_t)},
    {"max-replay", "CHATD_MAX_REPLAY", "N", Kind::number, 0, kMaxReplay,
     "events replayed to a client resuming with since", CHATD_FIELD(max_replay, uint32_t)},
    {"history-memory", "CHATD_HISTORY_MEMORY", "BYTES", Kind::bytes, kMinMessage, kMaxBacklog,
     "recent events kept in memory per room (the ring)", CHATD_FIELD(history_memory, size_t)},
    {"db", "CHATD_DB", "FILE", Kind::file, 0, 0,
     "the SQLite database of every room's events\n(':memory:' = keep nothing across a restart)"},
    {"fsync", "CHATD_FSYNC", "", Kind::switch_, 0, 1,
     "each event on disk (fsync) before it is sent,\nnot only safe from a crash of chatd",
     CHATD_FIELD(fsync, bool)},
    {"retain-events", "CHATD_RETAIN_EVENTS", "N", Kind::number, 0, kMaxRetainEvents,
     "events kept per room, 0 = no limit", CHATD_FIELD(retain_events, uint64_t)},
    {"retain-days", "CHATD_RETAIN_DAYS", "D", Kind::number, 0, kMaxRetainDays,
     "delete events older than D days, 0 = never", CHATD_FIELD(retain_days, uint32_t)},
    {"reuse-port", "CHATD_REUSE_PORT", "", Kind::switch_, 0, 1,
     "SO_REUSEPORT: several chatd share the port", CHATD_FIELD(reuse_port, bool)},
    {"trusted-proxy", "CHATD_TRUSTED_PROXY", "CIDR", Kind::cidrs, 0, 0,
     "a reverse proxy's range (repeatable, IPv4 or IPv6):\n"
     "its X-Forwarded-For names the client"},
    {"redis", "CHATD_REDIS", "URL", Kind::redis, 0, 0,
     "several nodes as one service on one Redis:\n"
     "redis://[user:pass@]host:port[/db] or\n"
     "unix:///path.sock[?db=N]; --db is then not used"},
    {"node-id", "CHATD_NODE_ID", "ID", Kind::node_id, 0, 0,
     "this node's name in the cluster (with --redis)"},
    {"node-timeout", "CHATD_NODE_TIMEOUT", "SECONDS", Kind::number, 1, kMaxSeconds,
     "a silent node is dead after this (with --redis)", CHATD_FIELD(node_timeout_s, uint32_t)},
};
#undef CHATD_FIELD
constexpr size_t kOptionCount = std::size(kOptions);

// A setting's raw text and where it came from ("--port", "CHATD_PORT",
// "PORT"): the error line names the source.
struct Raw {
  std::string source;
  std::vector<std::string> values;
};

std::string in_quotes(std::string_view s) {
  return "\"" + std::string(s) + "\"";
}

std::string fail_line(std::string_view source, std::string_view what) {
  return "chatd: " + std::string(source) + ": " + std::string(what);
}

size_t index_of(std::string_view flag) {
  for (size_t i = 0; i < kOptionCount; ++i)
    if (kOptions[i].flag == flag) return i;
  return kOptionCount;
}

// Parses one setting's raw text into c; returns the error line or "".
std::string apply(Config& c, const Option& o, const Raw& raw) {
  const std::string& v = raw.values.back();  // a repeated single-valued flag: the last wins
  switch (o.kind) {
    case Kind::host: {
      std::string_view h = v;  // "[::1]" as in a URL is forgiven
      if (h.size() > 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
      if (!valid_host(h))
        return fail_line(raw.source, in_quotes(v) + " is not an address or host name");
      c.host = std::string(h);
      return "";
    }
    case Kind::dir:
      c.static_dir = v;
      return "";
    case Kind::file:
      if (v.empty()) return fail_line(raw.source, "\"\" is not a file name");
      c.db = v;
      return "";
    case Kind::switch_: {
      auto b = parse_switch(v);
      if (!b)
        return fail_line(raw.source, in_quotes(v) + " is not yes/no, true/false, on/off or 1/0");
      o.set(c, *b ? 1 : 0);
      return "";
    }
    case Kind::origins:
      c.allow_origins.clear();
      for (const std::string& each : raw.values) {
        auto n = normalize_origin(each);
        if (!n)
          return fail_line(
              raw.source,
              in_quotes(each) + " is not an origin like https://chat.example.org or '*'");
        c.allow_origins.push_back(*n);
      }
      return "";
    case Kind::cidrs:
      c.trusted_proxies.clear();
      for (const std::string& each : raw.values) {
        auto r = parse_cidr(each);
        if (!r)
          return fail_line(
              raw.source, in_quotes(each) + " is not an address range like 10.0.0.0/8 or fd00::/8");
        c.trusted_proxies.push_back(*r);
      }
      if (c.trusted_proxies.size() > kMaxTrustedProxies)
        return fail_line(raw.source, "more than " + std::to_string(kMaxTrustedProxies) + " ranges");
      return "";
    case Kind::redis: {
      RedisUrlResult r = parse_redis_url(v);
      if (!r.ok) return fail_line(raw.source, r.error);
      c.redis_url = v;
      c.redis = r.url;
      return "";
    }
    case Kind::node_id:
      if (v.empty() || v.size() > kMaxNodeId ||
          v.find_first_not_of(
              "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") !=
              std::string::npos)
        return fail_line(raw.source, in_quotes(v) + " is not a node id (1-" +
                                         std::to_string(kMaxNodeId) +
                                         " letters, digits, '.', '_', '-')");
      c.node_id = v;
      return "";
    case Kind::number:
    case Kind::bytes: {
      bool bytes = o.kind == Kind::bytes;
      auto n = bytes ? parse_bytes(v) : parse_uint(v);
      if (!n)
        return fail_line(raw.source, in_quotes(v) +
                                         (bytes ? " is not a size (bytes, or with K, M, KiB, MiB)"
                                                : " is not a number") +
                                         " (see --help)");
      if (*n < o.min || *n > o.max)
        return fail_line(raw.source, std::to_string(*n) + " is out of range (" +
                                         std::to_string(o.min) + ".." + std::to_string(o.max) +
                                         ")");
      o.set(c, *n);
      return "";
    }
  }
  return "";
}

std::string cross_check(const Config& c, bool node_id_given, bool node_timeout_given) {
  if (c.redis_url.empty() && (node_id_given || node_timeout_given))
    return std::string("chatd: --") + (node_id_given ? "node-id" : "node-timeout") +
           " is used only with --redis";
  if (c.idle_timeout_s <= c.ping_interval_s)
    return "chatd: --idle-timeout (" + std::to_string(c.idle_timeout_s) +
           " s) must be greater than --ping-interval (" + std::to_string(c.ping_interval_s) + " s)";
  if (c.fsync && !c.redis_url.empty())
    return "chatd: --fsync is for the SQLite store, which --redis does not use (Redis' own "
           "persistence keeps the logs: docs/CLUSTER.md)";
  if (c.fsync && c.db == ":memory:")
    return "chatd: --fsync needs a database file; --db is :memory:";
  if (c.max_backlog < c.max_message)
    return "chatd: --max-backlog (" + std::to_string(c.max_backlog) +
           ") must be at least --max-message (" + std::to_string(c.max_message) + ")";
  return "";
}

// The canonical path of an existing directory, or nullopt.
std::optional<std::string> existing_dir(const fs::path& p) {
  std::error_code ec;
  if (!fs::is_directory(p, ec)) return std::nullopt;
  fs::path c = fs::canonical(p, ec);
  if (ec) return std::nullopt;
  return c.string();
}

// A given directory must exist; else the first that exists of: next to a
// binary run from build/, next to an installed one, the working directory's.
std::string resolve_static(Config& c, const std::string& source, std::string_view exe_path) {
  if (!source.empty()) {
    auto d = existing_dir(c.static_dir);
    if (!d) return fail_line(source, in_quotes(c.static_dir) + " is not a directory");
    c.static_dir = *d;
    return "";
  }
  std::vector<fs::path> tried;
  if (!exe_path.empty()) {
    fs::path dir = fs::path(exe_path).parent_path();
    if (dir.empty()) dir = ".";
    tried.push_back((dir / ".." / "static").lexically_normal());
    tried.push_back((dir / ".." / "share" / "chatd" / "static").lexically_normal());
  }
  tried.push_back("./static");
  std::string list;
  for (const fs::path& p : tried) {
    if (auto d = existing_dir(p)) {
      c.static_dir = *d;
      return "";
    }
    list += (list.empty() ? "" : ", ") + p.string();
  }
  return "chatd: no static directory found (tried " + list + "); give one with --static DIR";
}

std::string default_text(const Option& o) {
  const Config d;
  switch (o.kind) {
    case Kind::host:
      return d.host;
    case Kind::dir:
      return "BIN/../static, BIN/../share/chatd/static,\nthen ./static";
    case Kind::file:
      return d.db;
    case Kind::switch_:
      return o.get(d) ? "on" : "off";
    case Kind::origins:
      return "none (same host only)";
    case Kind::cidrs:
      return "none (X-Forwarded-For ignored)";
    case Kind::redis:
      return "none (one node)";
    case Kind::node_id:
      return "generated, logged";
    case Kind::bytes:
      return format_bytes(o.get(d));
    case Kind::number:
      return std::to_string(o.get(d));
  }
  return "";
}

}  // namespace

ConfigResult parse_config(int argc, const char* const* argv, const char* const* envp,
                          std::string_view exe_path) {
  ConfigResult r{ConfigAction::error, Config{}, ""};
  std::array<Raw, kOptionCount> raw;
  std::optional<std::string> platform_port;

  for (const char* const* e = envp; e && *e; ++e) {
    std::string_view kv = *e;
    size_t eq = kv.find('=');
    if (eq == std::string_view::npos || eq + 1 == kv.size()) continue;  // empty = unset
    std::string_view name = kv.substr(0, eq), value = kv.substr(eq + 1);
    if (name == "PORT") platform_port = std::string(value);
    for (size_t i = 0; i < kOptionCount; ++i) {
      if (kOptions[i].env != name) continue;
      raw[i] = Raw{std::string(name), {}};
      if (kOptions[i].kind == Kind::origins || kOptions[i].kind == Kind::cidrs) {
        split_list(value, raw[i].values);
      } else {
        raw[i].values.emplace_back(value);
      }
    }
  }

  std::array<bool, kOptionCount> from_flag{};
  for (int a = 1; a < argc; ++a) {
    std::string_view arg = argv[a];
    if (arg == "--help" || arg == "-h") return {ConfigAction::help, Config{}, config_help()};
    if (arg == "--version") return {ConfigAction::version, Config{}, std::string(kVersion)};
    if (arg.substr(0, 2) != "--") {
      r.message = "chatd: unexpected argument " + in_quotes(arg) + " (see --help)";
      return r;
    }
    std::string_view name = arg.substr(2), value;
    size_t eq = name.find('=');
    bool inline_value = eq != std::string_view::npos;
    if (inline_value) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    size_t i = index_of(name);
    if (i == kOptionCount) {
      r.message = "chatd: unknown option --" + std::string(name) + " (see --help)";
      return r;
    }
    if (!inline_value && kOptions[i].kind == Kind::switch_) {
      value = "yes";  // a switch takes no value after it: "--fsync --port 1"
    } else if (!inline_value) {
      // "--port --host x" is a forgotten value, not a port named "--host".
      if (a + 1 >= argc || std::string_view(argv[a + 1]).substr(0, 2) == "--") {
        r.message = "chatd: --" + std::string(name) + ": missing value (see --help)";
        return r;
      }
      value = argv[++a];
    }
    if (!from_flag[i]) raw[i] = Raw{"--" + std::string(name), {}};  // flags replace the env
    from_flag[i] = true;
    raw[i].values.emplace_back(value);
  }

  Raw& port = raw[index_of("port")];
  if (port.values.empty() && platform_port) port = Raw{"PORT", {*platform_port}};

  for (size_t i = 0; i < kOptionCount; ++i) {
    if (raw[i].values.empty()) continue;
    r.message = apply(r.config, kOptions[i], raw[i]);
    if (!r.message.empty()) return r;
  }
  r.message = cross_check(r.config, !raw[index_of("node-id")].values.empty(),
                          !raw[index_of("node-timeout")].values.empty());
  if (r.message.empty())
    r.message = resolve_static(r.config, raw[index_of("static")].source, exe_path);
  if (r.message.empty()) r.action = ConfigAction::run;
  return r;
}

std::string self_exe_path(const char* argv0) {
  std::error_code ec;
  fs::path p = fs::read_symlink("/proc/self/exe", ec);
  if (!ec && !p.empty()) return p.string();
  return argv0 ? argv0 : "";
}

std::string config_help() {
  constexpr size_t kColumn = 26, kWidth = 80;
  const std::string indent(kColumn, ' ');
  std::string h =
      "Usage: chatd [options]\n"
      "A chat server: its web client and its WebSocket endpoint (/ws) on one port.\n"
      "Each option may also come from the environment variable named below it;\n"
      "a flag wins over the environment. --name value and --name=value both work.\n"
      "BYTES take the binary suffixes K, KiB, M, MiB. BIN: the binary's directory.\n\n";
  for (const Option& o : kOptions) {
    std::string line =
        "  --" + std::string(o.flag) + (o.arg.empty() ? "" : " ") + std::string(o.arg);
    line.resize(std::max(line.size() + 1, kColumn), ' ');
    line += std::string(o.help) + "\n";
    std::string defaults = "default " + default_text(o) + ";";
    std::string env = "env " + std::string(o.env) + "\n";
    bool one_line = defaults.find('\n') == std::string::npos &&
                    kColumn + defaults.size() + 1 + env.size() <= kWidth + 1;
    line += defaults + (one_line ? " " : "\n") + env;
    for (char ch : line) h += ch == '\n' ? "\n" + indent : std::string(1, ch);
    h.resize(h.size() - indent.size());  // the last newline's indent
  }
  h += "  --help                  this text\n";
  h += "  --version               print \"" + std::string(kVersion) +
       "\"";  // no final newline, like every message
  return h;
}

}  // namespace chatd
