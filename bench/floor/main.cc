// floor's command line: floor [--host H] [--port P] [--batch]. --batch is
// the default and only mode; it is accepted so a command line for the
// reference floor binary works here unchanged.
#include <signal.h>
#include <sys/resource.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "floor.h"

namespace {
void on_signal(int) {
  floorsrv::g_stop = 1;
}
}  // namespace

int main(int argc, char** argv) {
  const char* host = "127.0.0.1";
  int port = 9000;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--port" && i + 1 < argc)
      port = std::atoi(argv[++i]);
    else if (a == "--host" && i + 1 < argc)
      host = argv[++i];
    else if (a != "--batch") {
      std::fprintf(stderr, "usage: floor [--host H] [--port P] [--batch]\n");
      return 2;
    }
  }
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  signal(SIGPIPE, SIG_IGN);
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  floorsrv::Floor f(rl.rlim_cur == RLIM_INFINITY ? 1 << 20 : size_t(rl.rlim_cur));
  if (!f.listen_on(host, port)) {
    std::fprintf(stderr, "floor: bind/listen %s:%d: %s\n", host, port, std::strerror(errno));
    return 1;
  }
  f.run();
  return 0;
}
