#pragma once
// Wrap-aware comparison and unwrapping of RTP sequence numbers and timestamps. These counters
// wrap (every ~22 minutes for 16-bit sequences at 50 packets/s), so `<` on raw values gives
// wrong answers near the wrap; compare with is_newer_*, unwrap before any arithmetic.
#include <concepts>
#include <cstdint>
#include <limits>
#include <optional>

namespace pttcam::rtp {

namespace detail {

template <typename T>
concept WrappingCounter =
    std::same_as<T, std::uint16_t> || std::same_as<T, std::uint32_t>;

template <WrappingCounter T>
inline constexpr T kHalfRange = T{1} << (std::numeric_limits<T>::digits - 1);

// a is newer than b when the forward distance b→a is under half the range. Exactly half is
// ambiguous; picking "the larger raw value wins" keeps is_newer(a, b) != is_newer(b, a).
template <WrappingCounter T>
constexpr bool is_newer(T a, T b) noexcept {
  const auto forward = static_cast<T>(a - b);
  if (forward == kHalfRange<T>) return a > b;
  return forward != 0 && forward < kHalfRange<T>;
}

}  // namespace detail

constexpr bool is_newer_seq(std::uint16_t a, std::uint16_t b) noexcept {
  return detail::is_newer(a, b);
}

constexpr bool is_newer_ts(std::uint32_t a, std::uint32_t b) noexcept {
  return detail::is_newer(a, b);
}

// Maps each wrapped value to the 64-bit value nearest the previous one, using the same
// tie-break as is_newer so the two never disagree. The first value maps to itself; a late packet
// from before a wrap maps below it (possibly negative), which is why the result is signed.
template <detail::WrappingCounter T>
class Unwrapper {
 public:
  std::int64_t unwrap(T value) noexcept {
    if (!last_) {
      last_ = value;
      return value;
    }
    const auto last_raw = static_cast<T>(*last_);
    const auto forward = static_cast<std::int64_t>(static_cast<T>(value - last_raw));
    const bool ahead = forward == 0 || detail::is_newer(value, last_raw);
    *last_ += ahead ? forward : forward - kRange;
    return *last_;
  }

 private:
  static constexpr std::int64_t kRange = std::int64_t{1} << std::numeric_limits<T>::digits;
  std::optional<std::int64_t> last_;
};

using SeqUnwrapper = Unwrapper<std::uint16_t>;
using TsUnwrapper = Unwrapper<std::uint32_t>;

}  // namespace pttcam::rtp
