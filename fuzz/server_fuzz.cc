// Fuzzes the whole server, in the spirit of uWebSockets' libEpollFuzzer: the
// real chatd::Server (loop, connection table, HTTP and WebSocket phases,
// fan-out, timeouts, shutdown) runs against a fake kernel (fake_os.h) whose
// syscalls are linked in with -Wl,--wrap. The input is a script of peer
// actions played one per epoll_wait: connections, HTTP requests, handshakes,
// WebSocket frames and chat messages, partial reads and writes, EAGAIN,
// resets, half-closes, time passing, injected syscall failures and signals.
// When the script ends, SIGTERM arrives, the peers read everything, and time
// runs on until Server::run returns.
//
// Input: [config byte] then ops, each an op byte and its arguments (a length
// byte and raw bytes, a table index...). Running out of bytes ends the script.
//
// Invariants: no crash or sanitizer report; the fake kernel sees no misuse
// (close of a closed fd, epoll_ctl of an unregistered fd, a write after
// SHUT_WR); run() returns 0 after the signal; and every connection's output
// passes fuzz::check_output (HTTP responses, then valid server frames, JSON
// text, consecutive event ids, one payload per id across connections).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include "app/server.h"
#include "fake_os.h"
#include "fuzz_check.h"
#include "fuzz_script.h"
#include "wire_check.h"

namespace {

using namespace chatd;
using fake_os::Socket;

// Turns the server gets after the script to stop by itself; it needs a few
// per closing deadline, so a run past this is a server that does not stop.
constexpr int kDrainTurns = 2000;

// A small static root: the client page, a file, a directory, a symlink that
// leads out of the root, and a file big enough that two pipelined requests
// for it pause reading (kHttpOutputPause). libFuzzer often ends with _Exit,
// so instead of a temporary directory per run there is one per user, built
// aside and renamed into place (parallel jobs may race to make it).
std::string static_root() {
  std::string root = "/tmp/chatd-server-fuzz-" + std::to_string(getuid());
  if (std::filesystem::exists(root + "/big.txt")) return root;
  char tmpl[] = "/tmp/chatd-server-fuzz-new-XXXXXX";
  const char* dir = mkdtemp(tmpl);
  CHECK(dir);
  std::string r = dir;
  std::ofstream(r + "/chat.html") << "<!doctype html><title>chat</title>\n";
  std::ofstream(r + "/app.js") << "console.log('hi');\n";
  std::filesystem::create_directory(r + "/sub");
  std::ofstream(r + "/sub/a.css") << "body{}\n";
  std::filesystem::create_symlink("/etc/hostname", r + "/out");
  std::ofstream(r + "/big.txt") << std::string(600 * 1024, 'b');  // written last: the marker
  std::filesystem::permissions(r, std::filesystem::perms(0755));
  if (rename(r.c_str(), root.c_str()) != 0) std::filesystem::remove_all(r);
  return root;
}

// The first byte picks the limits, so that small inputs reach them.
Config make_config(uint8_t v) {
  Config c;
  c.host = "127.0.0.1";
  c.port = 0;
  static const std::string root = static_root();
  c.static_dir = root;
  // The memory store: SQLite's own file I/O would meet the fake kernel's
  // wrapped read, write and close (the store has unit and fault tests).
  c.db = ":memory:";
  if (v & 1) c.max_conn = 4;
  if (v & 2) c.max_conn_per_ip = 2;
  if (v & 4) c.max_backlog = 3000;
  if (v & 8) c.max_message = 200;
  switch ((v >> 4) & 3) {
    case 1:
      c.rate = 2, c.burst = 3;
      break;
    case 2:
      c.rate = 0;
      break;
    default:
      break;
  }
  switch ((v >> 6) & 3) {
    case 1:
      c.allow_origins = {"*"};
      break;
    case 2:
      c.allow_origins = {"http://good.example"};
      break;
    default:
      break;
  }
  c.shutdown_grace_ms = 500;
  return c;
}

struct Harness {
  explicit Harness(fuzz::Script s) : script(s) {}

  fuzz::Script script;
  bool signalled = false;
  int drain_turns = 0;

  // The fake epoll_wait's hook: one script op per turn, then the drain.
  bool on_wait(int timeout_ms) {
    fake_os::World& w = fake_os::world();
    if (!script.done()) {
      fuzz::play_op(script, w, timeout_ms);
      return true;
    }
    if (!signalled) {
      signalled = true;
      w.signal_pending = true;
      w.signal_number = SIGTERM;
      return true;
    }
    if (++drain_turns > kDrainTurns) return false;
    for (auto& s : w.sockets) s->send_room = fake_os::kUnlimited;
    w.mono_ms += timeout_ms >= 0 ? timeout_ms : 1000;
    w.wall_ms += timeout_ms >= 0 ? timeout_ms : 1000;
    return true;
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  Config config = make_config(data[0]);
  fake_os::World& world = fake_os::begin();
  Harness h(fuzz::Script{data + 1, size - 1});
  world.on_wait = [&h](int timeout_ms) { return h.on_wait(timeout_ms); };
  std::string error;
  std::unique_ptr<Server> server = Server::create(config, error);
  if (!server) std::fprintf(stderr, "create: %s\n", error.c_str());
  CHECK(server);
  int rc = server->run();
  CHECK(rc == 0);  // stopped by the signal, not by the drain guard
  server.reset();
  fuzz::EventLog log;
  static const bool trace = std::getenv("CHATD_FUZZ_TRACE") != nullptr;
  for (const auto& s : world.sockets) {
    if (trace) {
      std::fprintf(stderr, "--- socket %d: %zu of %zu bytes read, %zu written%s%s\n%s\n", s->id,
                   s->in_off, s->in.size(), s->out.size(), s->closed ? ", closed" : "",
                   s->refused ? ", refused" : "", s->out.c_str());
    }
    fuzz::check_output(s->out, log);
  }
  fake_os::end();
  return 0;
}
