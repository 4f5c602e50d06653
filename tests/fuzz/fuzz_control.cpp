// Decodes arbitrary bytes; whatever decodes must re-encode with MessageWriter to exactly the input,
// because the wire format has one encoding per message (exact lengths, flags 0, no padding).
// Random bytes almost never start with magic + version, so each input is also tried with those
// two bytes forced, and (from a full header on) with flags, type and body length forced valid too,
// or the body parsers would go unfuzzed by the replay driver.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <variant>
#include <vector>

#include "pttcam/control/wire.hpp"

using namespace pttcam::control;

namespace {

void check_round_trip(std::span<const std::byte> input) {
  const auto result = decode(input);
  if (!result) {
    if (static_cast<std::size_t>(result.error) >= kDecodeErrorCount) __builtin_trap();
    return;
  }
  if (result.message->session_id != result.session_id ||
      result.message->sequence != result.sequence)
    __builtin_trap();
  MessageWriter writer;
  const auto out = writer.write(*result.message);
  if (!std::ranges::equal(out, input)) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::byte> input(reinterpret_cast<const std::byte*>(data), size);
  check_round_trip(input);
  if (size < 3) return 0;

  // Exact-size copies so an over-read is still caught by ASan/valgrind.
  std::vector<std::byte> forged(input.begin(), input.end());
  forged[0] = std::byte{kMagic};
  forged[1] = std::byte{kVersion};
  check_round_trip(forged);

  if (size >= kHeaderSize) {
    forged[2] = static_cast<std::byte>(1 + std::to_integer<std::size_t>(forged[2]) %
                                               std::variant_size_v<Body>);
    forged[3] = std::byte{0};
    const std::size_t body = size - kHeaderSize;
    forged[16] = static_cast<std::byte>(body >> 8);
    forged[17] = static_cast<std::byte>(body);
    check_round_trip(forged);
  }
  return 0;
}
