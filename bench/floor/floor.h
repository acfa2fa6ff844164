// floor: the cheapest chat fan-out this machine allows, to hold chatd against.
// One room, no validation, no limits beyond a backlog cap: a minimal
// WebSocket handshake, then join -> welcome + a system join event, msg -> a
// msg event, a closed connection -> a leave event, ids +1 per event. Each
// event is framed once, appended to the turn's buffer that every member
// shares; before the loop sleeps, every member gets one write(2) of its part
// of that buffer (all of it, or from its join on), straight from it. Only a
// short write (or a joiner's welcome) copies bytes into a connection's own
// buffer, written first on EPOLLOUT.
#pragma once

#include <signal.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace floorsrv {

constexpr size_t kReadChunk = 64 * 1024;
constexpr size_t kMaxHead = 8192;                  // request head, else closed
constexpr size_t kMaxPayload = 1 << 20;            // client frame, else closed
constexpr size_t kMaxBacklog = size_t(256) << 20;  // unsent bytes, else closed
constexpr int kMaxEvents = 512;

// One accepted socket, in the slot of its fd. The Floor owns the fd.
struct Conn {
  int fd = -1;
  bool upgraded = false, joined = false, dirty = false, out_armed = false, dead = false;
  size_t from = 0;  // members: where this turn's share of the turn buffer starts
  std::string in;   // bytes not yet parsed
  std::string out;  // own bytes not yet written, ahead of any shared ones
  std::string nick;
};

// Set by SIGINT/SIGTERM: the loop returns at its next wakeup.
extern volatile sig_atomic_t g_stop;

class Floor {
 public:
  // Reserves (without touching) a slot per possible fd, so slots cost memory
  // only once used and never move.
  explicit Floor(size_t max_fds) { conns_.reserve(max_fds); }
  bool listen_on(const char* host, int port);
  // Serves until g_stop is set.
  void run();

 private:
  Conn& slot(int fd) {
    if (size_t(fd) >= conns_.size()) conns_.resize(size_t(fd) + 1);
    return conns_[size_t(fd)];
  }
  void accept_all();
  void on_readable(Conn& c);
  void on_text(Conn& c, std::string_view text);
  void queue(Conn& c, const char* p, size_t n);
  void broadcast(const std::string& json);
  void write_out(Conn& c);
  void flush_all();
  void reap();

  int ep_ = -1, listener_ = -1;
  uint64_t next_id_ = 1;
  std::vector<Conn> conns_;  // indexed by fd
  std::vector<int> members_, dirty_, dead_;
  std::string turn_;  // every event framed this turn, in order
  std::vector<char> rbuf_ = std::vector<char>(kReadChunk);
};

}  // namespace floorsrv
