#include "base/epoch.h"

namespace chatd {

std::string make_epoch(uint64_t seed, uint64_t n) {
  uint64_t z = seed + 0x9e3779b97f4a7c15ull * n;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  z ^= z >> 31;
  static constexpr char kDigits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
  std::string e(8, '0');
  for (char& c : e) {
    c = kDigits[z % 36];
    z /= 36;
  }
  return e;
}

}  // namespace chatd
