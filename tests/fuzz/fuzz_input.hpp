#pragma once
// Reads a fuzz input as a stream of fields; past the end every read gives zeros (and an empty
// span), so a harness never needs to check lengths and every prefix of an input is an input.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>

namespace pttcam::fuzz {

class Input {
 public:
  Input(const std::uint8_t* data, std::size_t size) : bytes_(reinterpret_cast<const std::byte*>(data), size) {}

  bool empty() const noexcept { return at_ >= bytes_.size(); }
  std::uint64_t take(std::size_t size) noexcept {  // big-endian, 1..8 bytes
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < size; ++i) v = v << 8 | (at_ < bytes_.size() ? std::to_integer<std::uint64_t>(bytes_[at_++]) : 0);
    return v;
  }
  std::uint8_t u8() noexcept { return static_cast<std::uint8_t>(take(1)); }
  std::uint16_t u16() noexcept { return static_cast<std::uint16_t>(take(2)); }
  std::uint32_t u32() noexcept { return static_cast<std::uint32_t>(take(4)); }
  std::uint64_t u64() noexcept { return take(8); }
  std::span<const std::byte> bytes(std::size_t n) noexcept {
    const std::size_t k = std::min(n, bytes_.size() - std::min(at_, bytes_.size()));
    const auto out = bytes_.subspan(std::min(at_, bytes_.size()), k);
    at_ += k;
    return out;
  }

 private:
  std::span<const std::byte> bytes_;
  std::size_t at_ = 0;
};

}  // namespace pttcam::fuzz
