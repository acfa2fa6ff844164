// The fake kernel's world and socket logic (fake_os.h, fake_os_internal.h);
// the syscall entry points are in fake_syscalls.cc.
#include "fake_os_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace fake_os {

namespace {

using detail::Fd;
using detail::Kind;

constexpr int kRange = kEndFd - kFirstFd;

bool g_active = false;
pthread_t g_thread;  // the thread running the case; others see real clocks
World* g_world = nullptr;
Fd g_fds[kRange];

}  // namespace

namespace detail {

[[noreturn]] void violation(const char* what, int fd) {
  std::fprintf(stderr, "fake_os: server bug: %s (fd %d)\n", what, fd);
  std::abort();
}

bool active(bool this_thread) {
  return g_active && (!this_thread || pthread_equal(pthread_self(), g_thread));
}

bool is_fake(int fd) {
  return g_active && fd >= kFirstFd && fd < kEndFd;
}

Fd& at(int fd) {
  return g_fds[fd - kFirstFd];
}

int alloc_fd(Kind kind, Socket* sock) {
  for (int i = 0; i < kRange; ++i) {
    if (g_fds[i].kind == Kind::none) {
      g_fds[i] = Fd{kind, sock, false, 0, 0};
      return kFirstFd + i;
    }
  }
  return -1;
}

long fail(int e) {
  errno = e;
  return -1;
}

static size_t unread(const Socket& s) {
  return s.in.size() - s.in_off;
}

// EPOLLHUP/EPOLLERR are reported whatever the interest set, as epoll does.
uint32_t readiness(int fd) {
  const Fd& f = at(fd);
  switch (f.kind) {
    case Kind::listener:
      return g_world->backlog.empty() ? 0u : uint32_t{EPOLLIN};
    case Kind::signal:
      return g_world->signal_pending ? uint32_t{EPOLLIN} : 0u;
    case Kind::conn: {
      const Socket& s = *f.sock;
      uint32_t r = 0;
      if (s.reset) return EPOLLIN | EPOLLOUT | EPOLLERR | EPOLLHUP | EPOLLRDHUP;
      if (unread(s) > 0 || s.peer_eof) r |= EPOLLIN;
      if (s.peer_eof) r |= EPOLLRDHUP;
      if (s.send_room > 0 || s.shut_wr) r |= EPOLLOUT;
      if (s.peer_eof && s.shut_wr) r |= EPOLLHUP;
      return r;
    }
    default:
      return 0;
  }
}

long conn_read(Socket& s, void* buf, size_t n) {
  if (g_world->faults.read_eintr) {
    g_world->faults.read_eintr = false;
    return fail(EINTR);
  }
  size_t avail = unread(s);
  if (avail > 0 && n > 0) {
    size_t k = std::min({avail, n, s.read_chunk});
    std::memcpy(buf, s.in.data() + s.in_off, k);
    s.in_off += k;
    return long(k);
  }
  if (s.reset) return fail(ECONNRESET);
  if (s.peer_eof || n == 0) return 0;
  return fail(EAGAIN);
}

long conn_send(Socket& s, const iovec* iov, size_t cnt) {
  if (s.shut_wr) violation("write after shutdown(SHUT_WR)", s.fd);
  if (g_world->faults.send_eintr) {
    g_world->faults.send_eintr = false;
    return fail(EINTR);
  }
  if (s.reset) return fail(s.peer_eof ? EPIPE : ECONNRESET);
  size_t total = 0;
  for (size_t i = 0; i < cnt; ++i) total += iov[i].iov_len;
  if (total == 0) return 0;
  if (s.send_room == 0) return fail(EAGAIN);
  size_t left = std::min(total, s.send_room);
  if (s.send_room != kUnlimited) s.send_room -= left;
  size_t sent = 0;
  for (size_t i = 0; i < cnt && left > 0; ++i) {
    size_t k = std::min(left, iov[i].iov_len);
    s.out.append(static_cast<const char*>(iov[i].iov_base), k);
    left -= k;
    sent += k;
  }
  return long(sent);
}

}  // namespace detail

void init() {
  static bool done = false;
  if (done) return;
  done = true;
  int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (null_fd < 0) return;
  for (int fd = kFirstFd; fd < kEndFd; ++fd) dup2(null_fd, fd);
  close(null_fd);
}

World& begin() {
  init();
  for (Fd& f : g_fds) f = Fd{};
  g_world = new World();
  g_world->mono_ms = 1'000'000;
  g_world->wall_ms = 1'764'100'000'000;
  g_thread = pthread_self();
  g_active = true;
  return *g_world;
}

void end() {
  g_active = false;
  for (Fd& f : g_fds) f = Fd{};
  delete g_world;
  g_world = nullptr;
}

World& world() {
  return *g_world;
}

Socket& connect(const sockaddr_storage& peer) {
  auto s = std::make_unique<Socket>();
  s->id = int(g_world->sockets.size());
  s->peer = peer;
  g_world->backlog.push_back(s.get());
  g_world->sockets.push_back(std::move(s));
  return *g_world->sockets.back();
}

}  // namespace fake_os
