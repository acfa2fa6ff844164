// Helpers shared by the output queue tests: a socket pair whose writer takes
// only part of what is queued, blocks carrying a position-dependent byte
// pattern, and checks of the stream and of the queue's references.
#pragma once

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "base/block.h"
#include "base/fd.h"
#include "net/output_queue.h"

namespace chatd::test {

// A connected non-blocking AF_UNIX stream pair with a small send buffer, so
// the kernel takes only part of what is queued.
struct Pair {
  UniqueFd writer, reader;
  explicit Pair(int sndbuf = 4096) {
    int sv[2];
    EXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
    writer.reset(sv[0]);
    reader.reset(sv[1]);
    EXPECT_EQ(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf), 0);
  }
  // Reads everything the kernel holds right now.
  void drain(std::string& out) {
    char buf[65536];
    ssize_t n;
    while ((n = read(reader.get(), buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  }
};

// The byte at stream position i: a pattern that exposes reordering, loss or
// duplication at any block boundary.
inline char pattern(size_t i) {
  return static_cast<char>('a' + (i * 7 + i / 251) % 26);
}

// Pushes blocks of the given sizes carrying the pattern from stream position
// `pos` on (advanced past them); the test keeps one extra reference to each
// so it can watch the queue's reference drop.
inline std::vector<BlockRef> push_blocks(OutputQueue& q, const std::vector<size_t>& sizes,
                                         size_t& pos) {
  std::vector<BlockRef> kept;
  for (size_t n : sizes) {
    BlockRef b = BlockRef::make(n + 16, 16);
    for (size_t i = 0; i < n; ++i) b.tail()[i] = pattern(pos + i);
    b.commit(n);
    pos += n;
    kept.push_back(b);
    q.push(std::move(b));
  }
  return kept;
}

// Blocks whose last byte is within `sent` have only the test's reference
// left; every other one is still held by the queue.
inline void expect_refs(const std::vector<BlockRef>& kept, size_t sent) {
  size_t end = 0;
  for (size_t i = 0; i < kept.size(); ++i) {
    end += kept[i]->size();
    EXPECT_EQ(kept[i]->refs, end <= sent ? 1u : 2u) << "block " << i << ", sent " << sent;
  }
}

inline void expect_pattern(const std::string& got, size_t from = 0) {
  for (size_t i = 0; i < got.size(); ++i) ASSERT_EQ(got[i], pattern(from + i)) << "at " << i;
}

}  // namespace chatd::test
