// OutputQueue: one connection's unsent output, a FIFO of shared blocks.
//
// Each entry is one reference to an immutable Block (base/block.h); a
// broadcast pushes the same block into every member's queue, so a message is
// encoded once and never copied per recipient. `offset_` is how much of the
// first block the socket has already taken.
//
//   entries (ring of Block*, cap a power of two, in one heap array)
//   [ head | ... | head+count-1 ]
//     ^ first block: bytes [offset_, size) still unsent
//
// Ownership: the queue owns one reference per entry and drops it the moment
// its last byte is written (or on clear()). It does not own the fd.
//
// Memory: a queue that never held anything owns no heap. The entry array
// starts at kMinEntries on the first push and doubles when full; it is kept
// when the queue drains as long as it is at most kKeepEntries, so a member
// of a busy room (a dozen or two events per turn) never allocates, and freed
// when it drains after growing past that, so a connection that was once a
// slow consumer does not keep a large array for the rest of its life. A kept
// array is given back by release_spare(), which the server calls once the
// loop has been quiet for a while: memory at rest is what it was before any
// traffic. Head and capacity live in the array's header, to keep this struct
// at 32 bytes.
#pragma once

#include <cstddef>
#include <cstdint>

#include "base/block.h"
#include "net/flush_scratch.h"

struct iovec;

namespace chatd {

struct FlushResult {
  size_t written = 0;        // bytes the socket accepted during this call
  bool would_block = false;  // the socket is full: wait for EPOLLOUT
  long error = 0;            // -errno of a failed send (-EPIPE, -ECONNRESET...), else 0
  // What it took, for benchmarks and tests: writev calls, iovecs handed to
  // them, and bytes copied into the scratch on the way.
  uint32_t writes = 0;
  uint32_t iovecs = 0;
  size_t copied = 0;
};

class OutputQueue {
 public:
  // Blocks gathered into one writev.
  static constexpr int kMaxIov = 64;
  // A queue of one block (the common case at a low rate: one event per
  // turn) uses the inline slot and no heap. More blocks move to an entry
  // array of kMinEntries, doubling; after a drain only an array of at most
  // kKeepEntries (264 bytes) is kept, until release_spare(), so a burst (a
  // wave of joins) leaves no large arrays behind on every connection, and
  // the 18 or so events a member gets per turn at window 2 (10 senders)
  // cost no malloc per turn.
  static constexpr uint32_t kMinEntries = 8;
  static constexpr uint32_t kKeepEntries = 32;

  OutputQueue() = default;
  OutputQueue(OutputQueue&& o) noexcept;
  OutputQueue& operator=(OutputQueue&& o) noexcept;
  OutputQueue(const OutputQueue&) = delete;
  OutputQueue& operator=(const OutputQueue&) = delete;
  ~OutputQueue() { clear(); }

  // Appends a block, taking over the caller's reference. A null or empty
  // block is dropped, as there is nothing to send.
  void push(BlockRef block);

  // Unsent bytes, for the slow-consumer limit.
  size_t bytes() const { return bytes_; }
  bool empty() const { return count_ == 0; }
  // Blocks still queued (the first may be partly sent).
  size_t blocks() const { return count_; }

  // Sends queued bytes to `fd`, up to `budget` bytes, one writev of up to
  // kMaxIov iovecs at a time, until the queue is empty, the budget is spent,
  // or the socket is full. With a scratch, runs of two or more frames of at
  // most scratch->copy_max() bytes are copied into it and sent as one iovec
  // (a lone small frame and large frames go by reference); without one,
  // every frame is its own iovec. A short write counts as full
  // (would_block): the kernel took all it had room for, and asking again
  // would only return EAGAIN. Each block is released as soon as its last
  // byte is written. On an error the unsent blocks stay queued; the caller
  // closes and clear()s.
  FlushResult flush(int fd, size_t budget, FlushScratch* scratch = nullptr);

  // Releases every queued block and the entry array.
  void clear();
  // Frees the entry array kept by a drained queue; a queue that still holds
  // blocks keeps it. Returns the heap bytes given back.
  size_t release_spare();
  // Releases every block not yet started, keeping a partly written head so
  // the stream stays well framed: what a slow consumer gets before its close.
  void drop_unstarted();

  // Heap bytes held by the entry array (blocks not counted: they are shared).
  size_t memory_bytes() const;

 private:
  struct Entries;  // header {cap, head} followed by cap Block* slots
  static Entries* alloc_entries(uint32_t cap);
  Block** slots() const;
  uint32_t cap() const;
  uint32_t head() const;
  void set_head(uint32_t h);
  void grow();
  void pop_front();
  // The last block is gone: reset the ring, free an array grown past
  // kKeepEntries.
  void drained();
  // Fills `iov` for one writev from the queued bytes (at most `room` of
  // them); returns the iovec count, sets `asked` to their bytes and adds
  // the bytes copied into the scratch to `copied`.
  int gather(iovec* iov, size_t room, FlushScratch* scratch, size_t& asked, size_t& copied) const;

  Entries* entries_ = nullptr;  // null: the queue holds at most one block, in single_
  Block* single_ = nullptr;
  size_t bytes_ = 0;
  uint32_t count_ = 0;
  uint32_t offset_ = 0;
};

static_assert(sizeof(OutputQueue) <= 32, "one per connection: keep it small");

}  // namespace chatd
