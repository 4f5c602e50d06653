#include "pttcam/pairing/code.hpp"

#include <algorithm>
#include <array>
#include <cctype>

#include "pttcam/secure/random.hpp"

namespace pttcam::pairing {

std::string random_code(std::size_t digits) {
  std::string out;
  while (out.size() < digits) {
    std::array<std::byte, 16> bytes{};
    secure::random_bytes(bytes);
    for (const auto b : bytes) {
      const auto v = std::to_integer<unsigned>(b);
      if (v < 250 && out.size() < digits) out += static_cast<char>('0' + v % 10);  // 250 = 25 * 10: no bias
    }
  }
  return out;
}

std::string check_code(std::string_view code) {
  if (code.size() < 6 || code.size() > 64) return "a pairing code has 6 to 64 characters";
  if (!std::ranges::all_of(code, [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-'; }))
    return "a pairing code has letters, digits and '-' only";
  return {};
}

}  // namespace pttcam::pairing
