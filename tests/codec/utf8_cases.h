// The UTF-8 cases of the Autobahn TestSuite, section 6, as one table shared
// by the validator's tests and the WebSocket reader's tests.
#pragma once

#include <cstddef>
#include <string_view>

namespace chatd::test {

// fail_at: index of the first byte that makes the stream invalid;
// kTruncated: no byte is invalid but the text ends inside a sequence;
// kValid: valid UTF-8.
constexpr size_t kValid = static_cast<size_t>(-1);
constexpr size_t kTruncated = static_cast<size_t>(-2);

struct Utf8Case {
  const char* name;
  std::string_view bytes;
  size_t fail_at;
};

using namespace std::string_view_literals;

inline constexpr Utf8Case kAutobahnUtf8[] = {
    {"6.1 empty", ""sv, kValid},
    {"6.2 mixed", "Hello-\xc2\xb5@\xc3\x9f\xc3\xb6\xc3\xa4\xc3\xbc\xc3\xa0\xc3\xa1-UTF-8!!"sv,
     kValid},
    {"6.3.1 kosme", "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5"sv, kValid},
    {"6.3.2 kosme+surrogate",
     "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80"
     "edited"sv,
     12},
    {"6.4.1 fail fast >10FFFF",
     "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xf4\x90\x80\x80"
     "edited"sv,
     12},
    {"6.4.3 fail fast F4 90 alone", "\xf4\x90"sv, 1},
    {"6.5.1 U+0000", "\x00"sv, kValid},
    {"6.5.2 U+0080", "\xc2\x80"sv, kValid},
    {"6.5.3 U+0800", "\xe0\xa0\x80"sv, kValid},
    {"6.5.4 U+10000", "\xf0\x90\x80\x80"sv, kValid},
    {"6.6 5-byte lead", "\xf8\x88\x80\x80\x80"sv, 0},
    {"6.6 6-byte lead", "\xfc\x84\x80\x80\x80\x80"sv, 0},
    {"6.7.1 U+007F", "\x7f"sv, kValid},
    {"6.7.2 U+07FF", "\xdf\xbf"sv, kValid},
    {"6.7.3 U+FFFF", "\xef\xbf\xbf"sv, kValid},
    {"6.7.4 U+1FFFFF", "\xf7\xbf\xbf\xbf"sv, 0},
    {"6.9.1 U+D7FF", "\xed\x9f\xbf"sv, kValid},
    {"6.9.2 U+E000", "\xee\x80\x80"sv, kValid},
    {"6.9.3 U+FFFD", "\xef\xbf\xbd"sv, kValid},
    {"6.9.4 U+10FFFF", "\xf4\x8f\xbf\xbf"sv, kValid},
    {"6.9.5 U+110000", "\xf4\x90\x80\x80"sv, 1},
    {"6.10.1 lone 80", "\x80"sv, 0},
    {"6.10.2 lone BF", "\xbf"sv, 0},
    {"6.10.3 80 BF", "\x80\xbf"sv, 0},
    {"6.10 continuation after ASCII", "abcdefghij\x80"sv, 10},
    {"6.12 lonely C0 then space", "\xc0 "sv, 0},
    {"6.12 lonely C2 then space", "\xc2 "sv, 1},
    {"6.12 lonely E0 then space", "\xe0 "sv, 1},
    {"6.12 lonely F0 then space", "\xf0 "sv, 1},
    {"6.13 C2 at end", "\xc2"sv, kTruncated},
    {"6.13 E0 A0 at end", "\xe0\xa0"sv, kTruncated},
    {"6.13 F0 90 80 at end", "\xf0\x90\x80"sv, kTruncated},
    {"6.13 DF at end", "\xdf"sv, kTruncated},
    {"6.13 EF BF at end", "\xef\xbf"sv, kTruncated},
    {"6.13 F4 8F BF at end", "\xf4\x8f\xbf"sv, kTruncated},
    {"6.13 C0 (overlong lead)", "\xc0"sv, 0},
    {"6.14 incomplete then new lead", "\xe0\xa0\xc2\x80"sv, 2},
    {"6.15.1 FE", "\xfe"sv, 0},
    {"6.15.2 FF", "\xff"sv, 0},
    {"6.15.3 FE FE FF FF", "\xfe\xfe\xff\xff"sv, 0},
    {"6.15 F5", "\xf5\x80\x80\x80"sv, 0},
    {"6.16.1 overlong / 2", "\xc0\xaf"sv, 0},
    {"6.16.2 overlong / 3", "\xe0\x80\xaf"sv, 1},
    {"6.16.3 overlong / 4", "\xf0\x80\x80\xaf"sv, 1},
    {"6.16.4 overlong / 5", "\xf8\x80\x80\x80\xaf"sv, 0},
    {"6.17.1 max overlong 2", "\xc1\xbf"sv, 0},
    {"6.17.2 max overlong 3", "\xe0\x9f\xbf"sv, 1},
    {"6.17.3 max overlong 4", "\xf0\x8f\xbf\xbf"sv, 1},
    {"6.18.1 overlong NUL 2", "\xc0\x80"sv, 0},
    {"6.18.2 overlong NUL 3", "\xe0\x80\x80"sv, 1},
    {"6.18.3 overlong NUL 4", "\xf0\x80\x80\x80"sv, 1},
    {"6.19.1 U+D800", "\xed\xa0\x80"sv, 1},
    {"6.19.2 U+DB7F", "\xed\xad\xbf"sv, 1},
    {"6.19.3 U+DB80", "\xed\xae\x80"sv, 1},
    {"6.19.4 U+DBFF", "\xed\xaf\xbf"sv, 1},
    {"6.19.5 U+DC00", "\xed\xb0\x80"sv, 1},
    {"6.19.6 U+DF80", "\xed\xbe\x80"sv, 1},
    {"6.19.7 U+DFFF", "\xed\xbf\xbf"sv, 1},
    {"6.20.1 U+D800 U+DC00", "\xed\xa0\x80\xed\xb0\x80"sv, 1},
    {"6.20.7 U+DBFF U+DFFF", "\xed\xaf\xbf\xed\xbf\xbf"sv, 1},
    {"6.21.1 U+FFFE", "\xef\xbf\xbe"sv, kValid},
    {"6.22.1 U+1FFFE", "\xf0\x9f\xbf\xbe"sv, kValid},
    {"6.22.34 U+10FFFE", "\xf4\x8f\xbf\xbe"sv, kValid},
    {"6.23.1 U+FFFD", "\xef\xbf\xbd"sv, kValid},
    {"6.23.7 emoji", "\xf0\x9f\x98\x80 ok"sv, kValid},
    {"long ASCII then bad", "0123456789abcdef0123456789abcdef\xc3\x28"sv, 33},
    {"long ASCII then good", "0123456789abcdef0123456789abcdef\xc3\xa9xyz"sv, kValid},
};

}  // namespace chatd::test
