// The peers' side of the whole-server fuzz target: reads one op at a time
// from the fuzz input and acts it out on the fake kernel's world.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fake_os.h"

namespace fuzz {

// A cursor over the fuzz input; reads past the end yield zeros.
struct Script {
  const uint8_t* data;
  size_t size;
  size_t pos = 0;

  bool done() const { return pos >= size; }
  uint8_t byte() { return pos < size ? data[pos++] : 0; }
  // Up to n bytes (fewer at the end of the input).
  std::string_view take(size_t n);
};

// Plays the next op: a new connection, bytes from a peer (raw, a dictionary
// token, a canned request, a handshake, a frame, a chat message, a fragmented
// message, a close frame), a FIN or a reset, the peer's receive room or read
// chunk size, time passing (`timeout_ms`: what epoll_wait was asked to wait),
// a signal, an injected syscall failure, or a change of event order.
void play_op(Script& s, fake_os::World& w, int timeout_ms);

}  // namespace fuzz
