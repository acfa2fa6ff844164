// A fake kernel for the whole-server fuzz target: the syscalls the server
// makes (socket setup, accept4, read, recv, send, sendmsg, shutdown, close,
// epoll_*, signalfd, sigprocmask, getrlimit, clock_gettime, write to stderr)
// are redirected here at link time with -Wl,--wrap=<symbol> (see the
// Makefile's "whole-server fuzz target" block), so the real Server code runs
// unchanged against scripted peers.
//
// Fake fds live in [kFirstFd, kEndFd); that range is held open with real
// placeholder fds (init), so the kernel never hands those numbers to anything
// else and every wrapper can tell a fake fd by its number alone. Calls on any
// other fd, and every call made while no test case is active, go to the real
// function: libFuzzer and the sanitizers link against the same wrapped
// symbols.
//
// The fake is strict where a real kernel would report a server bug as an
// error (close of an fd that is not open, epoll_ctl MOD/DEL of an fd not in
// the set, a write after shutdown(SHUT_WR)): those abort the test case.
#pragma once

#include <sys/epoll.h>
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace fake_os {

inline constexpr int kFirstFd = 200;
inline constexpr int kEndFd = 280;
// What getrlimit(RLIMIT_NOFILE) reports: the server's connection table has
// this many slots, so accepted fds at or above it take the refusal path.
inline constexpr int kFdLimit = 212;
inline constexpr size_t kUnlimited = SIZE_MAX;

// One accepted (or pending) TCP connection, seen from the peer's side.
struct Socket {
  int id = 0;   // creation order, stable across fd reuse
  int fd = -1;  // while the server holds it
  sockaddr_storage peer{};
  std::string in;                  // bytes the peer sent
  size_t in_off = 0;               // how many of them the server has read
  std::string out;                 // every byte the server sent
  size_t read_chunk = kUnlimited;  // most bytes one read returns
  size_t send_room = kUnlimited;   // bytes the socket buffer still takes
  bool peer_eof = false;           // the peer sent FIN
  bool reset = false;              // the peer sent RST
  bool accepted = false;
  bool closed = false;   // the server closed its fd
  bool shut_wr = false;  // the server sent FIN
  bool refused = false;  // closed without entering the loop (recv/send seen)
};

// One-shot failures the script can arm for the next matching call.
struct Faults {
  int accept_errno = 0;     // e.g. EMFILE, ECONNABORTED, EPROTO
  int epoll_add_errno = 0;  // next EPOLL_CTL_ADD of a connection
  bool read_eintr = false;
  bool send_eintr = false;
  bool wait_eintr = false;
};

struct World {
  std::vector<std::unique_ptr<Socket>> sockets;  // every socket of the case
  std::deque<Socket*> backlog;                   // waiting in accept4
  Faults faults;
  bool signal_pending = false;
  int signal_number = 0;
  int64_t mono_ms = 0;
  int64_t wall_ms = 0;
  unsigned rotate = 0;  // where the ready list starts, so event order varies
  // Called at the top of every epoll_wait with its timeout: the script's
  // turn. Returns false to make epoll_wait fail (ends Server::run).
  std::function<bool(int timeout_ms)> on_wait;
};

// Reserves the fake fd range; once per process, before the first case.
void init();
// Starts a test case: a fresh world, and the wrappers turn fake.
World& begin();
// Ends it: every fake fd is forgotten and the wrappers pass through again.
void end();
World& world();

// A new peer waiting in the listener's backlog.
Socket& connect(const sockaddr_storage& peer);

}  // namespace fake_os
