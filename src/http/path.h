// Turning a request path into a safe relative file path below a root.
#pragma once

#include <string>
#include <string_view>

namespace chatd {

// Decodes %XX escapes once into `out` ('+' stays '+': this is a path, not a
// form). Returns false on a '%' not followed by two hex digits.
bool percent_decode(std::string_view in, std::string& out);

// True if a decoded path may name a file below the root: it starts with '/',
// has no NUL or backslash, and no empty, "." or ".." segment, and no segment
// starting with '.' (dotfiles such as .git or .htpasswd are never served).
bool is_safe_path(std::string_view decoded);

}  // namespace chatd
