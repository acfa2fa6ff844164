// EventLoop: a narrow wrapper over one epoll instance (Redis ae.h in spirit),
// plus the two signal helpers the server needs at startup.
//
// Ownership: EventLoop owns the epoll fd only. It never owns, reads or closes
// the fds registered with it; the caller removes an fd before closing it.
// Every event carries the caller's 64-bit token back unchanged; the app packs
// (slot, generation) into it so an event for a reused fd can be told stale.
//
// Level-triggered unless the caller passes EPOLLET in `events`.
#pragma once

#include <sys/epoll.h>

#include <cstdint>
#include <initializer_list>
#include <span>

#include "base/fd.h"

namespace chatd {

class EventLoop {
 public:
  EventLoop() = default;

  // Creates the epoll instance (EPOLL_CLOEXEC) into `out`; returns 0 or -errno.
  static long create(EventLoop& out);

  // Registers `fd` for `events` (EPOLLIN, EPOLLOUT, ...); returns 0 or -errno.
  long add(int fd, uint32_t events, uint64_t token);
  // Replaces the interest set and token of a registered fd; returns 0 or -errno.
  long modify(int fd, uint32_t events, uint64_t token);
  // Unregisters `fd`; returns 0 or -errno (-ENOENT if it was not registered).
  long remove(int fd);

  // Waits up to `timeout_ms` (-1: forever, 0: poll) for at most `max` events;
  // returns how many were stored in `out`, 0 if a signal interrupted the
  // wait (the caller just runs another turn), or -errno.
  int wait(epoll_event* out, int max, int timeout_ms);
  int wait(std::span<epoll_event> out, int timeout_ms) {
    return wait(out.data(), static_cast<int>(out.size()), timeout_ms);
  }

  int fd() const { return ep_.get(); }

 private:
  UniqueFd ep_;
};

// Blocks `signals` with sigprocmask (so they are never delivered
// asynchronously) and returns a non-blocking CLOEXEC signalfd that becomes
// readable when one is pending, or -errno.
long make_signalfd(std::initializer_list<int> signals);

// Reads one pending signal from a signalfd; returns its number, 0 if none is
// pending, or -errno.
int read_signal(int signal_fd);

// Sets SIGPIPE to SIG_IGN. Sends already use MSG_NOSIGNAL; this covers any
// other write path (a library, a stray write(2) to a closed pipe).
void ignore_sigpipe();

}  // namespace chatd
