#include "net/event_loop.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "base/fd.h"

namespace chatd {
namespace {

TEST(EventLoop, ReportsTokensAndFollowsModifyAndRemove) {
  EventLoop loop;
  ASSERT_EQ(EventLoop::create(loop), 0);
  EXPECT_GE(loop.fd(), 0);
  UniqueFd a(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  UniqueFd b(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  const uint64_t ta = (uint64_t{7} << 32) | 1, tb = (uint64_t{9} << 32) | 2;
  ASSERT_EQ(loop.add(a.get(), EPOLLIN, ta), 0);
  ASSERT_EQ(loop.add(b.get(), EPOLLIN, tb), 0);
  EXPECT_EQ(loop.add(a.get(), EPOLLIN, ta), -EEXIST);

  epoll_event ev[4];
  EXPECT_EQ(loop.wait(ev, 4, 0), 0) << "nothing readable yet";
  uint64_t one = 1;
  ASSERT_EQ(write(b.get(), &one, sizeof one), 8);
  ASSERT_EQ(loop.wait(ev, 4, 0), 1);
  EXPECT_EQ(ev[0].data.u64, tb);
  EXPECT_TRUE(ev[0].events & EPOLLIN);

  // A new token (a reused slot's next generation) comes back after modify.
  ASSERT_EQ(loop.modify(b.get(), EPOLLIN | EPOLLOUT, tb + 1), 0);
  ASSERT_EQ(loop.wait(std::span<epoll_event>(ev), 0), 1);
  EXPECT_EQ(ev[0].data.u64, tb + 1);
  EXPECT_EQ(ev[0].events & (EPOLLIN | EPOLLOUT), uint32_t{EPOLLIN | EPOLLOUT});
  // An empty interest set silences an fd without removing it.
  ASSERT_EQ(write(a.get(), &one, sizeof one), 8);
  ASSERT_EQ(loop.modify(a.get(), 0, ta), 0);
  ASSERT_EQ(loop.wait(ev, 4, 0), 1);
  EXPECT_EQ(ev[0].data.u64, tb + 1);

  ASSERT_EQ(loop.remove(b.get()), 0);
  EXPECT_EQ(loop.wait(ev, 4, 0), 0);
  EXPECT_EQ(loop.remove(b.get()), -ENOENT);
  EXPECT_EQ(loop.modify(b.get(), EPOLLIN, 0), -ENOENT);
}

TEST(EventLoop, ErrorsComeBackAsNegativeErrno) {
  EventLoop unopened;
  epoll_event ev[1];
  EXPECT_EQ(unopened.wait(ev, 1, 0), -EBADF);
  EXPECT_EQ(unopened.add(0, EPOLLIN, 0), -EBADF);
}

TEST(EventLoop, SignalfdTurnsASignalIntoAReadableFd) {
  sigset_t before;
  sigprocmask(SIG_SETMASK, nullptr, &before);
  long sfd = make_signalfd({SIGUSR1, SIGUSR2});
  ASSERT_GE(sfd, 0);
  UniqueFd sig(static_cast<int>(sfd));
  EventLoop loop;
  ASSERT_EQ(EventLoop::create(loop), 0);
  ASSERT_EQ(loop.add(sig.get(), EPOLLIN, 42), 0);
  epoll_event ev[1];
  EXPECT_EQ(loop.wait(ev, 1, 0), 0);
  EXPECT_EQ(read_signal(sig.get()), 0) << "none pending";

  ASSERT_EQ(raise(SIGUSR1), 0);  // blocked: it waits in the fd, no handler runs
  ASSERT_EQ(loop.wait(ev, 1, 0), 1);
  EXPECT_EQ(ev[0].data.u64, 42u);
  EXPECT_EQ(read_signal(sig.get()), SIGUSR1);
  EXPECT_EQ(read_signal(sig.get()), 0);
  EXPECT_EQ(make_signalfd({9999}), -EINVAL);
  sigprocmask(SIG_SETMASK, &before, nullptr);
}

TEST(EventLoop, IgnoreSigpipeSetsSigIgn) {
  struct sigaction old {};
  sigaction(SIGPIPE, nullptr, &old);
  ignore_sigpipe();
  struct sigaction now {};
  sigaction(SIGPIPE, nullptr, &now);
  EXPECT_EQ(now.sa_handler, SIG_IGN);
  sigaction(SIGPIPE, &old, nullptr);
}

}  // namespace
}  // namespace chatd
