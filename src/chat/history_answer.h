// The history answer as one fragmented text message (RFC 6455 section 5.4)
// whose events are the stored frames themselves, referenced and not copied:
//
//   [text FIN=0 | {"type":"history","room":..,"events":[ ]
//   [cont FIN=0 | e1] [cont FIN=0 | ,e2] ... [cont FIN=1 | ],"more":..,"ref":..}]
//
// Every header, comma, the head and the tail are written into one glue block
// per answer; each event is a slice of its framed block past the frame
// header. Reassembled, the message is byte for byte what encode_history()
// writes as one frame.
#pragma once

#include <span>
#include <string_view>
#include <vector>

#include "base/block.h"

namespace chatd {

// Replaces `out` with the pieces of the answer for `events` (whole unmasked
// server text frames, oldest first), in the order they must be sent: 2n + 1
// slices for n events, one whole-frame slice when there are none. Leaves
// `out` empty only if malloc fails.
void history_answer(std::string_view room, std::span<const BlockRef> events, bool more,
                    std::string_view ref, std::vector<BlockSlice>& out);

}  // namespace chatd
