// chat_load: a load generator for chatd (and the floor baseline). Wiring
// only: parse the options, lift the fd limit, run the chosen mode.
#include <signal.h>
#include <sys/resource.h>

#include <cstdio>
#include <string>

#include "modes.h"
#include "options.h"

int main(int argc, char** argv) {
  using namespace chatd::load;
  Options opt;
  std::string err;
  switch (parse_options(argc, argv, opt, err)) {
    case ParseOutcome::help:
      std::fputs(usage_text(), stdout);
      return 0;
    case ParseOutcome::error:
      std::fprintf(stderr, "chat_load: %s\n%s", err.c_str(), usage_text());
      return 2;
    case ParseOutcome::run:
      break;
  }
  // Every connection is an fd: take the whole hard limit.
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < opt.clients + 16ull)
      std::fprintf(stderr, "chat_load: warning: fd limit %llu is below %u connections\n",
                   (unsigned long long)rl.rlim_cur, opt.clients);
  }
  signal(SIGPIPE, SIG_IGN);
  switch (opt.mode) {
    case Mode::fanout:
      return run_fanout(opt);
    case Mode::connect:
      return run_connect(opt);
    case Mode::churn:
      return run_churn(opt);
    case Mode::resume:
      return run_resume(opt);
  }
  return 2;
}
