// The fake kernel behind the --wrap'ed syscalls (fake_os.h).
#include "fake_os.h"

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

enum class Kind : uint8_t { none, listener, signal, epoll, conn };

struct Fd {
  Kind kind = Kind::none;
  Socket* sock = nullptr;
  bool in_epoll = false;  // registered in the (one) fake epoll set
  uint32_t events = 0;
  uint64_t token = 0;
};

constexpr int kRange = kEndFd - kFirstFd;

bool g_active = false;
pthread_t g_thread;  // the thread running the case; others see real clocks
World* g_world = nullptr;
Fd g_fds[kRange];

[[noreturn]] void violation(const char* what, int fd) {
  std::fprintf(stderr, "fake_os: server bug: %s (fd %d)\n", what, fd);
  std::abort();
}

bool is_fake(int fd) {
  return g_active && fd >= kFirstFd && fd < kEndFd;
}

Fd& at(int fd) {
  return g_fds[fd - kFirstFd];
}

// The lowest free fake fd, as the kernel would pick; -1 when all are taken.
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

size_t unread(const Socket& s) {
  return s.in.size() - s.in_off;
}

// What epoll would report for `fd` now (level-triggered), before masking
// with the interest set; EPOLLHUP/EPOLLERR are always reported.
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

}  // namespace

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

using namespace fake_os;

extern "C" {

int __real_socket(int, int, int);
int __real_setsockopt(int, int, int, const void*, socklen_t);
int __real_bind(int, const sockaddr*, socklen_t);
int __real_listen(int, int);
int __real_getsockname(int, sockaddr*, socklen_t*);
int __real_accept4(int, sockaddr*, socklen_t*, int);
ssize_t __real_read(int, void*, size_t);
ssize_t __real_write(int, const void*, size_t);
ssize_t __real_recv(int, void*, size_t, int);
ssize_t __real_send(int, const void*, size_t, int);
ssize_t __real_sendmsg(int, const msghdr*, int);
ssize_t __real_writev(int, const iovec*, int);
int __real_shutdown(int, int);
int __real_close(int);
int __real_epoll_create1(int);
int __real_epoll_ctl(int, int, int, epoll_event*);
int __real_epoll_wait(int, epoll_event*, int, int);
int __real_signalfd(int, const sigset_t*, int);
int __real_sigprocmask(int, const sigset_t*, sigset_t*);
int __real_getrlimit(int, rlimit*);
int __real_clock_gettime(clockid_t, timespec*);

int __wrap_socket(int domain, int type, int protocol) {
  if (!g_active) return __real_socket(domain, type, protocol);
  int fd = alloc_fd(Kind::listener, nullptr);
  return fd < 0 ? int(fail(EMFILE)) : fd;
}

int __wrap_setsockopt(int fd, int level, int name, const void* value, socklen_t len) {
  if (!is_fake(fd)) return __real_setsockopt(fd, level, name, value, len);
  return at(fd).kind == Kind::none ? int(fail(EBADF)) : 0;
}

int __wrap_bind(int fd, const sockaddr* addr, socklen_t len) {
  if (!is_fake(fd)) return __real_bind(fd, addr, len);
  return 0;
}

int __wrap_listen(int fd, int backlog) {
  if (!is_fake(fd)) return __real_listen(fd, backlog);
  return 0;
}

int __wrap_getsockname(int fd, sockaddr* addr, socklen_t* len) {
  if (!is_fake(fd)) return __real_getsockname(fd, addr, len);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(8080);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::memcpy(addr, &a, std::min<size_t>(*len, sizeof a));
  *len = sizeof a;
  return 0;
}

int __wrap_accept4(int fd, sockaddr* addr, socklen_t* len, int flags) {
  if (!is_fake(fd)) return __real_accept4(fd, addr, len, flags);
  if (at(fd).kind != Kind::listener) return int(fail(ENOTSOCK));
  World& w = *g_world;
  if (w.backlog.empty()) return int(fail(EAGAIN));
  if (int e = w.faults.accept_errno) {
    w.faults.accept_errno = 0;
    // ECONNABORTED and EPROTO consume the pending connection, like the kernel.
    if (e == ECONNABORTED || e == EPROTO) {
      w.backlog.front()->closed = true;
      w.backlog.pop_front();
    }
    return int(fail(e));
  }
  Socket* s = w.backlog.front();
  int nfd = alloc_fd(Kind::conn, s);
  if (nfd < 0) return int(fail(EMFILE));
  w.backlog.pop_front();
  s->fd = nfd;
  s->accepted = true;
  if (addr && len) {
    socklen_t n = std::min<socklen_t>(*len, sizeof s->peer);
    std::memcpy(addr, &s->peer, n);
    *len = s->peer.ss_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
  }
  return nfd;
}

ssize_t __wrap_read(int fd, void* buf, size_t n) {
  if (!is_fake(fd)) return __real_read(fd, buf, n);
  Fd& f = at(fd);
  if (f.kind == Kind::conn) return conn_read(*f.sock, buf, n);
  if (f.kind == Kind::signal) {
    if (!g_world->signal_pending) return fail(EAGAIN);
    if (n < sizeof(signalfd_siginfo)) return fail(EINVAL);
    signalfd_siginfo info{};
    info.ssi_signo = uint32_t(g_world->signal_number);
    std::memcpy(buf, &info, sizeof info);
    g_world->signal_pending = false;
    return sizeof info;
  }
  return fail(EBADF);
}

// The server's log lines would only slow the fuzzer down; CHATD_FUZZ_LOG=1
// shows them.
ssize_t __wrap_write(int fd, const void* buf, size_t n) {
  static const bool show = std::getenv("CHATD_FUZZ_LOG") != nullptr;
  if (g_active && fd == STDERR_FILENO && !show) return ssize_t(n);
  if (!is_fake(fd)) return __real_write(fd, buf, n);
  Fd& f = at(fd);
  if (f.kind != Kind::conn) return fail(EBADF);
  iovec v{const_cast<void*>(buf), n};
  return conn_send(*f.sock, &v, 1);
}

ssize_t __wrap_recv(int fd, void* buf, size_t n, int flags) {
  if (!is_fake(fd)) return __real_recv(fd, buf, n, flags);
  Fd& f = at(fd);
  if (f.kind != Kind::conn) return fail(ENOTSOCK);
  f.sock->refused = true;
  return conn_read(*f.sock, buf, n);
}

ssize_t __wrap_send(int fd, const void* buf, size_t n, int flags) {
  if (!is_fake(fd)) return __real_send(fd, buf, n, flags);
  Fd& f = at(fd);
  if (f.kind != Kind::conn) return fail(ENOTSOCK);
  iovec v{const_cast<void*>(buf), n};
  return conn_send(*f.sock, &v, 1);
}

ssize_t __wrap_sendmsg(int fd, const msghdr* msg, int flags) {
  if (!is_fake(fd)) return __real_sendmsg(fd, msg, flags);
  Fd& f = at(fd);
  if (f.kind != Kind::conn) return fail(ENOTSOCK);
  if (!(flags & MSG_NOSIGNAL)) violation("sendmsg without MSG_NOSIGNAL", fd);
  return conn_send(*f.sock, msg->msg_iov, msg->msg_iovlen);
}

ssize_t __wrap_writev(int fd, const iovec* iov, int cnt) {
  if (!is_fake(fd)) return __real_writev(fd, iov, cnt);
  Fd& f = at(fd);
  if (f.kind != Kind::conn) return fail(EBADF);
  return conn_send(*f.sock, iov, size_t(cnt));
}

int __wrap_shutdown(int fd, int how) {
  if (!is_fake(fd)) return __real_shutdown(fd, how);
  Fd& f = at(fd);
  if (f.kind != Kind::conn) return int(fail(ENOTCONN));
  if (how == SHUT_WR || how == SHUT_RDWR) f.sock->shut_wr = true;
  return 0;
}

int __wrap_close(int fd) {
  if (!is_fake(fd)) return __real_close(fd);
  Fd& f = at(fd);
  if (f.kind == Kind::none) violation("close of an fd that is not open", fd);
  if (f.kind == Kind::conn) {
    f.sock->closed = true;
    f.sock->fd = -1;
  }
  f = Fd{};  // closing also leaves the epoll set
  return 0;
}

int __wrap_epoll_create1(int flags) {
  if (!g_active) return __real_epoll_create1(flags);
  int fd = alloc_fd(Kind::epoll, nullptr);
  return fd < 0 ? int(fail(EMFILE)) : fd;
}

int __wrap_epoll_ctl(int ep, int op, int fd, epoll_event* ev) {
  if (!is_fake(ep)) return __real_epoll_ctl(ep, op, fd, ev);
  if (at(ep).kind != Kind::epoll) violation("epoll_ctl on a non-epoll fd", ep);
  if (!is_fake(fd) || at(fd).kind == Kind::none) violation("epoll_ctl of a closed fd", fd);
  Fd& f = at(fd);
  switch (op) {
    case EPOLL_CTL_ADD:
      if (f.in_epoll) violation("EPOLL_CTL_ADD of a registered fd", fd);
      if (f.kind == Kind::conn && g_world->faults.epoll_add_errno) {
        int e = g_world->faults.epoll_add_errno;
        g_world->faults.epoll_add_errno = 0;
        return int(fail(e));
      }
      f.in_epoll = true;
      f.events = ev->events;
      f.token = ev->data.u64;
      return 0;
    case EPOLL_CTL_MOD:
      if (!f.in_epoll) violation("EPOLL_CTL_MOD of an unregistered fd", fd);
      f.events = ev->events;
      f.token = ev->data.u64;
      return 0;
    case EPOLL_CTL_DEL:
      if (!f.in_epoll) violation("EPOLL_CTL_DEL of an unregistered fd", fd);
      f.in_epoll = false;
      return 0;
  }
  return int(fail(EINVAL));
}

int __wrap_epoll_wait(int ep, epoll_event* out, int max, int timeout_ms) {
  if (!is_fake(ep)) return __real_epoll_wait(ep, out, max, timeout_ms);
  World& w = *g_world;
  if (w.on_wait && !w.on_wait(timeout_ms)) return int(fail(EBADF));
  if (w.faults.wait_eintr) {
    w.faults.wait_eintr = false;
    return int(fail(EINTR));
  }
  int n = 0;
  for (int i = 0; i < kRange && n < max; ++i) {
    int fd = kFirstFd + int((unsigned(i) + w.rotate) % unsigned(kRange));
    Fd& f = at(fd);
    if (!f.in_epoll) continue;
    uint32_t ready = readiness(fd) & (f.events | EPOLLERR | EPOLLHUP);
    if (!ready) continue;
    out[n].events = ready;
    out[n].data.u64 = f.token;
    ++n;
  }
  return n;
}

int __wrap_signalfd(int fd, const sigset_t* mask, int flags) {
  if (!g_active) return __real_signalfd(fd, mask, flags);
  int nfd = alloc_fd(Kind::signal, nullptr);
  return nfd < 0 ? int(fail(EMFILE)) : nfd;
}

// Blocking SIGINT in the fuzzer process would stop Ctrl-C from ending it.
int __wrap_sigprocmask(int how, const sigset_t* set, sigset_t* old) {
  if (!g_active) return __real_sigprocmask(how, set, old);
  if (old) sigemptyset(old);
  return 0;
}

int __wrap_getrlimit(int resource, rlimit* lim) {
  if (!g_active || resource != RLIMIT_NOFILE) return __real_getrlimit(resource, lim);
  lim->rlim_cur = lim->rlim_max = kFdLimit;
  return 0;
}

int __wrap_clock_gettime(clockid_t clock, timespec* t) {
  if (!g_active || !pthread_equal(pthread_self(), g_thread) ||
      (clock != CLOCK_MONOTONIC && clock != CLOCK_REALTIME)) {
    return __real_clock_gettime(clock, t);
  }
  int64_t ms = clock == CLOCK_MONOTONIC ? g_world->mono_ms : g_world->wall_ms;
  t->tv_sec = ms / 1000;
  t->tv_nsec = long(ms % 1000) * 1000000;
  return 0;
}

}  // extern "C"
