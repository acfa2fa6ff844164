// ReadSplitter: sizes of successive reads drawn from a seed, so a target sees
// its input cut at pseudo-random read boundaries, as a socket delivers it,
// and one input always splits the same way (a crash replays exactly).
#pragma once

#include <cstddef>
#include <cstdint>

class ReadSplitter {
 public:
  // `seed` must not be 0 (xorshift would stay at 0); reads are 1..max_read.
  ReadSplitter(uint32_t seed, size_t max_read) : state_(seed), max_read_(max_read) {}

  // The next read's size, at most `left`.
  size_t next(size_t left) {
    state_ ^= state_ << 13;
    state_ ^= state_ >> 17;
    state_ ^= state_ << 5;
    size_t n = 1 + state_ % max_read_;
    return n < left ? n : left;
  }

 private:
  uint32_t state_;
  size_t max_read_;
};
