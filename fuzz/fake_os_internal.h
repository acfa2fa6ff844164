// The fake kernel's state, shared by fake_os.cc (the world and the socket
// logic) and fake_syscalls.cc (the --wrap'ed entry points). Not for the
// harness: it uses fake_os.h.
#pragma once

#include <sys/types.h>
#include <sys/uio.h>

#include <cstdint>

#include "fake_os.h"

namespace fake_os::detail {

enum class Kind : uint8_t { none, listener, signal, epoll, conn };

// One fake fd: what it is and its place in the (one) fake epoll set.
struct Fd {
  Kind kind = Kind::none;
  Socket* sock = nullptr;
  bool in_epoll = false;
  uint32_t events = 0;
  uint64_t token = 0;
};

// True while a case runs on this fd's number range (and the fd is fake).
bool is_fake(int fd);
// True while a case runs; the calling thread is the one running it when
// `this_thread` (other threads, e.g. libFuzzer's watchdog, see real clocks).
bool active(bool this_thread = false);
Fd& at(int fd);
// The lowest free fake fd, as the kernel would pick; -1 when all are taken.
int alloc_fd(Kind kind, Socket* sock);
// Sets errno and returns -1, as libc does.
long fail(int e);
// Aborts the case: the server did what a real kernel would reject.
[[noreturn]] void violation(const char* what, int fd);
// What epoll reports for `fd` now (level-triggered), before the interest mask.
uint32_t readiness(int fd);
// A read(2) and a sendmsg(2) on a connection, from the peer's state.
long conn_read(Socket& s, void* buf, size_t n);
long conn_send(Socket& s, const iovec* iov, size_t cnt);

}  // namespace fake_os::detail
