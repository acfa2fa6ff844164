// Epoch names (the protocol's epoch of a room): eight base-36 characters, the n-th of a sequence
// seeded once per process from the kernel, so a new room (or one whose history is gone) never
// reuses a past epoch, on this node or another.
#pragma once

#include <cstdint>
#include <string>

namespace chatd {

// The n-th epoch of the sequence `seed` (a splitmix64 of both).
std::string make_epoch(uint64_t seed, uint64_t n);

}  // namespace chatd
