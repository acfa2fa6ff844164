#include "net/socket.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "base/fd.h"

namespace chatd {
namespace {

bool nonblocking(int fd) {
  return fcntl(fd, F_GETFL) & O_NONBLOCK;
}
bool cloexec(int fd) {
  return fcntl(fd, F_GETFD) & FD_CLOEXEC;
}

sockaddr_storage v4(const char* ip, uint16_t port) {
  sockaddr_storage s{};
  auto& a = reinterpret_cast<sockaddr_in&>(s);
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  EXPECT_EQ(inet_pton(AF_INET, ip, &a.sin_addr), 1);
  return s;
}

sockaddr_storage v6(const char* ip, uint16_t port) {
  sockaddr_storage s{};
  auto& a = reinterpret_cast<sockaddr_in6&>(s);
  a.sin6_family = AF_INET6;
  a.sin6_port = htons(port);
  EXPECT_EQ(inet_pton(AF_INET6, ip, &a.sin6_addr), 1);
  return s;
}

std::string peer_text(const sockaddr_storage& s) {
  char buf[kPeerTextMax];
  size_t n = format_peer(s, buf, sizeof buf);
  EXPECT_EQ(n, std::strlen(buf));
  return std::string(buf, n);
}

TEST(Socket, ListenOnPortZeroAndAcceptOnLoopback) {
  long lfd = listen_tcp("127.0.0.1", 0, 16);
  ASSERT_GE(lfd, 0) << strerror(static_cast<int>(-lfd));
  UniqueFd listener(static_cast<int>(lfd));
  EXPECT_TRUE(nonblocking(listener.get()));
  EXPECT_TRUE(cloexec(listener.get()));
  long port = local_port(listener.get());
  ASSERT_GT(port, 0);

  sockaddr_storage peer;
  EXPECT_EQ(accept_nonblocking(listener.get(), &peer), -EAGAIN) << "nobody has connected yet";

  long cfd = connect_tcp("127.0.0.1", static_cast<uint16_t>(port));
  ASSERT_GE(cfd, 0);
  UniqueFd client(static_cast<int>(cfd));
  long afd = accept_nonblocking(listener.get(), &peer);
  ASSERT_GE(afd, 0);
  UniqueFd server(static_cast<int>(afd));
  EXPECT_TRUE(nonblocking(server.get()));
  EXPECT_TRUE(cloexec(server.get()));
  set_nodelay(server.get());

  EXPECT_EQ(peer.ss_family, AF_INET);
  EXPECT_EQ(peer_text(peer).rfind("127.0.0.1:", 0), 0u);
  EXPECT_EQ(ip_key(peer), ip_key(v4("127.0.0.1", 1)));

  // Bytes flow both ways; read_some reports "nothing yet" and end of stream.
  char buf[16];
  EXPECT_EQ(read_some(server.get(), buf, sizeof buf), -EAGAIN);
  ASSERT_EQ(write(client.get(), "hello", 5), 5);
  EXPECT_EQ(read_some(server.get(), buf, sizeof buf), 5);
  EXPECT_EQ(std::string(buf, 5), "hello");
  iovec iov[2] = {{const_cast<char*>("ab"), 2}, {const_cast<char*>("cde"), 3}};
  EXPECT_EQ(writev_some(server.get(), iov, 2), 5);
  EXPECT_EQ(read(client.get(), buf, sizeof buf), 5);
  EXPECT_EQ(std::string(buf, 5), "abcde");
  client.reset();
  EXPECT_EQ(read_some(server.get(), buf, sizeof buf), 0);
}

TEST(Socket, ListenOnIpv6LoopbackWhenAvailable) {
  for (const char* host : {"::1", "[::1]"}) {
    long lfd = listen_tcp(host, 0, 4);
    if (lfd == -EADDRNOTAVAIL || lfd == -EAFNOSUPPORT) GTEST_SKIP() << "no IPv6 here";
    ASSERT_GE(lfd, 0) << host;
    UniqueFd listener(static_cast<int>(lfd));
    long cfd = connect_tcp("::1", static_cast<uint16_t>(local_port(listener.get())));
    ASSERT_GE(cfd, 0);
    UniqueFd client(static_cast<int>(cfd));
    sockaddr_storage peer;
    long afd = accept_nonblocking(listener.get(), &peer);
    ASSERT_GE(afd, 0);
    close(static_cast<int>(afd));
    EXPECT_EQ(peer.ss_family, AF_INET6);
    EXPECT_EQ(peer_text(peer).rfind("[::1]:", 0), 0u);
  }
}

TEST(Socket, WildcardHostsListen) {
  for (const char* host : {"0.0.0.0", "::"}) {
    long lfd = listen_tcp(host, 0, 4);
    if (lfd == -EAFNOSUPPORT) continue;
    ASSERT_GE(lfd, 0) << host;
    close(static_cast<int>(lfd));
  }
}

TEST(Socket, HostsThatAreNeitherLiteralsNorNamesAreRejected) {
  // None of these looks like a name, so no resolver is ever asked.
  for (const char* host : {"", "256.1.1.1", "1.2.3", "::g", "a b", "-x", ".x", "x:80", "x/y",
                           "[::1", "::1]", "[127.0.0.1]", " 127.0.0.1"}) {
    EXPECT_EQ(listen_tcp(host, 0, 4), -EINVAL) << '"' << host << '"';
  }
  EXPECT_EQ(listen_tcp(nullptr, 0, 4), -EINVAL);
}

TEST(Socket, LocalhostResolvesFromTheHostsFile) {
  long lfd = listen_tcp("localhost", 0, 4);
  ASSERT_GE(lfd, 0) << strerror(static_cast<int>(-lfd));
  UniqueFd listener(static_cast<int>(lfd));
  long cfd = connect_tcp("localhost", static_cast<uint16_t>(local_port(listener.get())));
  ASSERT_GE(cfd, 0) << strerror(static_cast<int>(-cfd));
  UniqueFd client(static_cast<int>(cfd));
  long afd = accept_nonblocking(listener.get(), nullptr);
  ASSERT_GE(afd, 0);
  close(static_cast<int>(afd));
}

TEST(Socket, PortInUseIsReported) {
  long a = listen_tcp("127.0.0.1", 0, 4);
  ASSERT_GE(a, 0);
  UniqueFd first(static_cast<int>(a));
  long b = listen_tcp("127.0.0.1", static_cast<uint16_t>(local_port(first.get())), 4);
  EXPECT_EQ(b, -EADDRINUSE);
}

// With SIGPIPE at its default action a plain send would kill the test
// binary; MSG_NOSIGNAL must turn it into -EPIPE.
TEST(Socket, WritevToClosedPeerIsEpipeNotSigpipe) {
  struct sigaction old {
  }, dfl{};
  dfl.sa_handler = SIG_DFL;
  sigaction(SIGPIPE, &dfl, &old);

  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  close(sv[1]);
  iovec iov = {const_cast<char*>("x"), 1};
  EXPECT_EQ(writev_some(sv[0], &iov, 1), -EPIPE);
  close(sv[0]);

  // The same over TCP, where the peer's RST arrives after a first send.
  long lfd = listen_tcp("127.0.0.1", 0, 4);
  ASSERT_GE(lfd, 0);
  UniqueFd listener(static_cast<int>(lfd));
  UniqueFd client(
      static_cast<int>(connect_tcp("127.0.0.1", static_cast<uint16_t>(local_port(lfd)))));
  ASSERT_TRUE(client);
  UniqueFd server(static_cast<int>(accept_nonblocking(listener.get(), nullptr)));
  ASSERT_TRUE(server);
  client.reset();
  long r = 0;
  for (int i = 0; i < 1000 && r >= 0; ++i) r = writev_some(server.get(), &iov, 1);
  EXPECT_TRUE(r == -EPIPE || r == -ECONNRESET) << r;

  sigaction(SIGPIPE, &old, nullptr);
}

TEST(Socket, FormatPeerTable) {
  struct Case {
    sockaddr_storage addr;
    const char* want;
  };
  sockaddr_storage unknown{};
  unknown.ss_family = AF_UNIX;
  const Case cases[] = {
      {v4("127.0.0.1", 8080), "127.0.0.1:8080"},
      {v4("255.255.255.255", 65535), "255.255.255.255:65535"},
      {v6("::1", 443), "[::1]:443"},
      {v6("2001:db8::8a2e:370:7334", 1), "[2001:db8::8a2e:370:7334]:1"},
      {v6("::ffff:10.0.0.7", 9), "10.0.0.7:9"},
      {v6("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535),
       "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535"},
      {unknown, "?"},
  };
  for (const Case& c : cases) EXPECT_EQ(peer_text(c.addr), c.want);

  // Truncation keeps the NUL inside the buffer.
  char small[6];
  sockaddr_storage a = v4("127.0.0.1", 80);
  EXPECT_EQ(format_peer(a, small, sizeof small), 5u);
  EXPECT_STREQ(small, "127.0");
  EXPECT_EQ(format_peer(a, small, 0), 0u);
}

TEST(Socket, IpKeyTable) {
  struct Case {
    const char* name;
    sockaddr_storage a, b;
    int prefix;
    bool same;
  };
  const Case cases[] = {
      {"port is ignored", v4("10.1.2.3", 1), v4("10.1.2.3", 2), 128, true},
      {"different v4", v4("10.1.2.3", 1), v4("10.1.2.4", 1), 128, false},
      {"v4 equals v4-mapped v6", v4("10.1.2.3", 1), v6("::ffff:10.1.2.3", 5), 128, true},
      {"v4 prefix never truncated", v4("10.1.2.3", 1), v4("10.1.2.4", 1), 64, false},
      {"v6 full", v6("2001:db8::1", 1), v6("2001:db8::2", 1), 128, false},
      {"v6 same /64", v6("2001:db8::1", 1), v6("2001:db8::2", 1), 64, true},
      {"v6 other /64", v6("2001:db8:0:1::1", 1), v6("2001:db8:0:2::1", 1), 64, false},
      {"v6 odd prefix, same", v6("2001:db8::", 1), v6("2001:db8:7fff::", 1), 33, true},
      {"v6 odd prefix, differs", v6("2001:db8::", 1), v6("2001:db8:8000::", 1), 33, false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(ip_key(c.a, c.prefix) == ip_key(c.b, c.prefix), c.same);
    if (c.same) {
      EXPECT_EQ(ip_key_hash(ip_key(c.a, c.prefix)), ip_key_hash(ip_key(c.b, c.prefix)));
    }
  }
  EXPECT_NE(ip_key_hash(ip_key(v4("10.0.0.1", 0))), ip_key_hash(ip_key(v4("10.0.0.2", 0))));
  IpKey mapped = ip_key(v4("1.2.3.4", 0));
  const IpKey want = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 1, 2, 3, 4};
  EXPECT_EQ(mapped, want);
}

}  // namespace
}  // namespace chatd
