#include "ws/close.h"

#include "base/endian.h"
#include "codec/utf8.h"

namespace chatd {

bool close_code_valid(uint16_t code) {
  if (code >= 1000 && code <= 1003) return true;
  if (code >= 1007 && code <= 1014) return true;
  return code >= 3000 && code <= 4999;
}

CloseInfo parse_close_payload(const uint8_t* p, size_t n) {
  if (n == 0) return {true, 1000, {}};
  if (n == 1) return {false, 1002, {}};
  uint16_t code = load_be16(p);
  if (!close_code_valid(code)) return {false, 1002, {}};
  std::string_view reason(reinterpret_cast<const char*>(p + 2), n - 2);
  if (!utf8_valid(reason)) return {false, 1007, {}};
  return {true, code, reason};
}

}  // namespace chatd
