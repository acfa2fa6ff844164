// Command-line options of the load generator, parsed and checked in one
// place. Every run is bounded: at most kMaxConnections sockets and
// kMaxSeconds per phase, and only loopback targets are accepted, so a typo
// can never turn the tool on another machine.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <vector>

namespace chatd::load {

inline constexpr uint32_t kMaxConnections = 20000;
inline constexpr double kMaxSeconds = 300;
inline constexpr uint32_t kMaxWindow = 1024;
inline constexpr uint32_t kMinSize = 32;          // room for the embedded send time and sender
inline constexpr uint32_t kMaxSize = 60000;       // stays under the server's 64 KiB message limit
inline constexpr uint32_t kMaxSources = 64;       // 127.0.0.2 ... 127.0.0.65
inline constexpr double kMaxRate = 10'000'000;    // messages/s, total
inline constexpr double kMaxChurnSeconds = 3600;  // churn runs are soaks: longer, but bounded
inline constexpr uint32_t kMaxRooms = 10000;      // chatd's default --max-rooms
inline constexpr uint32_t kMaxRoomsPerConn = 64;  // over chatd's 32, to see room_limit
inline constexpr uint32_t kMaxResumeMessages = 100000;
inline constexpr uint32_t kMaxPorts = 16;  // nodes one run spreads its clients over

enum class Mode : uint8_t { fanout, connect, churn, resume };

struct Options {
  Mode mode = Mode::fanout;
  std::string host = "127.0.0.1";
  uint16_t port = 8080;         // the first of `ports`
  std::vector<uint16_t> ports;  // --ports (or the one --port): connection k goes to
                                // ports[(k + its reconnects) % size], round-robin
  uint32_t clients = 100;       // fanout: clients; connect: connections
  uint32_t senders = 10;
  double duration_s = 5;
  uint32_t window = 2;           // messages in flight per sender (closed loop)
  double rate = 0;               // > 0: total messages/s, paced (open loop); window unused
  uint32_t size = 32;            // bytes of message text
  double drain_s = 5;            // fanout: longest wait for outstanding deliveries
  uint32_t inflight = 256;       // connections in progress at once
  bool join = false;             // connect: also join (nicks unique)
  double hold_s = 0;             // connect: keep every connection open this long;
                                 // churn: longest a session stays joined
  int server_pid = 0;            // connect, churn: whose VmRSS to read; fanout: whose CPU
  std::vector<int> server_pids;  // --server-pid P1,P2,..: every process of the service
                                 // (nodes, Redis), summed; server_pid is the first
  uint32_t sources = 0;          // source addresses 127.0.0.2..; 0: the kernel picks
  bool json_only = false;
  uint64_t seed = 1;            // churn: seeds every random choice
  std::string leave = "all";    // churn: how sessions end (all, close, rst, fin, stall);
                                // resume: how the M drop (all, rst, fin)
  uint32_t rooms = 0;           // fanout, resume, connect: rooms r0..r(N-1); 0: v1, no room
  uint32_t rooms_per_conn = 0;  // connect: rooms each connection joins (implies --join)
  uint32_t drop = 0;            // resume: clients that drop and come back
  uint32_t messages = 100;      // resume: messages sent per room while they are away

  sockaddr_storage addr{};  // resolved target, port set to ports[0]
  socklen_t addr_len = 0;
};

enum class ParseOutcome : uint8_t { run, help, error };

// Parses argv into `out` and checks every bound. Returns run, help (usage
// requested) or error with a one-line reason in `err`; a non-loopback host
// is an error.
ParseOutcome parse_options(int argc, char** argv, Options& out, std::string& err);

// The port slot connection `index` uses on its attempt number `attempt`
// (0 for its first connect): round-robin over the ports, shifted by one on
// each reconnect so a client that comes back lands on the next node.
inline uint32_t port_slot(const Options& o, uint32_t index, uint32_t attempt) {
  return o.ports.size() > 1 ? (index + attempt) % static_cast<uint32_t>(o.ports.size()) : 0;
}

// The ports as "P1,P2,..." for the reports.
std::string port_list(const Options& o);

// The usage text.
const char* usage_text();

}  // namespace chatd::load
