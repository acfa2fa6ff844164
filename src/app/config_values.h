// Value parsers behind the config: the text of one flag or environment
// variable in, a checked value (or nullopt) out. Pure functions, cold path.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace chatd {

// Plain decimal digits (no sign, no spaces, at most 19 of them); nullopt otherwise.
std::optional<uint64_t> parse_uint(std::string_view s);

// A byte count with an optional binary suffix, case-insensitive: K and KiB
// are 1024, M and MiB 1024^2. nullopt on anything else or overflow.
std::optional<uint64_t> parse_bytes(std::string_view s);

// yes/true/on/1 -> true, no/false/off/0 -> false, case-insensitive; nullopt otherwise.
std::optional<bool> parse_switch(std::string_view s);

// "65536" -> "64 KiB", "4194304" -> "4 MiB", "1000" -> "1000".
std::string format_bytes(uint64_t n);

// True for something listen() can be asked for: an IPv4/IPv6 literal or a
// host name (letters, digits, . - : % _), non-empty, at most 253 bytes.
bool valid_host(std::string_view h);

// An Origin as browsers send it, "scheme://host[:port]" with scheme http or
// https, lower-cased and with one trailing '/' dropped so the server can
// compare bytes; "*" stays "*". nullopt for a path, userinfo, bad port, etc.
std::optional<std::string> normalize_origin(std::string_view s);

// Appends the non-empty items of a comma-, space- or tab-separated list.
void split_list(std::string_view s, std::vector<std::string>& out);

}  // namespace chatd
