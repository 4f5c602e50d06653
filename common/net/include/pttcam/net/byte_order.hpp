#pragma once
// Explicit big-endian (network order) field access for the parsers and writers: no struct
// overlays, no alignment assumptions. Callers check the bounds before they read or write.
#include <cstddef>
#include <cstdint>
#include <span>

namespace pttcam::net {

inline std::uint8_t u8(std::span<const std::byte> data, std::size_t at) {
  return std::to_integer<std::uint8_t>(data[at]);
}

// Reads `size` (1..8) bytes at `at` as one big-endian unsigned number.
inline std::uint64_t read_be(std::span<const std::byte> data, std::size_t at, std::size_t size) {
  std::uint64_t value = 0;
  for (std::size_t i = 0; i < size; ++i) value = (value << 8) | u8(data, at + i);
  return value;
}

// Writes the low `size` (1..8) bytes of `value` at `at`, most significant first.
inline void write_be(std::span<std::byte> out, std::size_t at, std::uint64_t value, std::size_t size) {
  for (std::size_t i = 0; i < size; ++i) out[at + i] = static_cast<std::byte>(value >> (8 * (size - 1 - i)));
}

}  // namespace pttcam::net
