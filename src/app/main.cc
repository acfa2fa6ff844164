// chatd: wiring only. Parse the configuration once, build the server, run it.
#include <cstdio>

#include "app/config.h"
#include "app/server.h"
#include "base/log.h"

extern char** environ;

int main(int argc, char** argv) {
  using namespace chatd;
  ConfigResult parsed = parse_config(argc, argv, environ, self_exe_path(argv[0]));
  switch (parsed.action) {
    case ConfigAction::help:
    case ConfigAction::version:
      std::printf("%s\n", parsed.message.c_str());
      return 0;
    case ConfigAction::error:
      std::fprintf(stderr, "%s\n", parsed.message.c_str());
      return 2;
    case ConfigAction::run:
      break;
  }
  std::string error;
  std::unique_ptr<Server> server = Server::create(parsed.config, error);
  if (!server) {
    std::fprintf(stderr, "chatd: %s\n", error.c_str());
    return 1;
  }
  log_line("%.*s starting", int(kVersion.size()), kVersion.data());
  return server->run();
}
