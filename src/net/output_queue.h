// OutputQueue: one connection's unsent output, a FIFO of shared blocks and
// slices of them.
//
// Each entry is one reference to an immutable Block (base/block.h), whole or
// a slice of it; a broadcast pushes the same block into every member's
// queue, so a message is encoded once and never copied per recipient. A
// fragmented message (a history answer: glue pieces and the ring's stored
// events, RFC 6455 section 5.4) goes in as slices, pushed together by
// push_message(). `offset_` is how much of the first entry the socket has
// already taken.
//
//   slots (ring of uintptr_t, cap a power of two, in one heap array)
//   [ head | ... | head+count-1 ]
//     ^ first entry: bytes [offset_, len) still unsent
//
// A whole block takes one slot, its Block* as is; a slice takes two: the
// Block* tagged with kSliceBit (and kContBit when it is not the first piece
// of its message), then offset << 32 | len. So the common case, whole
// blocks, keeps 8-byte slots and the same arrays as before slices existed;
// only a slice pays a second slot. The inline slot holds one whole block,
// never a slice.
//
// Ownership: the queue owns one reference per entry and drops it the moment
// its last byte is written (or on clear()). It does not own the fd.
//
// Memory: a queue that never held anything owns no heap. The slot array
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
#include <span>

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
  // kKeepEntries slots (264 bytes) is kept, until release_spare(), so a burst (a
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

  // Appends the pieces of one message in order, adding a reference to each
  // piece's block (empty pieces are skipped). They are one unit for
  // drop_unstarted(). All pieces go in one call, so nothing else queued for
  // this connection can come between the frames of a fragmented message:
  // the queue is FIFO and nothing else is pushed meanwhile.
  void push_message(std::span<const BlockSlice> pieces);

  // Unsent bytes, for the slow-consumer limit.
  size_t bytes() const { return bytes_; }
  bool empty() const { return count_ == 0; }
  // Entries still queued, whole blocks and slices (the first may be partly
  // sent). Walks the queue: for tests and diagnostics.
  size_t blocks() const;

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
  // Releases every entry not yet started, keeping a partly written head, and
  // when the head belongs to a message pushed by push_message() and any of
  // that message was sent, the rest of the message: the stream stays well
  // framed (a frame is never cut, and a fragmented message is not left
  // without its final fragment), so the close frame that follows, for a
  // slow consumer, is read as a frame. The kept rest is bounded: one
  // message.
  void drop_unstarted();

  // Heap bytes held by the slot array (blocks not counted: they are shared).
  size_t memory_bytes() const;

 private:
  // Tags in the low bits of a slot's Block* (blocks come from malloc, so
  // these bits are zero in the pointer itself).
  static constexpr uintptr_t kSliceBit = 1;  // a slice: the next slot holds offset << 32 | len
  static constexpr uintptr_t kContBit = 2;   // not the first piece of its message
  static constexpr uintptr_t kTagBits = kSliceBit | kContBit;

  // The entry that starts at logical slot i (0: the head), decoded.
  struct Piece {
    Block* block;
    const char* data;
    uint32_t len;
    uint32_t width;  // slots taken: 1 or 2
    bool cont;
  };
  Piece piece(uint32_t i) const;

  struct Entries;  // header {cap, head} followed by cap uintptr_t slots
  static Entries* alloc_entries(uint32_t cap);
  uintptr_t* slots() const;
  uint32_t cap() const;
  uint32_t head() const;
  void set_head(uint32_t h);
  void grow();
  // Makes room for `n` more slots.
  void reserve(uint32_t n);
  void push_slot(uintptr_t s);
  void pop_front();
  // The last block is gone: reset the ring, free an array grown past
  // kKeepEntries.
  void drained();
  // Fills `iov` for one writev from the queued bytes (at most `room` of
  // them); returns the iovec count, sets `asked` to their bytes and adds
  // the bytes copied into the scratch to `copied`.
  int gather(iovec* iov, size_t room, FlushScratch* scratch, size_t& asked, size_t& copied) const;

  Entries* entries_ = nullptr;  // null: the queue holds at most one block, in single_
  uintptr_t single_ = 0;        // a whole block's Block*, never a slice
  size_t bytes_ = 0;
  uint32_t count_ = 0;
  uint32_t offset_ = 0;
};

static_assert(sizeof(OutputQueue) <= 32, "one per connection: keep it small");

}  // namespace chatd
