// The client half of the WebSocket opening handshake (RFC 6455 section 4.1),
// just enough for the load generator: build the upgrade request and check
// the server's 101 answer.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace chatd::load {

// Builds a GET /ws upgrade request for host:port with a fresh random key
// drawn from `rng`; stores the Sec-WebSocket-Accept the server must answer.
std::string make_upgrade_request(std::string_view host, uint16_t port, uint64_t& rng,
                                 std::string& expected_accept);

// True if `head` (the response head, through its blank line) is a 101 with
// Upgrade: websocket and the expected Sec-WebSocket-Accept.
bool upgrade_accepted(std::string_view head, std::string_view expected_accept);

// xorshift64*: cheap randomness for keys and masks (not for secrets).
inline uint64_t next_random(uint64_t& s) {
  s ^= s >> 12;
  s ^= s << 25;
  s ^= s >> 27;
  return s * 0x2545F4914F6CDD1Dull;
}

}  // namespace chatd::load
