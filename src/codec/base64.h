// Base64 (RFC 4648 section 4, the standard alphabet), encode and strict decode.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace chatd {

// Returns the padded Base64 encoding of the n bytes at p (p may be null when n == 0).
std::string base64_encode(const void* p, size_t n);

// Returns the decoded bytes, or nullopt unless `text` is canonical Base64: a
// multiple of 4 characters from the standard alphabet, '=' padding only at the
// end and required, no white space, and zero bits in the unused tail bits.
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace chatd
