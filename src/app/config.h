// Config: every knob of the server, read once in main from the command line
// and the environment (CHATD_<NAME>), validated in one place, then passed
// down by value. Nothing here is read at static-init time.
//
// Precedence, per setting: --flag > CHATD_<NAME> > PORT (port only, as
// Render/Heroku-style platforms set it) > the default below. An empty
// environment variable counts as unset.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "cluster/redis_url.h"
#include "net/cidr.h"

namespace chatd {

inline constexpr std::string_view kVersion = "chatd 0.1.0";

// The limits every setting is checked against: the one site that names them.
namespace config_limits {
inline constexpr uint64_t kMaxPort = 65535;
inline constexpr uint64_t kMaxRate = 1'000'000;                  // messages/s
inline constexpr uint64_t kMinMessage = 126;                     // one short frame's payload
inline constexpr uint64_t kMaxMessage = 16 * 1024 * 1024;        // 16 MiB
inline constexpr uint64_t kMaxBacklog = 1024ull * 1024 * 1024;   // 1 GiB per connection
inline constexpr uint64_t kMaxConn = 1'000'000;                  // far above any fd limit
inline constexpr uint64_t kMaxSeconds = 24 * 3600;               // timeouts and intervals
inline constexpr uint64_t kMaxShutdownGraceMs = 10 * 60 * 1000;  // 10 min
inline constexpr size_t kMaxHostLength = 253;                    // a DNS name's limit
inline constexpr uint64_t kMaxRoomsPerConn = 1024;
inline constexpr uint64_t kMaxRooms = 1'000'000;
inline constexpr uint64_t kMaxReplay = 100'000;
inline constexpr uint64_t kMaxRetainEvents = 1'000'000'000;  // per room
inline constexpr uint64_t kMaxRetainDays = 36500;            // a century
inline constexpr size_t kMaxNodeId = 64;                     // [A-Za-z0-9._-]
inline constexpr size_t kMaxTrustedProxies = 64;
}  // namespace config_limits

struct Config {
  std::string host = "0.0.0.0";
  uint16_t port = 8080;                    // 0: an ephemeral port
  std::string static_dir;                  // absolute, canonical, an existing directory
  std::vector<std::string> allow_origins;  // normalized "scheme://host[:port]", or "*" for all
  uint32_t rate = 20;                      // messages/s per connection; 0 turns rate limiting off
  uint32_t burst = 40;                     // token-bucket depth, >= 1
  size_t max_message = 64 * 1024;          // after reassembly; over it: close 1009
  size_t max_backlog = 4 * 1024 * 1024;    // unsent output per connection; over it: close 1008
  uint32_t max_conn = 10000;
  // Per client address. A shared NAT (an office, a campus) holds many users
  // behind one address, so this is generous; it stops one host from taking
  // every slot. Behind a reverse proxy every client has the proxy's address:
  // raise it to max_conn there (docs/DEPLOY.md).
  uint32_t max_conn_per_ip = 1000;
  uint32_t ping_interval_s = 30;      // ping a connection silent this long
  uint32_t idle_timeout_s = 60;       // close one silent this long (> ping interval)
  uint32_t head_timeout_s = 10;       // close one whose HTTP request head is unfinished
  uint32_t shutdown_grace_ms = 3000;  // after SIGTERM: time for close frames to flush
  uint32_t max_rooms_per_conn = 32;   // rooms one connection may be in (room_limit)
  uint32_t max_rooms = 10000;         // rooms with members on this node (room_limit)
  uint32_t max_replay = 1000;         // events replayed to a join with since
  // Bytes of recent events each room keeps in memory, as the frames first
  // sent (also capped at max(max_replay, 200) events).
  size_t history_memory = 256 * 1024;
  // Storage (docs/STORAGE.md). ":memory:" keeps nothing across a restart.
  std::string db = "chatd.db";      // relative to the working directory
  bool fsync = false;               // every commit on disk before its events are sent
  uint64_t retain_events = 100000;  // per room; 0 = no limit
  uint32_t retain_days = 0;         // 0 = no limit
  // SO_REUSEPORT on the listener: several chatd processes share one port.
  bool reuse_port = false;
  // Peers in these ranges are reverse proxies: a client's address is taken
  // from their X-Forwarded-For (docs/DEPLOY.md), and counted per client at
  // the request head instead of at accept.
  std::vector<Cidr> trusted_proxies;
  // Several nodes on one Redis (docs/CLUSTER.md): the broker numbers every
  // event, the rooms' logs live in Redis, and db is not used.
  std::string redis_url;  // as given; empty: a single node
  RedisUrl redis;         // decoded from redis_url
  std::string node_id;    // empty: generated when the broker starts
  uint32_t node_timeout_s = 10;
};

enum class ConfigAction { run, help, version, error };

struct ConfigResult {
  ConfigAction action;
  Config config;        // meaningful when action == run
  std::string message;  // the help text, the version, or one error line; no final newline
};

// Parses argv (argv[0] is skipped) over envp (a null-terminated "NAME=value"
// array, as environ; may be null) and resolves the static directory next to
// exe_path (the executable's path, see self_exe_path). Returns help or version
// as soon as --help or --version is met, else the first error as one line
// starting "chatd: ", else run with a validated Config. Never throws.
ConfigResult parse_config(int argc, const char* const* argv, const char* const* envp,
                          std::string_view exe_path);

// The running executable's path (from /proc/self/exe), or argv0 when that
// cannot be read.
std::string self_exe_path(const char* argv0);

// The help text: every flag with its default and its environment variable.
std::string config_help();

}  // namespace chatd
