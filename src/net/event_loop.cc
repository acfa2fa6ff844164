#include "net/event_loop.h"

#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "base/sys.h"

namespace chatd {

long EventLoop::create(EventLoop& out) {
  long fd = sys_result(epoll_create1(EPOLL_CLOEXEC));
  if (fd < 0) return fd;
  out.ep_.reset(static_cast<int>(fd));
  return 0;
}

static long ctl(int ep, int op, int fd, uint32_t events, uint64_t token) {
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = token;
  return sys_result(epoll_ctl(ep, op, fd, &ev));
}

long EventLoop::add(int fd, uint32_t events, uint64_t token) {
  return ctl(ep_.get(), EPOLL_CTL_ADD, fd, events, token);
}

long EventLoop::modify(int fd, uint32_t events, uint64_t token) {
  return ctl(ep_.get(), EPOLL_CTL_MOD, fd, events, token);
}

long EventLoop::remove(int fd) {
  // A non-null event pointer keeps pre-2.6.9 kernels happy; it is ignored.
  epoll_event ev{};
  return sys_result(epoll_ctl(ep_.get(), EPOLL_CTL_DEL, fd, &ev));
}

int EventLoop::wait(epoll_event* out, int max, int timeout_ms) {
  long n = sys_result(epoll_wait(ep_.get(), out, max, timeout_ms));
  // EINTR is not an error for a loop: the caller recomputes its timers and
  // drains its signalfd on the next turn anyway.
  if (n == -EINTR) return 0;
  return static_cast<int>(n);
}

long make_signalfd(std::initializer_list<int> signals) {
  sigset_t set;
  sigemptyset(&set);
  for (int s : signals) {
    if (sigaddset(&set, s) < 0) return -EINVAL;
  }
  if (sigprocmask(SIG_BLOCK, &set, nullptr) < 0) return -errno;
  return sys_result(signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC));
}

int read_signal(int signal_fd) {
  signalfd_siginfo info;
  long n = sys_retry([&] { return read(signal_fd, &info, sizeof info); });
  if (n == -EAGAIN) return 0;
  if (n < 0) return static_cast<int>(n);
  if (n != sizeof info) return -EIO;
  return static_cast<int>(info.ssi_signo);
}

void ignore_sigpipe() {
  struct sigaction sa {};
  sa.sa_handler = SIG_IGN;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGPIPE, &sa, nullptr);
}

}  // namespace chatd
