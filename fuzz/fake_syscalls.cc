// The --wrap'ed syscalls: each goes to the fake kernel (fake_os_internal.h)
// for a fake fd or while a case runs, else to the real function.
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "fake_os_internal.h"

using namespace fake_os;
using namespace fake_os::detail;

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
ssize_t __real_getrandom(void*, size_t, unsigned);

int __wrap_socket(int domain, int type, int protocol) {
  if (!active()) return __real_socket(domain, type, protocol);
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
  World& w = world();
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
    if (!world().signal_pending) return fail(EAGAIN);
    if (n < sizeof(signalfd_siginfo)) return fail(EINVAL);
    signalfd_siginfo info{};
    info.ssi_signo = uint32_t(world().signal_number);
    std::memcpy(buf, &info, sizeof info);
    world().signal_pending = false;
    return sizeof info;
  }
  return fail(EBADF);
}

// The server's log lines would only slow the fuzzer down; CHATD_FUZZ_LOG=1
// shows them.
ssize_t __wrap_write(int fd, const void* buf, size_t n) {
  static const bool show = std::getenv("CHATD_FUZZ_LOG") != nullptr;
  if (active() && fd == STDERR_FILENO && !show) return ssize_t(n);
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
  if (!active()) return __real_epoll_create1(flags);
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
      if (f.kind == Kind::conn && world().faults.epoll_add_errno) {
        int e = world().faults.epoll_add_errno;
        world().faults.epoll_add_errno = 0;
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
  World& w = world();
  if (w.on_wait && !w.on_wait(timeout_ms)) return int(fail(EBADF));
  if (w.faults.wait_eintr) {
    w.faults.wait_eintr = false;
    return int(fail(EINTR));
  }
  int n = 0;
  constexpr int kRange = kEndFd - kFirstFd;
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
  if (!active()) return __real_signalfd(fd, mask, flags);
  int nfd = alloc_fd(Kind::signal, nullptr);
  return nfd < 0 ? int(fail(EMFILE)) : nfd;
}

// Blocking SIGINT in the fuzzer process would stop Ctrl-C from ending it.
int __wrap_sigprocmask(int how, const sigset_t* set, sigset_t* old) {
  if (!active()) return __real_sigprocmask(how, set, old);
  if (old) sigemptyset(old);
  return 0;
}

int __wrap_getrlimit(int resource, rlimit* lim) {
  if (!active() || resource != RLIMIT_NOFILE) return __real_getrlimit(resource, lim);
  lim->rlim_cur = lim->rlim_max = kFdLimit;
  return 0;
}

int __wrap_clock_gettime(clockid_t clock, timespec* t) {
  if (!active(true) || (clock != CLOCK_MONOTONIC && clock != CLOCK_REALTIME)) {
    return __real_clock_gettime(clock, t);
  }
  int64_t ms = clock == CLOCK_MONOTONIC ? world().mono_ms : world().wall_ms;
  t->tv_sec = ms / 1000;
  t->tv_nsec = long(ms % 1000) * 1000000;
  return 0;
}

// The server seeds its room epochs from the kernel; a fixed seed keeps every
// run of one input the same, so a crash replays byte for byte.
ssize_t __wrap_getrandom(void* buf, size_t len, unsigned flags) {
  if (!active(true)) return __real_getrandom(buf, len, flags);
  std::memset(buf, 0x5a, len);
  return ssize_t(len);
}

}  // extern "C"
