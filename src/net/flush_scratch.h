// FlushScratch: one reusable buffer into which OutputQueue::flush copies runs
// of small frames, so the kernel gets one iovec per run instead of one per
// frame.
//
// Why copy at all, when the queue already holds the frames by reference: the
// kernel's copy from user memory has a fixed cost per iovec segment (about
// 30 ns here, more than a user-space memcpy of a 100-byte frame; see
// BENCHMARKS.md, issue 16). For small frames, copying once more in user
// space and handing the kernel one long run is cheaper; from about 1 KiB
// on, the reference wins. The queue stays the only record of what is unsent: the
// scratch only mirrors the bytes of one writev, so a short write needs no
// bookkeeping here.
//
// Ownership and memory: the server owns one, shared by every connection. It
// holds nothing between two flush calls, so idle connections cost no more
// than before. The buffer is allocated on first use, at a fixed size, and
// never grows.
#pragma once

#include <cstddef>
#include <memory>

namespace chatd {

class FlushScratch {
 public:
  // Bytes copied per writev at most: a turn's small frames for one member
  // fit (80 frames of 100 bytes at window 8 take 8 KiB; 128 of the largest
  // copied size); what does not fit goes by reference.
  static constexpr size_t kDefaultBytes = 64 * 1024;
  // Frames (or remainders of one) up to this size are copied; larger ones
  // are referenced. bench/micro/flush_bench.cc: copying wins at 100 and
  // 583-byte frames, is even at 1,095 on a quiet machine and loses under
  // load; in the server a 1 KiB frame's memcpy costs more than the kernel
  // saves (BENCHMARKS.md).
  static constexpr size_t kDefaultCopyMax = 512;

  // `copy_max` 0 turns copying off (every frame by reference).
  explicit FlushScratch(size_t copy_max = kDefaultCopyMax, size_t bytes = kDefaultBytes)
      : copy_max_(copy_max), bytes_(bytes) {}

  size_t copy_max() const { return copy_max_; }
  size_t capacity() const { return bytes_; }
  // The buffer, allocated on the first call (so a server that never fans
  // out never pays for it).
  char* data() {
    if (!buf_) buf_.reset(new char[bytes_]);
    return buf_.get();
  }
  // Heap bytes held: 0 until the first use, then capacity().
  size_t memory_bytes() const { return buf_ ? bytes_ : 0; }

 private:
  size_t copy_max_;
  size_t bytes_;
  std::unique_ptr<char[]> buf_;
};

}  // namespace chatd
