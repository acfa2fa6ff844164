#include "options.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string_view>

namespace chatd::load {

namespace {

bool parse_u32(const char* s, uint32_t lo, uint32_t hi, uint32_t& out) {
  char* end = nullptr;
  errno = 0;
  unsigned long long v = std::strtoull(s, &end, 10);
  if (errno || end == s || *end || v < lo || v > hi) return false;
  out = static_cast<uint32_t>(v);
  return true;
}

bool parse_seconds(const char* s, double lo, double hi, double& out) {
  char* end = nullptr;
  double v = std::strtod(s, &end);
  if (end == s || *end || !std::isfinite(v) || v < lo || v > hi) return false;
  out = v;
  return true;
}

// Parses "V1,V2,..." (1..max values, each in [lo, hi]) into out: the
// ports of --ports (a port may repeat: two connections to one node are
// still two clients) and the pids of --server-pid.
template <class T>
bool parse_list(const char* s, uint32_t lo, uint32_t hi, size_t max, std::vector<T>& out) {
  out.clear();
  std::string_view rest = s;
  while (true) {
    size_t comma = rest.find(',');
    std::string one(rest.substr(0, comma));
    uint32_t v = 0;
    if (out.size() == max || !parse_u32(one.c_str(), lo, hi, v)) return false;
    out.push_back(static_cast<T>(v));
    if (comma == std::string_view::npos) return true;
    rest.remove_prefix(comma + 1);
  }
}

// Accepts 127.0.0.0/8, ::1 and "localhost"; fills the socket address.
bool resolve_loopback(Options& o, std::string& err) {
  if (o.host == "localhost") o.host = "127.0.0.1";
  auto* v4 = reinterpret_cast<sockaddr_in*>(&o.addr);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&o.addr);
  if (inet_pton(AF_INET, o.host.c_str(), &v4->sin_addr) == 1) {
    if ((ntohl(v4->sin_addr.s_addr) >> 24) != 127) {
      err = "refusing non-loopback target " + o.host + " (only 127.0.0.0/8 or ::1)";
      return false;
    }
    v4->sin_family = AF_INET;
    v4->sin_port = htons(o.port);
    o.addr_len = sizeof(sockaddr_in);
    return true;
  }
  if (inet_pton(AF_INET6, o.host.c_str(), &v6->sin6_addr) == 1) {
    if (!IN6_IS_ADDR_LOOPBACK(&v6->sin6_addr)) {
      err = "refusing non-loopback target " + o.host + " (only 127.0.0.0/8 or ::1)";
      return false;
    }
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(o.port);
    o.addr_len = sizeof(sockaddr_in6);
    return true;
  }
  err = "host must be a numeric loopback address (127.0.0.0/8 or ::1), got " + o.host;
  return false;
}

// The room options' cross-checks: every room of a fanout has a sender and
// a member, every room of a resume run keeps one client that stays.
bool check_rooms(Options& o, bool drop_set, std::string& err) {
  const uint32_t rooms = std::max(o.rooms, 1u);
  if (o.mode == Mode::fanout && o.rooms > o.senders) {
    err = "--rooms must not exceed --senders: every room needs a sender";
    return false;
  }
  if (o.mode == Mode::resume) {
    if (o.clients <= rooms) {
      err = "resume needs more clients than rooms: one stays in each room to send";
      return false;
    }
    if (!drop_set) o.drop = o.clients - rooms;
    if (o.leave != "all" && o.leave != "rst" && o.leave != "fin") {
      err = "resume drops abruptly: --leave all, rst or fin";
      return false;
    }
    if (o.drop > o.clients - rooms) {
      err = "--drop must leave at least one client in each room (at most clients - rooms)";
      return false;
    }
  }
  if (o.mode == Mode::connect && o.rooms_per_conn > 0) {
    o.join = true;
    if (o.rooms == 0) o.rooms = o.rooms_per_conn;
    if (o.rooms < o.rooms_per_conn) {
      err = "--rooms must be at least --rooms-per-conn: a connection joins distinct rooms";
      return false;
    }
  }
  return true;
}

}  // namespace

const char* usage_text() {
  return "usage: chat_load [fanout|connect|churn|resume] [options]\n"
         "  --host H         loopback address of the server (127.0.0.1)\n"
         "  --port P         server port (8080)\n"
         "  --ports P1,P2,.. several nodes of one service (up to 16): connection k\n"
         "                   goes to the (k mod N)-th, a reconnect to the next one;\n"
         "                   every check spans all of them (replaces --port)\n"
         "  --clients N      fanout: clients that join; connect: connections;\n"
         "                   churn: clients coming and going; resume: clients (100, max 20000)\n"
         "  --senders S      fanout: clients that send (10)\n"
         "  --duration D     fanout, churn: seconds of sending (5, max 300; churn 3600)\n"
         "  --window W       fanout, resume: messages in flight per sender, closed loop (2)\n"
         "  --rate R         fanout: total messages/s, paced, open loop (replaces --window)\n"
         "  --size B         fanout, churn, resume: bytes of message text (32, 32..60000)\n"
         "  --drain S        fanout: longest wait for outstanding deliveries (5)\n"
         "  --inflight K     connections being set up at once (256)\n"
         "  --join           connect: also join each connection\n"
         "  --hold S         connect: hold every connection this long (0);\n"
         "                   churn: longest a session stays joined (2)\n"
         "  --server-pid P[,P..] the server's processes (several: a service's nodes\n"
         "                   and Redis, summed); connect: its VmRSS per connection;\n"
         "                   fanout: its CPU time per delivery while sending;\n"
         "                   churn: its VmRSS at start, peak (1 s samples) and end\n"
         "  --sources K      bind to 127.0.0.2..127.0.0.(K+1) in turn (connect, churn: 4)\n"
         "  --seed N         churn: seed of every random choice (1)\n"
         "  --leave HOW      churn: all, close, rst, fin or stall (all);\n"
         "                   resume: all (rst and fin in turn), rst or fin\n"
         "  --rooms N        fanout, resume: spread clients over rooms r0..r(N-1), each\n"
         "                   with its own senders (--senders at least N); connect:\n"
         "                   rooms the --rooms-per-conn joins are spread over\n"
         "  --rooms-per-conn K  connect: each connection joins K rooms (implies --join)\n"
         "  --drop M         resume: clients that drop and come back (clients - rooms)\n"
         "  --messages S     resume: messages sent per room while they are away (100)\n"
         "  --json           print only the JSON line\n";
}

std::string port_list(const Options& o) {
  std::string s;
  for (uint16_t p : o.ports) {
    if (!s.empty()) s += ',';
    s += std::to_string(p);
  }
  return s;
}

ParseOutcome parse_options(int argc, char** argv, Options& o, std::string& err) {
  bool sources_set = false, hold_set = false, drop_set = false, port_set = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "-h" || a == "--help") return ParseOutcome::help;
    if (a == "fanout" || a == "connect" || a == "churn" || a == "resume") {
      o.mode = a == "fanout"    ? Mode::fanout
               : a == "connect" ? Mode::connect
               : a == "churn"   ? Mode::churn
                                : Mode::resume;
      continue;
    }
    if (a == "--join") {
      o.join = true;
      continue;
    }
    if (a == "--json") {
      o.json_only = true;
      continue;
    }
    if (i + 1 >= argc) {
      err = "missing value after " + std::string(a);
      return ParseOutcome::error;
    }
    const char* v = argv[++i];
    uint32_t port = 0;
    bool ok = true;
    if (a == "--mode") {
      std::string_view m = v;
      ok = m == "fanout" || m == "connect" || m == "churn" || m == "resume";
      o.mode = m == "connect"  ? Mode::connect
               : m == "churn"  ? Mode::churn
               : m == "resume" ? Mode::resume
                               : Mode::fanout;
    } else if (a == "--host") {
      o.host = v;
    } else if (a == "--port") {
      ok = parse_u32(v, 1, 65535, port);
      o.port = static_cast<uint16_t>(port);
      port_set = true;
    } else if (a == "--ports") {
      ok = parse_list(v, 1, 65535, kMaxPorts, o.ports);
    } else if (a == "--clients" || a == "--conns") {
      ok = parse_u32(v, 1, kMaxConnections, o.clients);
    } else if (a == "--senders") {
      ok = parse_u32(v, 1, kMaxConnections, o.senders);
    } else if (a == "--duration") {
      ok = parse_seconds(v, 0.1, kMaxChurnSeconds, o.duration_s);
    } else if (a == "--window") {
      ok = parse_u32(v, 1, kMaxWindow, o.window);
    } else if (a == "--rate") {
      ok = parse_seconds(v, 0.001, kMaxRate, o.rate);
    } else if (a == "--size") {
      ok = parse_u32(v, kMinSize, kMaxSize, o.size);
    } else if (a == "--drain") {
      ok = parse_seconds(v, 0, kMaxSeconds, o.drain_s);
    } else if (a == "--inflight") {
      ok = parse_u32(v, 1, kMaxConnections, o.inflight);
    } else if (a == "--hold") {
      ok = parse_seconds(v, 0, kMaxSeconds, o.hold_s);
      hold_set = true;
    } else if (a == "--server-pid") {
      ok = parse_list(v, 1, 1u << 30, kMaxPorts + 1, o.server_pids);  // nodes + Redis
      o.server_pid = ok ? o.server_pids[0] : 0;
    } else if (a == "--sources") {
      ok = parse_u32(v, 0, kMaxSources, o.sources);
      sources_set = true;
    } else if (a == "--seed") {
      uint32_t seed = 0;
      ok = parse_u32(v, 0, UINT32_MAX, seed);
      o.seed = seed;
    } else if (a == "--leave") {
      o.leave = v;
      ok = o.leave == "all" || o.leave == "close" || o.leave == "rst" || o.leave == "fin" ||
           o.leave == "stall";
    } else if (a == "--rooms") {
      ok = parse_u32(v, 1, kMaxRooms, o.rooms);
    } else if (a == "--rooms-per-conn") {
      ok = parse_u32(v, 1, kMaxRoomsPerConn, o.rooms_per_conn);
    } else if (a == "--drop") {
      ok = parse_u32(v, 1, kMaxConnections, o.drop);
      drop_set = true;
    } else if (a == "--messages") {
      ok = parse_u32(v, 1, kMaxResumeMessages, o.messages);
    } else {
      err = "unknown option " + std::string(a);
      return ParseOutcome::error;
    }
    if (!ok) {
      err = "bad value for " + std::string(a) + ": " + v;
      return ParseOutcome::error;
    }
  }
  if (port_set && !o.ports.empty()) {
    err = "--port and --ports exclude each other: name every node in --ports";
    return ParseOutcome::error;
  }
  if (o.ports.empty()) o.ports.push_back(o.port);
  o.port = o.ports[0];
  if (o.mode == Mode::fanout && o.senders > o.clients) {
    err = "--senders must not exceed --clients";
    return ParseOutcome::error;
  }
  if (!check_rooms(o, drop_set, err)) return ParseOutcome::error;
  // One source address has ~28k ephemeral ports; spreading over several
  // keeps a large connect run from running out of them.
  if (o.mode != Mode::churn && o.duration_s > kMaxSeconds) {
    err = "--duration is at most 300 s outside churn mode";
    return ParseOutcome::error;
  }
  if (o.mode != Mode::fanout && !sources_set) o.sources = 4;
  if (o.mode == Mode::churn && !hold_set) o.hold_s = 2;
  if (!resolve_loopback(o, err)) return ParseOutcome::error;
  if (o.addr.ss_family != AF_INET) o.sources = 0;  // 127.0.0.x only exists in IPv4
  return ParseOutcome::run;
}

}  // namespace chatd::load
