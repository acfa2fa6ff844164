// A throwaway redis-server for tests: on a free loopback port (or a unix
// socket), in its own temp directory, with persistence off. Start() waits for
// its "Ready to accept connections" log line, read from a pipe: an event, not
// a sleep. The destructor kills it and removes the directory.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "base/clock.h"

namespace chatd::test {

class RedisServer {
 public:
  RedisServer();
  ~RedisServer();
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  // Starts redis-server with the extra arguments (e.g. {"--requirepass",
  // "pw"}) on port() (chosen on the first start, then reused) and
  // unix_path(); returns false with a reason in error() if it is not ready
  // within 20 s.
  bool start(std::vector<std::string> extra = {});
  // Sends `sig` to the server; after SIGKILL, waits for it to be reaped.
  void signal(int sig);
  bool running() const { return pid_ > 0; }

  int port() const { return port_; }
  const std::string& unix_path() const { return unix_path_; }
  const std::string& error() const { return error_; }

  // True when redis-server can be run here (the tests skip otherwise).
  static bool available();

 private:
  std::string dir_;
  std::string unix_path_;
  std::string error_;
  int port_ = 0;
  int pid_ = -1;
};

// A port no one listens on right now (bound to 127.0.0.1:0, then closed).
inline int free_loopback_port() {
  int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  int port = 0;
  if (bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      getsockname(s, reinterpret_cast<sockaddr*>(&a), &len) == 0)
    port = ntohs(a.sin_port);
  close(s);
  return port;
}

inline bool RedisServer::available() {
  return access("/usr/bin/redis-server", X_OK) == 0;
}

inline RedisServer::RedisServer() {
  char tmpl[] = "/tmp/chatd-redis-test-XXXXXX";
  if (mkdtemp(tmpl)) dir_ = tmpl;
  unix_path_ = dir_ + "/redis.sock";
}

inline RedisServer::~RedisServer() {
  if (pid_ > 0) signal(SIGKILL);
  std::error_code ec;
  if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
}

inline void RedisServer::signal(int sig) {
  if (pid_ <= 0) return;
  kill(pid_, sig);
  if (sig == SIGKILL) {
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
}

inline bool RedisServer::start(std::vector<std::string> extra) {
  if (pid_ > 0) signal(SIGKILL);
  if (port_ == 0) port_ = free_loopback_port();
  std::vector<std::string> args = {"redis-server",
                                   "--port",
                                   std::to_string(port_),
                                   "--bind",
                                   "127.0.0.1",
                                   "--save",
                                   "",
                                   "--appendonly",
                                   "no",
                                   "--dir",
                                   dir_,
                                   "--unixsocket",
                                   unix_path_,
                                   "--logfile",
                                   "",
                                   "--daemonize",
                                   "no",
                                   "--protected-mode",
                                   "no"};
  args.insert(args.end(), extra.begin(), extra.end());
  int out[2];
  if (pipe2(out, O_CLOEXEC) < 0) {
    error_ = "pipe failed";
    return false;
  }
  pid_t pid = fork();
  if (pid == 0) {
    dup2(out[1], 1);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv("/usr/bin/redis-server", argv.data());
    _exit(127);
  }
  close(out[1]);
  pid_ = pid;
  std::string log;
  const int64_t deadline = mono_ms() + 20000;
  bool ready = false;
  while (!ready) {
    int64_t left = deadline - mono_ms();
    if (left <= 0) break;
    pollfd p{out[0], POLLIN, 0};
    if (poll(&p, 1, int(left)) <= 0) continue;
    char buf[4096];
    ssize_t n = read(out[0], buf, sizeof buf);
    if (n <= 0) break;  // it exited
    log.append(buf, size_t(n));
    ready = log.find("Ready to accept connections") != std::string::npos;
  }
  close(out[0]);
  if (!ready) {
    error_ = "redis-server did not become ready: " + log;
    signal(SIGKILL);
    return false;
  }
  return true;
}

}  // namespace chatd::test
