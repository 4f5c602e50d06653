// The pairing messages (pairing::decode): never reads past the input, says incomplete only for a
// prefix that can still become a message, and whatever decodes re-encodes with MessageWriter to
// exactly the bytes it took (one encoding per message). Random bytes rarely start with the magic,
// so each input is also tried with the header forced valid (magic, version, a type, its length).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "pttcam/pairing/wire.hpp"

using namespace pttcam::pairing;

namespace {

void check(std::span<const std::byte> input) {
  const auto d = decode(input);
  switch (d.status) {
    case Decoded::Status::bad:
      if (static_cast<std::size_t>(d.error) >= kDecodeErrorCount) __builtin_trap();
      return;
    case Decoded::Status::incomplete:
      if (input.size() >= kMaxMessageSize) __builtin_trap();
      return;
    case Decoded::Status::complete: break;
  }
  if (d.size < kHeaderSize || d.size > input.size()) __builtin_trap();
  MessageWriter writer;
  if (!std::ranges::equal(writer.write(d.message), input.first(d.size))) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::byte> input(reinterpret_cast<const std::byte*>(data), size);
  check(input);
  if (size < kHeaderSize) return 0;
  // An exact-size copy so an over-read is still caught by ASan/valgrind.
  std::vector<std::byte> forged(input.begin(), input.end());
  std::ranges::copy(kMagic, forged.begin());
  forged[4] = std::byte{kVersion};
  const auto type = 1 + std::to_integer<unsigned>(forged[5]) % 6;
  forged[5] = static_cast<std::byte>(type);
  const std::size_t body = type == 3 ? 4 : type >= 5 ? kIdSize : 0;
  forged[6] = std::byte{0};
  forged[7] = static_cast<std::byte>(body);
  check(forged);
  return 0;
}
