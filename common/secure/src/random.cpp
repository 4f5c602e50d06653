#include "pttcam/secure/random.hpp"

#include <openssl/rand.h>

#include <array>
#include <climits>
#include <stdexcept>

namespace pttcam::secure {

void random_bytes(std::span<std::byte> out) {
  if (out.size() > static_cast<std::size_t>(INT_MAX) ||
      RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(out.size())) != 1)
    throw std::runtime_error("the system's random number generator failed");
}

std::uint64_t random_nonzero_u64() {
  for (;;) {
    std::array<std::byte, 8> bytes{};
    random_bytes(bytes);
    std::uint64_t value = 0;
    for (const auto b : bytes) value = value << 8 | std::to_integer<std::uint64_t>(b);
    if (value != 0) return value;
  }
}

}  // namespace pttcam::secure
